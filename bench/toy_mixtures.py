"""Mode coverage on the 2-D toy mixtures, every family side by side.

Trains ``configs/<family>_<ring8|grid25>.yaml`` (the same 3 x 128 ReLU MLPs,
batch 256, the family's published optimiser settings; BEGAN with an MLP
auto-encoder) for the same number of generator steps and several seeds, then
scores 2,500 samples with the VEEGAN / PacGAN definitions
(``tfgan_stable.metrics.mode_coverage``): modes with >= 1 and >= 20
high-quality samples, the high-quality fraction (within 3 std of a centre)
and the reverse KL of the mode histogram to uniform. Writes
``toy_mixtures.json``, ``toy_mixtures.md`` and ``toy_mixtures.png``
(samples over the true centres, first seed).

    python bench/toy_mixtures.py --steps 3000 --seeds 0 1 2 --out bench/results
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np

import tfgan_stable  # noqa: F401  (Keras on TensorFlow)
import keras

from tfgan_stable import callbacks, data, metrics, train_lib
from tfgan_stable import config as config_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAMILIES = ("dcgan", "wgan", "wgan_gp", "began")
# Published anchors (DESIGN.md): modes / % high quality.
ANCHORS = {
    "ring8": [("VEEGAN", "8", "52.9"), ("WGAN-GP (GDPP)", "6.8", "59.6"),
              ("PacGAN2", "7.9", "95.6")],
    "grid25": [("VEEGAN", "24.6", "40"), ("WGAN-GP (GDPP)", "24.2", "28.7"),
               ("PacGAN4", "24.8", "93.6")],
}


def run_one(family, dataset, seed, steps):
    keras.backend.clear_session()
    config = config_lib.load(os.path.join(REPO, "configs", f"{family}_{dataset}.yaml"), [
        f"train.steps={steps}", f"train.steps_per_epoch={min(steps, 1000)}",
        f"train.seed={seed}", "export.enabled=false", "train.verbose=0"])
    workdir = tempfile.mkdtemp(prefix=f"toy_{family}_{dataset}_{seed}_")
    start = time.perf_counter()
    result = train_lib.run(config, workdir)
    seconds = time.perf_counter() - start
    gan = result.model
    samples = gan.generate_numpy(2500, seed=1000 + seed, batch_size=2500)
    centers, std = data.mixture_centers(dataset), data.MIXTURE_STD[dataset]
    score = metrics.mode_coverage(samples, centers, std)
    strict = metrics.mode_coverage(samples, centers, std, min_count=20)
    return {"modes": score["modes"], "modes_20": strict["modes"],
            "high_quality_pct": 100.0 * score["high_quality"],
            "reverse_kl": score["reverse_kl"], "seconds": seconds}, samples


def summarise(rows, key):
    values = np.array([row[key] for row in rows], np.float64)
    return f"{values.mean():.2f} ± {values.std():.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--datasets", nargs="+", default=["ring8", "grid25"])
    parser.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    results, plots = {}, []
    for dataset in args.datasets:
        reference = data.sample_mixture(dataset, 2500, seed=7)
        for family in args.families:
            rows = []
            for seed in args.seeds:
                row, samples = run_one(family, dataset, seed, args.steps)
                rows.append(row)
                print(f"{dataset} {family} seed {seed}: {json.dumps(row)}", flush=True)
                if seed == args.seeds[0]:
                    extent = 3.0 if dataset == "ring8" else 6.0
                    plots.append(callbacks.scatter_plot(samples, reference, size=240,
                                                        extent=extent))
            results[f"{dataset}/{family}"] = rows

    with open(os.path.join(args.out, "toy_mixtures.json"), "w") as f:
        json.dump({"steps": args.steps, "seeds": args.seeds, "runs": results}, f, indent=2)
    lines = [f"{args.steps} generator steps, seeds {args.seeds}, 2,500 samples; mean ± std "
             "over seeds.", ""]
    for dataset in args.datasets:
        total = len(data.mixture_centers(dataset))
        lines += [f"**{dataset}** ({total} modes)", "",
                  "| family | modes (>= 1) | modes (>= 20) | % high quality | reverse KL "
                  "| seconds per run |", "|---|---|---|---|---|---|"]
        for family in args.families:
            rows = results[f"{dataset}/{family}"]
            lines.append(f"| {family} | {summarise(rows, 'modes')} | "
                         f"{summarise(rows, 'modes_20')} | "
                         f"{summarise(rows, 'high_quality_pct')} | "
                         f"{summarise(rows, 'reverse_kl')} | {summarise(rows, 'seconds')} |")
        for name, modes, quality in ANCHORS[dataset]:
            lines.append(f"| *{name} (published)* | {modes} | | {quality} | | |")
        lines.append("")
    with open(os.path.join(args.out, "toy_mixtures.md"), "w") as f:
        f.write("\n".join(lines))
    columns = len(args.families)
    grid = np.full((240 * len(args.datasets), 240 * columns, 3), 255, np.uint8)
    for i, plot in enumerate(plots):
        r, c = divmod(i, columns)
        grid[r * 240:(r + 1) * 240, c * 240:(c + 1) * 240] = plot
    callbacks.save_png(grid, os.path.join(args.out, "toy_mixtures.png"), min_side=1)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
