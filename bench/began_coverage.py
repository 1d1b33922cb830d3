"""Does BEGAN keep its classes to the end of a run? Coverage at every evaluation.

The BEGAN target of the results issue: on digits 16x16 (``configs/began_digits.yaml``,
its whole run), >= 8 of 10 classes with >= 2% of the samples and pixel
diversity >= 0.6 of the real digits' **at every evaluation from step 1,000 to
the end**, in each of 3 seeds (a late collapse fails). This script trains the
config through ``train_lib.run`` (the binary's path) once per variant and seed
and scores 2,000 samples at every epoch end with ``bench/began_gamma.py``'s
measures (a logistic digit classifier on 8x8, pixel diversity over the real
digits'). Variants are config overrides:

    python -m bench.began_coverage --variants "as shipped=" \\
        "latent recovery 1=began.latent_recovery=1.0" --seeds 0 1 2 --out bench/results

Writes ``<name>.json`` and ``<name>.md`` (``--name``, default ``began_coverage``)
into ``<out>/began_coverage/``.
"""

import json
import os
import tempfile

import numpy as np

import tfgan_stable  # noqa: F401  (Keras on TensorFlow)
import keras

from tfgan_stable import config as config_lib
from tfgan_stable import data as data_lib
from tfgan_stable import train_lib

from bench import common
from bench.began_gamma import digit_classifier, evaluate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIN_CLASSES, MIN_DIVERSITY, FROM_STEP = 8, 0.6, 1000


class Coverage(keras.callbacks.Callback):
    """Scores the generator at every epoch end."""

    def __init__(self, classifier, real, seed):
        super().__init__()
        self.classifier, self.real, self.seed, self.points = classifier, real, seed, []

    def on_epoch_end(self, epoch, logs=None):
        scores = evaluate(self.model, self.classifier, self.real, seed=self.seed)
        step = int(keras.ops.convert_to_numpy(self.model.generator_steps))
        self.points.append({"step": step, "classes": scores["classes_over_2pct"],
                            "diversity": scores["pixel_diversity_ratio"],
                            "k_t": float(logs.get("k_t", float("nan")))})
        print(json.dumps(self.points[-1]), flush=True)


def run_one(config_path, overrides, seed, classifier, real):
    keras.backend.clear_session()
    config = config_lib.load(config_path, [f"train.seed={seed}", "export.enabled=false",
                                           "train.verbose=0", *overrides])
    coverage = Coverage(classifier, real, seed)
    with tempfile.TemporaryDirectory() as workdir:
        train_lib.run(config, workdir, extra_callbacks=[coverage])
    late = [p for p in coverage.points if p["step"] >= FROM_STEP]
    return {"seed": seed, "points": coverage.points,
            "min_classes": min(p["classes"] for p in late),
            "min_diversity": min(p["diversity"] for p in late),
            "final": coverage.points[-1],
            "meets_target": all(p["classes"] >= MIN_CLASSES and p["diversity"] >= MIN_DIVERSITY
                                for p in late)}


def outputs(args):
    return [f"{args.name}.json", f"{args.name}.md"]


def main(argv=None):
    parser = common.parser(__doc__, "began_coverage")
    parser.add_argument("--config", default=os.path.join(REPO, "configs", "began_digits.yaml"))
    parser.add_argument("--variants", nargs="+", default=["as shipped="],
                        help='"label=override;override" (an empty list: the config as is)')
    common.add_seeds(parser, [0, 1, 2])
    args, out = common.parse(parser, outputs, argv)
    out.precision = common.config_precision(
        [o for variant in args.variants for o in variant.partition("=")[2].split(";")])
    classifier, accuracy = digit_classifier(0)
    config = config_lib.load(args.config)
    real = np.stack(list(data_lib.load_examples(
        "digits", resolution=config.data.resolution).dataset.as_numpy_iterator()))
    results = {}
    for variant in args.variants:
        label, _, overrides = variant.partition("=")
        overrides = [o for o in overrides.split(";") if o]
        results[label] = {"overrides": overrides, "runs": [
            run_one(args.config, overrides, seed, classifier, real) for seed in args.seeds]}
    out.write_json(f"{args.name}.json", {"config": os.path.relpath(args.config, REPO),
                                         "classifier_heldout_accuracy": accuracy,
                                         "variants": results}, indent=1)
    lines = [
        f"BEGAN, `{os.path.relpath(args.config, REPO)}` for its whole run, seeds "
        f"{', '.join(map(str, args.seeds))}; 2,000 samples scored at every epoch end; target: "
        f">= {MIN_CLASSES} classes with >= 2% of the samples and pixel diversity >= "
        f"{MIN_DIVERSITY} of real at every evaluation from step {FROM_STEP} (digit classifier "
        f"held-out accuracy {accuracy:.3f}).",
        "",
        "| variant | overrides | fewest classes from step 1000 (per seed) | lowest diversity "
        "| final classes | final diversity | seeds meeting the target |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, variant in results.items():
        runs = variant["runs"]
        cells = [
            ", ".join(str(r["min_classes"]) for r in runs),
            ", ".join(f"{r['min_diversity']:.2f}" for r in runs),
            ", ".join(str(r["final"]["classes"]) for r in runs),
            ", ".join(f"{r['final']['diversity']:.2f}" for r in runs),
        ]
        lines.append(f"| {label} | {'; '.join(variant['overrides']) or '-'} | "
                     f"{' | '.join(cells)} | "
                     f"{sum(r['meets_target'] for r in runs)} / {len(runs)} |")
    out.write_markdown(f"{args.name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
