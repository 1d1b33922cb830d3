"""Mode coverage on the 2-D toy mixtures, every family side by side.

Trains ``configs/<family>_<ring8|grid25>.yaml`` (MLPs, the family's
optimiser settings; BEGAN with an MLP auto-encoder) for the steps the config
ships (or ``--steps``) and several seeds, then scores 2,500 samples with the
VEEGAN / PacGAN definitions (``tfgan_stable.metrics.mode_coverage``): modes
with >= 1 and >= 20 high-quality samples, the high-quality fraction (within
3 std of a centre) and the reverse KL of the mode histogram to uniform.

``--datasets`` also takes mixtures the configs were not tuned on
(:data:`VARIANTS`), written once per run of the script as
``.npy`` files and given as ``data.name=npy:<file>`` to the ring8 config
(rings) or the grid25 config (grids), unchanged: other mode counts, radii,
spacings and spreads. Writes ``<name>.json``, ``<name>.md`` and
``<name>.png`` (samples over the true centres, first seed) into
``<out>/toy_mixtures/``.

    python -m bench.toy_mixtures --seeds 0 1 2 3 4 --out bench/results
    python -m bench.toy_mixtures --families wgan_gp --datasets ring12 ring5 grid16 grid36 \\
        --name toy_variants --out bench/results
"""

import functools
import json
import os
import tempfile
import time

import numpy as np

import tfgan_stable  # noqa: F401  (Keras on TensorFlow)
import keras

from tfgan_stable import callbacks, data, metrics, train_lib
from tfgan_stable import config as config_lib

from bench import common

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAMILIES = ("dcgan", "wgan", "wgan_gp", "began", "sngan", "r3gan")
# Published anchors (DESIGN.md): modes / % high quality.
ANCHORS = {
    "ring8": [("VEEGAN", "8", "52.9"), ("WGAN-GP (GDPP)", "6.8", "59.6"),
              ("PacGAN2", "7.9", "95.6")],
    "grid25": [("VEEGAN", "24.6", "40"), ("WGAN-GP (GDPP)", "24.2", "28.7"),
               ("PacGAN4", "24.8", "93.6")],
}


# Mixtures the shipped configs were not tuned on: (config, centres, std, description).
VARIANTS = {
    "ring12": ("ring8", data.ring_centers(12, 3.0), 0.05, "12 modes, radius 3, std 0.05"),
    "ring5": ("ring8", data.ring_centers(5, 1.0), 0.01, "5 modes, radius 1, std 0.01"),
    "grid16": ("grid25", data.grid_centers(4, 3.0), 0.1, "4 x 4, spacing 3, std 0.1"),
    "grid36": ("grid25", data.grid_centers(6, 1.5), 0.03, "6 x 6, spacing 1.5, std 0.03"),
}


@functools.lru_cache(maxsize=None)
def mixture(dataset):
    """``(config dataset, centres, std, data.name override or None)``; a variant's
    ``.npy`` file is written on the first call."""
    if dataset in data.MIXTURE_STD:
        return dataset, data.mixture_centers(dataset), data.MIXTURE_STD[dataset], None
    if dataset not in VARIANTS:
        raise SystemExit(f"unknown dataset {dataset!r}; valid: "
                         f"{sorted(data.MIXTURE_STD) + sorted(VARIANTS)}")
    config_dataset, centers, std, _ = VARIANTS[dataset]
    points = data.gaussian_mixture(centers, std, 100_000, seed=0)
    path = os.path.join(tempfile.mkdtemp(prefix=f"toy_{dataset}_"), f"{dataset}.npy")
    np.save(path, points)
    return config_dataset, centers, std, f"npy:{path}"


def run_one(family, dataset, seed, steps, overrides):
    keras.backend.clear_session()
    config_dataset, centers, std, data_name = mixture(dataset)
    bindings = [f"train.seed={seed}", "export.enabled=false", "train.verbose=0"]
    if steps:
        bindings += [f"train.steps={steps}", f"train.steps_per_epoch={min(steps, 1000)}"]
    if data_name:
        bindings.append(f"data.name={data_name}")
    config = config_lib.load(
        os.path.join(REPO, "configs", f"{family}_{config_dataset}.yaml"),
        bindings + list(overrides))
    workdir = tempfile.mkdtemp(prefix=f"toy_{family}_{dataset}_{seed}_")
    start = time.perf_counter()
    result = train_lib.run(config, workdir)
    seconds = time.perf_counter() - start
    gan = result.model
    samples = gan.generate_numpy(2500, seed=1000 + seed, batch_size=2500)
    score = metrics.mode_coverage(samples, centers, std)
    strict = metrics.mode_coverage(samples, centers, std, min_count=20)
    return {"modes": score["modes"], "modes_20": strict["modes"],
            "high_quality_pct": 100.0 * score["high_quality"],
            "reverse_kl": score["reverse_kl"], "steps": config.train.steps,
            "seconds": seconds}, samples


def summarise(rows, key):
    values = np.array([row[key] for row in rows], np.float64)
    return f"{values.mean():.2f} ± {values.std():.2f}"


def worst(rows):
    """The worst seed: fewest modes with >= 20 samples, lowest quality, highest KL."""
    return (f"{min(row['modes_20'] for row in rows)} / "
            f"{min(row['high_quality_pct'] for row in rows):.1f} / "
            f"{max(row['reverse_kl'] for row in rows):.3f}")


def report(args, results):
    overrides = f", overrides {' '.join(args.override)}" if args.override else ""
    lines = [f"Seeds {args.seeds}, 2,500 samples scored per run{overrides}; mean ± std over "
             "seeds, and the worst seed (fewest modes with >= 20 samples / lowest % high "
             "quality / highest reverse KL). Steps: each config's own unless --steps.", ""]
    for dataset in args.datasets:
        config_dataset, centers, std, _ = mixture(dataset)
        description = VARIANTS[dataset][3] if dataset in VARIANTS else "as built in"
        lines += [f"**{dataset}** ({len(centers)} modes; {description}; "
                  f"`configs/<family>_{config_dataset}.yaml`)", "",
                  "| family | steps | modes (>= 1) | modes (>= 20) | % high quality "
                  "| reverse KL | worst seed | seconds per run |",
                  "|---|---|---|---|---|---|---|---|"]
        for family in args.families:
            rows = results[f"{dataset}/{family}"]
            lines.append(f"| {family} | {rows[0]['steps']} | {summarise(rows, 'modes')} | "
                         f"{summarise(rows, 'modes_20')} | "
                         f"{summarise(rows, 'high_quality_pct')} | "
                         f"{summarise(rows, 'reverse_kl')} | {worst(rows)} | "
                         f"{summarise(rows, 'seconds')} |")
        for name, modes, quality in ANCHORS.get(dataset, []):
            lines.append(f"| *{name} (published)* | | {modes} | | {quality} | | | |")
        lines.append("")
    return lines


def outputs(args):
    return [f"{args.name}.json", f"{args.name}.md", f"{args.name}.png"]


def main(argv=None):
    parser = common.parser(__doc__, "toy_mixtures")
    parser.add_argument("--steps", type=int, default=0,
                        help="generator steps per run (0: each config's train.steps)")
    common.add_seeds(parser, [0, 1, 2, 3, 4])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--datasets", nargs="+", default=["ring8", "grid25"],
                        help=f"ring8, grid25 or a variant: {', '.join(VARIANTS)}")
    parser.add_argument("--override", action="append", default=[],
                        help="a config binding for every run, e.g. optimizer.name=optimistic_adam")
    args, out = common.parse(parser, outputs, argv)
    out.precision = common.config_precision(args.override)

    results, plots = {}, []
    for dataset in args.datasets:
        _, centers, std, _ = mixture(dataset)
        reference = data.gaussian_mixture(centers, std, 2500, seed=7)
        extent = 1.25 * float(np.abs(centers).max()) + 0.5
        for family in args.families:
            rows = []
            for seed in args.seeds:
                row, samples = run_one(family, dataset, seed, args.steps, args.override)
                rows.append(row)
                print(f"{dataset} {family} seed {seed}: {json.dumps(row)}", flush=True)
                if seed == args.seeds[0]:
                    plots.append(callbacks.scatter_plot(samples, reference, size=240,
                                                        extent=extent))
            results[f"{dataset}/{family}"] = rows

    out.write_json(f"{args.name}.json", {"steps": args.steps, "seeds": args.seeds,
                                         "override": args.override, "runs": results}, indent=2)
    lines = report(args, results)
    out.write_markdown(f"{args.name}.md", "\n".join(lines))
    columns = len(args.families)
    image = np.full((240 * len(args.datasets), 240 * columns, 3), 255, np.uint8)
    for i, plot in enumerate(plots):
        r, c = divmod(i, columns)
        image[r * 240:(r + 1) * 240, c * 240:(c + 1) * 240] = plot
    callbacks.save_png(image, out.path(f"{args.name}.png"), min_side=1)
    out.stamp_png(out.path(f"{args.name}.png"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
