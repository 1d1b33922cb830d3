"""BEGAN on the bundled digits: k_t and M_global over training, and gamma against diversity.

Berthelot et al. 2017 (arXiv 1703.10717) claim that M_global tracks convergence
and that gamma trades diversity (high gamma) against quality (low gamma). This
script trains ``configs/began_digits.yaml`` once per gamma with the same seed
and budget, then measures on 2,000 samples per run:

* pixel diversity: mean pairwise L2 distance of samples over that of real
  digits (1.0: as diverse as the data);
* class coverage: a logistic-regression digit classifier trained on the
  8x8 digits (held-out accuracy reported) labels the samples, down-sampled
  to 8x8; we report the entropy of the predicted class histogram (ln 10 =
  2.303 is uniform over the 10 digits), the number of classes with >= 2% of
  the samples, and the classifier's mean confidence (a rough quality proxy).

Writes ``<name>.json``, ``<name>.md`` (``--name``, default ``began_gamma``),
``began_k_m_global.png`` and one sample grid per gamma,
``began_gamma_<gamma>_samples.png``, into ``<out>/began_gamma/``.

    python -m bench.began_gamma --gammas 0.3 0.5 0.7 --steps 3000 --out bench/results
"""

import json
import os
import shutil
import tempfile
import time

import numpy as np

import tfgan_stable  # noqa: F401  (Keras on TensorFlow)
import keras
import tensorflow as tf

from tfgan_stable import config as config_lib
from tfgan_stable import metrics, train_lib

from bench import common

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class PerStep(keras.callbacks.Callback):
    """Records k_t and the exact per-step M_global (from the tracker's running total)."""

    def __init__(self):
        super().__init__()
        self.k_t, self.m_global = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.previous = 0.0

    def on_train_batch_end(self, batch, logs=None):
        tracker = next(t for t in self.model.loss_trackers if t.name == "m_global")
        total = float(tracker.total.numpy())
        self.m_global.append(total - self.previous)
        self.previous = total
        self.k_t.append(float(logs["k_t"]))


def digit_classifier(seed=0):
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=seed, stratify=digits.target)
    classifier = LogisticRegression(max_iter=5000).fit(x_train, y_train)
    return classifier, float(classifier.score(x_test, y_test))


def to_digits_features(images):
    """[-1, 1] images at 16x16 -> the 8x8, 0..16 features the classifier was trained on."""
    small = tf.image.resize(images, (8, 8), method="area").numpy()[..., 0]
    return np.clip((small + 1.0) * 8.0, 0.0, 16.0).reshape(len(images), 64)


def evaluate(gan, classifier, real, num_samples=2000, seed=0):
    samples = np.clip(gan.generate_numpy(num_samples, seed, batch_size=500), -1.0, 1.0)
    probabilities = classifier.predict_proba(to_digits_features(samples))
    histogram = np.bincount(probabilities.argmax(1), minlength=10) / num_samples
    nonzero = histogram[histogram > 0]
    return {
        "pixel_diversity_ratio": metrics.mean_pairwise_distance(samples)
        / metrics.mean_pairwise_distance(real),
        "class_entropy": float(max(0.0, -(nonzero * np.log(nonzero)).sum())),
        "classes_over_2pct": int((histogram >= 0.02).sum()),
        "mean_confidence": float(probabilities.max(1).mean()),
        "class_histogram": histogram.round(4).tolist(),
    }


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_k, ax_m) = plt.subplots(1, 2, figsize=(11, 4))
    for gamma, run in results.items():
        steps = np.arange(1, len(run["k_t"]) + 1)
        ax_k.plot(steps, run["k_t"], label=f"gamma={gamma}")
        m = np.asarray(run["m_global"])
        window = 50
        smooth = np.convolve(m, np.ones(window) / window, mode="valid")
        ax_m.plot(steps[window - 1:], smooth, label=f"gamma={gamma}")
    ax_k.set(title="k_t (every step)", xlabel="generator step", ylabel="k_t")
    ax_m.set(title="M_global (moving average over 50 steps)", xlabel="generator step",
             ylabel="M_global", yscale="log")
    for ax in (ax_k, ax_m):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def outputs(args):
    return ([f"began_gamma_{gamma}_samples.png" for gamma in args.gammas]
            + ["began_k_m_global.png", f"{args.name}.json", f"{args.name}.md"])


def main(argv=None):
    parser = common.parser(__doc__, "began_gamma")
    parser.add_argument("--config", default=os.path.join(REPO, "configs", "began_digits.yaml"))
    parser.add_argument("--gammas", type=float, nargs="+", default=[0.3, 0.5, 0.7])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--override", action="append", default=[],
                        help="extra config bindings, e.g. began.lambda_k=0.01")
    args, out = common.parse(parser, outputs, argv)
    out.precision = common.config_precision(args.override)

    classifier, accuracy = digit_classifier(args.seed)
    results, table = {}, {}
    for gamma in args.gammas:
        keras.backend.clear_session()
        config = config_lib.load(args.config, [
            f"began.gamma={gamma}", f"train.steps={args.steps}", f"train.seed={args.seed}",
            "export.enabled=false", "train.verbose=0", *args.override])
        workdir = tempfile.mkdtemp(prefix=f"began_gamma_{gamma}_")
        recorder = PerStep()
        start = time.time()
        run = train_lib.run(config, workdir, extra_callbacks=[recorder])
        seconds = time.time() - start
        real = np.stack(list(train_lib.data_lib.load_examples(
            "digits", resolution=config.data.resolution).dataset.as_numpy_iterator()))
        scores = evaluate(run.model, classifier, real, seed=args.seed)
        grids = sorted(os.listdir(run.samples_dir))
        shutil.copy(os.path.join(run.samples_dir, grids[-1]),
                    out.path(f"began_gamma_{gamma}_samples.png"))
        out.stamp_png(out.path(f"began_gamma_{gamma}_samples.png"))
        shutil.rmtree(workdir, ignore_errors=True)
        results[gamma] = {"k_t": recorder.k_t, "m_global": recorder.m_global}
        table[gamma] = {
            **scores, "final_k_t": recorder.k_t[-1],
            "final_m_global_mean_last_100": float(np.mean(recorder.m_global[-100:])),
            "train_seconds": round(seconds, 1),
        }
        print(f"gamma={gamma}: {json.dumps(table[gamma])}", flush=True)

    plot(results, out.path("began_k_m_global.png"))
    out.stamp_png(out.path("began_k_m_global.png"))
    summary = {"classifier_heldout_accuracy": accuracy, "steps": args.steps, "seed": args.seed,
               "config": os.path.relpath(args.config, REPO), "runs": table}
    out.write_json(f"{args.name}.json", summary, indent=2)
    lines = [
        f"BEGAN on digits 16x16, {args.steps} generator steps, seed {args.seed}; 2,000 samples "
        f"per run; digit classifier held-out accuracy {accuracy:.3f}.",
        "",
        "| gamma | pixel diversity (real = 1) | class entropy (max 2.303) | classes >= 2% "
        "| classifier confidence | final k_t | M_global (last 100 steps) |",
        "|---|---|---|---|---|---|---|",
    ]
    for gamma, row in table.items():
        lines.append(
            f"| {gamma} | {row['pixel_diversity_ratio']:.3f} | {row['class_entropy']:.3f} | "
            f"{row['classes_over_2pct']} | {row['mean_confidence']:.3f} | "
            f"{row['final_k_t']:.4f} | {row['final_m_global_mean_last_100']:.4f} |")
    out.write_markdown(f"{args.name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
