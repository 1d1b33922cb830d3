"""Does the critic's estimate track sample quality? WGAN's claim, measured.

Arjovsky et al. 2017 (arXiv 1701.07875, sec. 4.2, fig. 3-4) argue that the
WGAN critic's estimate of the Wasserstein distance falls as samples improve,
while a standard GAN's discriminator gives no such signal (its Jensen-Shannon
estimate saturates). This script trains WGAN, WGAN-GP and DCGAN on the 2-D
toy mixtures (``configs/<family>_<ring8|grid25>.yaml``, same MLPs and budget)
and, every ``--every`` generator steps, evaluates on held-out data:

* the family's own estimate on 1,000 held-out real points and 1,000 samples:
  ``E[f(x)] - E[f(G(z))]`` for the critics (WGAN-GP without its penalty),
  ``log 2 - d_loss / 2`` for DCGAN (the discriminator's Jensen-Shannon
  estimate: at the optimal discriminator the cross-entropy is
  ``2 log 2 - 2 JSD``, Goodfellow 2014 Theorem 1);
* an independent distance: the exact empirical Wasserstein-1 distance between
  the same two point sets (``tfgan_stable.metrics.wasserstein_1``).

It reports, per run, the Pearson and Spearman correlations between the two
over training (positive: the estimate tracks quality), mean and spread over
seeds, and plots both curves for the first seed. Writes ``<name>.json``,
``.md`` and ``.png`` (``--name``, default ``wasserstein_estimate``) into
``<out>/wasserstein_estimate/``.

    python -m bench.wasserstein_estimate --steps 3000 --every 100 --seeds 0 1 2 \\
        --out bench/results
"""

import json
import math
import os
import tempfile
import time

import numpy as np

import tfgan_stable  # noqa: F401  (Keras on TensorFlow)
import keras

from tfgan_stable import callbacks, data, losses, metrics, train_lib
from tfgan_stable import config as config_lib

from bench import common

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAMILIES = ("wgan", "wgan_gp", "dcgan")
ESTIMATE_NAMES = {"wgan": "critic W estimate", "wgan_gp": "critic W estimate",
                  "dcgan": "discriminator JS estimate"}


def family_estimate(gan, family, real, fake):
    """The family's own distance estimate on two point sets (see the module docstring)."""
    real_out = gan.discriminator(real, training=False)
    fake_out = gan.discriminator(fake, training=False)
    if family == "dcgan":
        bce = losses.dcgan_discriminator_loss(real_out, fake_out)
        return float(math.log(2.0) - 0.5 * keras.ops.convert_to_numpy(bce))
    return float(keras.ops.convert_to_numpy(losses.wasserstein_estimate(real_out, fake_out)))


def correlations(estimates, distances):
    """(Pearson, Spearman) of the two curves; NaN when either is constant."""
    from scipy import stats

    if np.std(estimates) == 0 or np.std(distances) == 0:
        return float("nan"), float("nan")
    return (float(stats.pearsonr(estimates, distances)[0]),
            float(stats.spearmanr(estimates, distances)[0]))


def run_one(family, dataset, seed, args):
    keras.backend.clear_session()
    config = config_lib.load(os.path.join(REPO, "configs", f"{family}_{dataset}.yaml"), [
        f"train.steps={args.steps}", f"train.steps_per_epoch={min(args.steps, 1000)}",
        f"train.seed={seed}", "export.enabled=false", "train.verbose=0"])
    real = data.sample_mixture(dataset, args.samples, seed=10_000 + seed)  # held out
    tracker = None

    def estimate(fake):
        return family_estimate(tracker.model, family, real, fake)

    def distance(fake):
        return metrics.wasserstein_1(real, fake)

    tracker = callbacks.PeriodicEvaluation({"estimate": estimate, "w1": distance},
                                           every_n_steps=args.every,
                                           num_samples=args.samples, seed=20_000 + seed)
    workdir = tempfile.mkdtemp(prefix=f"west_{family}_{dataset}_{seed}_")
    start = time.perf_counter()
    train_lib.run(config, workdir, extra_callbacks=[tracker])
    seconds = time.perf_counter() - start
    curve = [{"step": row["step"], "estimate": row["estimate"], "w1": row["w1"]}
             for row in tracker.history]
    pearson, spearman = correlations([p["estimate"] for p in curve], [p["w1"] for p in curve])
    return {"pearson": pearson, "spearman": spearman, "final_w1": curve[-1]["w1"],
            "seconds": seconds, "curve": curve}


def summarise(rows, key):
    values = np.array([row[key] for row in rows], np.float64)
    return f"{np.nanmean(values):.2f} ± {np.nanstd(values):.2f}"


def plot(results, datasets, families, seed, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(datasets), len(families),
                             figsize=(4.2 * len(families), 3.2 * len(datasets)), squeeze=False)
    for r, dataset in enumerate(datasets):
        for c, family in enumerate(families):
            run = next(row for row in results[f"{dataset}/{family}"] if row["seed"] == seed)
            steps = [p["step"] for p in run["curve"]]
            ax = axes[r][c]
            ax.plot(steps, [p["w1"] for p in run["curve"]], color="black",
                    label="exact W1 to held-out data")
            ax.set(title=f"{family} on {dataset} (Spearman {run['spearman']:.2f})",
                   xlabel="generator step")
            if c == 0:
                ax.set_ylabel("W1 (black)")
            twin = ax.twinx()
            twin.plot(steps, [p["estimate"] for p in run["curve"]], color="tab:blue",
                      label=ESTIMATE_NAMES[family])
            twin.set_ylabel(ESTIMATE_NAMES[family], color="tab:blue")
            ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def outputs(args):
    return [f"{args.name}.json", f"{args.name}.md", f"{args.name}.png"]


def main(argv=None):
    parser = common.parser(__doc__, "wasserstein_estimate")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--every", type=int, default=100, help="generator steps")
    parser.add_argument("--samples", type=int, default=1000)
    common.add_seeds(parser, [0, 1, 2])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--datasets", nargs="+", default=["ring8", "grid25"])
    parser.add_argument("--replot", action="store_true",
                        help="only rewrite the table and plot from <name>.json in the study "
                             "folder")
    args, out = common.parse(parser, outputs, argv)
    out.precision = common.config_precision()
    results_path = out.path(f"{args.name}.json")

    if args.replot:
        with open(results_path) as f:
            saved = json.load(f)
        for key in ("steps", "every", "samples", "seeds"):
            setattr(args, key, saved[key])
        floor, results = saved["w1_between_two_real_sets"], saved["runs"]
        args.datasets = list(floor)
        args.families = [family for family in FAMILIES
                         if f"{args.datasets[0]}/{family}" in results]
    else:
        floor = {dataset: metrics.wasserstein_1(data.sample_mixture(dataset, args.samples, 1),
                                                data.sample_mixture(dataset, args.samples, 2))
                 for dataset in args.datasets}
        results = {}
        for dataset in args.datasets:
            for family in args.families:
                rows = []
                for seed in args.seeds:
                    row = {"seed": seed, **run_one(family, dataset, seed, args)}
                    rows.append(row)
                    print(f"{dataset} {family} seed {seed}: " + json.dumps(
                        {k: v for k, v in row.items() if k != "curve"}), flush=True)
                results[f"{dataset}/{family}"] = rows
        out.write_json(f"{args.name}.json", {
            "steps": args.steps, "every": args.every, "samples": args.samples,
            "seeds": args.seeds, "w1_between_two_real_sets": floor, "runs": results},
            indent=2)
    lines = [
        f"{args.steps} generator steps, evaluated every {args.every} on {args.samples:,} "
        f"held-out real points and {args.samples:,} samples; seeds {args.seeds}, mean ± std. "
        "Correlation of the family's own estimate with the exact W1 over training "
        "(+1: the estimate falls exactly as the samples approach the data).", "",
        "| data | family | estimate | Pearson | Spearman | final W1 | seconds per run |",
        "|---|---|---|---|---|---|---|",
    ]
    for dataset in args.datasets:
        for family in args.families:
            rows = results[f"{dataset}/{family}"]
            lines.append(f"| {dataset} | {family} | {ESTIMATE_NAMES[family]} | "
                         f"{summarise(rows, 'pearson')} | {summarise(rows, 'spearman')} | "
                         f"{summarise(rows, 'final_w1')} | {summarise(rows, 'seconds')} |")
    lines += ["", "W1 between two sets of real points (the floor): " + ", ".join(
        f"{dataset} {value:.3f}" for dataset, value in floor.items())]
    out.write_markdown(f"{args.name}.md", "\n".join(lines) + "\n")
    plot(results, args.datasets, args.families, args.seeds[0], out.path(f"{args.name}.png"))
    out.stamp_png(out.path(f"{args.name}.png"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
