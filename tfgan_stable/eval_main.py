"""``tfgan-eval``: score an exported generator (or a workdir's export) on a data source.

    tfgan-eval --model=saved_models/wgan_gp_digits [--data=digits] [--num_samples=2000] \\
        [--metrics=swd,fid,kid,diversity] [--inception_weights=inception.weights.h5] \\
        [--output=scores.json]

``--model`` is a SavedModel version folder, a model folder (newest version)
or a training workdir. The data source, resolution and latent distribution
default to those recorded in the export's metadata. Prints JSON.

A run on labelled images (``data.labels: inferred``, e.g. a folder of colour
pictures with a subfolder per class) is scored on the features of a classifier
of the data set's own labels (trained once, cached, announced;
:func:`tfgan_stable.metrics.labelled_suite`): ``frechet_local``, ``kid_local``,
``fidelity`` (precision, recall, density, coverage), ``copy_share`` and, for a
conditional export, ``conditional`` (sample ``i`` is asked for class ``i %
num_classes``).
"""

import json
import sys

from absl import flags

from tfgan_stable import cli  # importing the package quiets TensorFlow for the binaries

FLAGS = flags.FLAGS
REQUIRED_FLAGS = ("model",)
flags.DEFINE_string("model", None, "SavedModel version folder, model folder or workdir.")
flags.DEFINE_string("data", None, "data.name to compare with (default: the export's).")
flags.DEFINE_string("data_path", "", "data.path (Fashion-MNIST IDX folder).")
flags.DEFINE_integer("num_samples", 2000, "Generated and real samples to compare (2..50000).",
                     lower_bound=2, upper_bound=50_000)
flags.DEFINE_list("metrics", [], "Metric names (default: those that fit the data).")
flags.DEFINE_string("inception_weights", None, "Local InceptionV3 weights for FID / KID.")
flags.DEFINE_string("output", None, "Also write the JSON here.")
flags.DEFINE_integer("seed", 0, "Seed of the latent vectors and the metrics (>= 0).",
                     lower_bound=0)


def evaluate_export(model, data=None, data_path="", num_samples=2000, metric_names=(),
                    inception_weights=None, seed=0):
    """Scores an export; returns a JSON-ready dict."""
    import numpy as np

    from tfgan_stable import data as data_lib
    from tfgan_stable.errors import ConfigError
    from tfgan_stable import export as export_lib
    from tfgan_stable import metrics
    from tfgan_stable.gans.base import draw_latent

    exported = export_lib.load_exported(model)
    recorded = exported.metadata.get("data")
    data_name = data or recorded
    if not data_name or data_name == "unknown":  # "unknown": a GAN.export of a user's data
        raise ConfigError("--data is needed: the export records no data source")
    shape = exported.metadata.get("sample_shape") or [16]
    channels = int(shape[-1]) if len(shape) == 3 and shape[-1] in (1, 3) else "auto"
    data_config = (exported.metadata.get("config") or {}).get("data") or {}
    labelled = (data_config.get("labels") == "inferred" and data_name == recorded
                and len(shape) == 3
                and not (set(metric_names) - set(metrics.LABELLED_METRICS)))
    examples = data_lib.load_examples(
        data_name, path=data_path, resolution=int(shape[0]),
        num_samples=max(num_samples, 1000), seed=seed + 1, channels=channels,
        labels="inferred" if labelled else "none",
        background=data_config.get("background", "white"))
    real = data_lib.sample_examples(examples, num_samples, seed)
    z = draw_latent(np.random.default_rng(seed), (len(real), exported.latent_dim),
                    exported.distribution)
    # a conditional export: the classes in turn (what labelled_suite's "conditional" reads)
    classes = (np.arange(len(z)) % exported.num_classes).astype("int32") \
        if exported.num_classes else None
    samples = np.concatenate([
        exported.generate(z[i:i + 500]) if classes is None
        else exported.generate(z[i:i + 500], classes[i:i + 500])
        for i in range(0, len(z), 500)])
    if exported.output == "images":
        samples = samples * 2.0 - 1.0  # the export's [0, 1] back to the model's [-1, 1]
    if samples.shape[1:] != real.shape[1:]:
        raise ConfigError(f"generated samples {samples.shape[1:]} and data {data_name!r} "
                          f"{real.shape[1:]} differ in shape")
    try:
        if labelled:
            images, labels = data_lib.labelled_arrays(examples, seed=seed)
            name = metrics.labelled_classifier_name(data_name, int(shape[0]))
            suite = metrics.labelled_suite(images, labels, examples.class_names, name,
                                           conditional=bool(exported.num_classes),
                                           names=metric_names or None, seed=seed)
        else:
            suite = metrics.evaluation_suite(data_name, real, names=metric_names or None,
                                             inception_weights=inception_weights, seed=seed)
    except ValueError as error:  # e.g. a metric that does not fit this data
        raise ConfigError(str(error)) from None
    features = ("local_classifier" if labelled
                else "inception_v3" if inception_weights else "digit_classifier")
    return {"model": exported.path, "data": data_name, "num_samples": len(real),
            "features": features, "metrics": metrics.evaluate(suite, samples)}


def check_metric_names(names):
    """ConfigError for a name no suite knows, with close matches (before any work)."""
    import difflib

    from tfgan_stable.errors import ConfigError
    from tfgan_stable.metrics.suites import (
        IMAGE_METRICS,
        LABELLED_METRICS,
        STACKED_METRICS,
        VECTOR_METRICS,
    )

    valid = sorted(set(IMAGE_METRICS + STACKED_METRICS + VECTOR_METRICS + LABELLED_METRICS))
    for name in names:
        if name not in valid:
            close = difflib.get_close_matches(name, valid, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"--metrics: unknown metric {name!r}; {hint}valid: {valid}")


def evaluate():
    import contextlib

    from tfgan_stable.utils import files

    check_metric_names(FLAGS.metrics)  # flags first: a typo costs no work
    if FLAGS.output:
        files.check_output_file(FLAGS.output, "output")
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON alone
        result = evaluate_export(FLAGS.model, FLAGS.data, FLAGS.data_path, FLAGS.num_samples,
                                 FLAGS.metrics, FLAGS.inception_weights, FLAGS.seed)
    text = json.dumps(result, indent=2, sort_keys=True)
    print(text)
    if FLAGS.output:
        from tfgan_stable.utils import files

        files.write_text(FLAGS.output, text + "\n")
    return 0


def run():
    """Console-script entry point."""
    cli.run("tfgan-eval", sys.modules[__name__], evaluate)


if __name__ == "__main__":
    run()
