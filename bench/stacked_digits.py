"""Mode collapse on stacked digits (1,000 modes), every family side by side.

The offline counterpart of Stacked MNIST (Srivastava 2017, VEEGAN; Lin 2018,
PacGAN): three random bundled digits as the R, G, B channels of a 16x16
image, so 10^3 = 1,000 modes. Each family trains from its
``configs/<family>_stacked_digits.yaml`` where one ships (unless
``--digits_configs``), else its ``configs/<family>_digits.yaml`` on
``data.name=stacked_digits``, for the same
budget of generator steps at the same batch (ProGAN: the same number of
images, split evenly over its 4x4 stable phase and each resolution's fade-in
and stable phase). DCGAN, WGAN and WGAN-GP share the DCGAN networks; BEGAN
and ProGAN need their own. Then 26,000 samples per run are read channel by
channel with ``tfgan_stable.metrics.train_digit_classifier`` (a small CNN
trained here on the bundled digits) and scored with
``metrics.stacked_mode_count``: modes with at least one sample, the KL of
the mode histogram to uniform, and the part of that KL that the three
channels' digit histograms account for (the rest: channels paired
unevenly). Real stacked digits, scored the same way, give the ceiling the
classifier allows.

    python -m bench.stacked_digits --steps 2000 --seeds 0 1 --out bench/results

Writes ``<name>.json``, ``<name>.md`` and ``<name>.png`` (samples of the
first seed, one row per family; ``--name`` defaults to ``stacked_digits``)
into ``<out>/stacked_digits/``.
"""

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
FAMILIES = tuple(config_lib.family_lib().names())
# Published Stacked MNIST anchors (DESIGN.md): modes of 1000 / KL to uniform.
ANCHORS = [("DCGAN (VEEGAN paper)", "99", "3.40"), ("VEEGAN", "150", "2.95"),
           ("PacDCGAN2", "1000", "0.06"), ("WGAN-GP (GDPP paper)", "995", "0.148")]


def family_config(family, seed, args):
    overrides = [
        "data.name=stacked_digits", f"data.num_samples={args.num_examples}",
        f"train.batch_size={args.batch_size}", f"train.seed={seed}",
        "export.enabled=false", "train.verbose=0",
    ]
    if family == "progan":
        # 4x4 stable, then a fade-in and a stable phase per resolution: 5 phases to 16x16
        phase = args.steps * args.batch_size // 5
        overrides += [f"progan.transition_images={phase}", f"progan.stable_images={phase}",
                      f"progan.batch_sizes={[args.batch_size] * 3}",
                      f"train.steps_per_epoch={max(1, args.steps // 10)}"]
    else:
        overrides += [f"train.steps={args.steps}",
                      f"train.steps_per_epoch={max(1, args.steps // 10)}"]
    return config_lib.load(family_config_path(family, args.digits_configs),
                           overrides + list(args.override))


def family_config_path(family, digits_configs=False):
    """``configs/<family>_stacked_digits.yaml`` where one ships (unless
    ``digits_configs``), else the digits config."""
    digits = os.path.join(REPO, "configs", f"{family}_digits.yaml")
    own = os.path.join(REPO, "configs", f"{family}_stacked_digits.yaml")
    return own if os.path.exists(own) and not digits_configs else digits


def config_name(family, digits_configs=False):
    """The config file a family trains from, relative to the repository."""
    return os.path.relpath(family_config_path(family, digits_configs), REPO)


def run_one(family, seed, classifier, args):
    keras.backend.clear_session()
    config = family_config(family, seed, args)
    workdir = tempfile.mkdtemp(prefix=f"stacked_{family}_{seed}_")
    start = time.perf_counter()
    result = train_lib.run(config, workdir)
    seconds = time.perf_counter() - start
    samples = result.model.generate_numpy(args.samples, seed=1000 + seed, batch_size=1000)
    samples = np.clip(samples, -1.0, 1.0)
    score = metrics.stacked_mode_count(samples, classifier, per_channel=True)
    return {**score,
            "generator_steps": int(keras.ops.convert_to_numpy(result.model.generator_steps)),
            "seconds": seconds}, samples[:16]


def summarise(rows, key, digits=2):
    values = np.array([row[key] for row in rows], np.float64)
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def outputs(args):
    return [f"{args.name}.json", f"{args.name}.md", f"{args.name}.png"]


def main(argv=None):
    parser = common.parser(__doc__, "stacked_digits")
    parser.add_argument("--steps", type=int, default=2000, help="generator steps")
    parser.add_argument("--batch_size", type=int, default=64)
    common.add_seeds(parser, [0, 1])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--samples", type=int, default=26_000)
    parser.add_argument("--num_examples", type=int, default=60_000,
                        help="stacked training images (drawn from the 1,797 bundled digits)")
    parser.add_argument("--override", action="append", default=[],
                        help="extra config bindings for every family, e.g. "
                             "began.latent_recovery=0")
    parser.add_argument("--digits_configs", action="store_true",
                        help="train every family from its configs/<family>_digits.yaml, even "
                             "where a stacked-digits config ships (the earlier tables)")
    args, out = common.parse(parser, outputs, argv)
    out.precision = common.config_precision(args.override)

    classifier, accuracy = metrics.train_digit_classifier(seed=0)
    real, _ = data.stacked_digits(args.samples, resolution=16, seed=99)
    ceiling = metrics.stacked_mode_count(real, classifier)
    print(f"classifier held-out accuracy {accuracy:.3f}; real stacked digits: "
          f"{json.dumps(ceiling)}", flush=True)

    results, rows_of_samples = {}, []
    for family in args.families:
        rows = []
        for seed in args.seeds:
            row, samples = run_one(family, seed, classifier, args)
            rows.append(row)
            print(f"{family} seed {seed}: {json.dumps(row)}", flush=True)
            if seed == args.seeds[0]:
                rows_of_samples.append(samples)
        results[family] = rows

    out.write_json(f"{args.name}.json", {
        "steps": args.steps, "batch_size": args.batch_size, "seeds": args.seeds,
        "overrides": args.override,
        "configs": {family: config_name(family, args.digits_configs)
                    for family in args.families},
        "samples": args.samples, "classifier_accuracy": accuracy,
        "real": ceiling, "runs": results}, indent=2)
    configs = ", ".join(f"{family}: `{config_name(family, args.digits_configs)}`"
                        for family in args.families)
    lines = [
        f"{args.steps:,} generator steps at batch {args.batch_size} (ProGAN: the same "
        f"{args.steps * args.batch_size:,} images), seeds {args.seeds}; {args.samples:,} "
        f"samples per run; mean ± std over seeds. Digit classifier held-out accuracy "
        f"{accuracy:.3f}. Configs: {configs}."
        + (f" Overrides: `{' '.join(args.override)}`." if args.override else ""),
        "",
        "| family | modes (of 1000) | KL to uniform | of which the channels' digits | "
        "seconds per run |",
        "|---|---|---|---|---|",
    ]
    for family in args.families:
        rows = results[family]
        lines.append(f"| {family} | {summarise(rows, 'modes', 1)} | "
                     f"{summarise(rows, 'reverse_kl')} | {summarise(rows, 'channels_kl')} | "
                     f"{summarise(rows, 'seconds', 0)} |")
    lines.append(f"| *real stacked digits (the classifier's ceiling)* | {ceiling['modes']} | "
                 f"{ceiling['reverse_kl']:.2f} | {ceiling['channels_kl']:.2f} | |")
    for name, modes, kl in ANCHORS:
        lines.append(f"| *{name}, Stacked MNIST (published)* | {modes} | {kl} | | |")
    out.write_markdown(f"{args.name}.md", "\n".join(lines) + "\n")
    grid = np.concatenate([callbacks.image_grid(samples, columns=16)
                           for samples in rows_of_samples], axis=0)
    callbacks.save_png(grid, out.path(f"{args.name}.png"), min_side=768)
    out.stamp_png(out.path(f"{args.name}.png"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
