"""Metric suites: the measures that fit a data source, run on samples."""

import numpy as np

from tfgan_stable.metrics.distances import (
    frechet_distance,
    kernel_distance,
    mean_pairwise_distance,
    mode_coverage,
    sliced_wasserstein_distance,
)
from tfgan_stable.metrics.features import (
    digit_classifier,
    digit_classifier_input,
    digit_features,
    extract_features,
    inception_feature_extractor,
    stacked_mode_count,
)


IMAGE_METRICS = ("swd", "fid", "kid", "diversity")
# on the features of a classifier of the data set's own labels (labelled_suite)
LABELLED_METRICS = ("frechet_local", "kid_local", "fidelity", "copy_share", "conditional")
VECTOR_METRICS = ("modes",)
STACKED_METRICS = ("stacked_modes", "swd", "diversity")


def default_metric_names(data_name, kind):
    """The metrics that fit a data source."""
    if data_name == "stacked_digits":
        return STACKED_METRICS
    return VECTOR_METRICS if kind == "vector" else IMAGE_METRICS


def evaluation_suite(data_name, real, names=None, classifier=None, inception_weights=None,
                     seed=0):
    """Metric functions for a data source: ``{name: fn(samples) -> float or dict}``.

    Samples and ``real`` are in the model's range ([-1, 1] images, or vectors
    in data units). Image FID / KID use InceptionV3 pool features when
    ``inception_weights`` names a local weights file, else the 64-D features of
    the locally trained digit classifier (images down-sampled to 8x8 grey).

    Args:
      data_name: ``data.name`` (toy mixtures get mode coverage).
      real: real samples to compare with.
      names: metric names (default: :func:`default_metric_names`).
      classifier: a :func:`train_digit_classifier` model (default:
        :func:`digit_classifier`, trained once and cached).
    """
    real = np.asarray(real, np.float32)
    kind = "vector" if real.ndim == 2 else "image"
    names = tuple(names or default_metric_names(data_name, kind))
    valid = {"vector": VECTOR_METRICS, "image": IMAGE_METRICS + ("stacked_modes",)}[kind]
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"metrics {unknown} do not apply to {kind} data; valid: {list(valid)}")
    if "modes" in names:
        from tfgan_stable import data as data_lib

        if data_name not in data_lib.MIXTURE_STD:
            raise ValueError(f"metric 'modes' needs a toy mixture (ring8, grid25), "
                             f"got data.name={data_name!r}")
    needs_classifier = "stacked_modes" in names or (
        not inception_weights and ({"fid", "kid"} & set(names)))
    if needs_classifier and classifier is None:
        classifier = digit_classifier(seed=seed)
    suite = {}
    if "modes" in names:
        from tfgan_stable import data as data_lib

        centers, std = data_lib.mixture_centers(data_name), data_lib.MIXTURE_STD[data_name]

        def modes(samples):
            result = mode_coverage(samples, centers, std)
            strict = mode_coverage(samples, centers, std, min_count=20)
            return {"modes": result["modes"], "modes_20": strict["modes"],
                    "high_quality": result["high_quality"], "reverse_kl": result["reverse_kl"]}
        suite["modes"] = modes
    if "stacked_modes" in names:
        suite["stacked_modes"] = lambda samples: stacked_mode_count(samples, classifier)
    if "swd" in names:
        suite["swd"] = lambda samples: sliced_wasserstein_distance(
            real[:len(samples)], samples[:len(real)], seed=seed, nhoods_per_image=32)["average"]
    if {"fid", "kid"} & set(names):
        if inception_weights:
            extractor = inception_feature_extractor(inception_weights)

            def featurize(images):
                return extract_features(extractor, images, batch_size=64)
        else:
            extractor = digit_features(classifier)

            def featurize(images):
                grey = images.mean(axis=-1)
                return extract_features(extractor, digit_classifier_input(grey))
        real_features = featurize(real)
        if "fid" in names:
            suite["fid"] = lambda samples: frechet_distance(real_features, featurize(samples))
        if "kid" in names:
            suite["kid"] = lambda samples: kernel_distance(
                real_features, featurize(samples), seed=seed)[0]
    if "diversity" in names:
        real_diversity = mean_pairwise_distance(real, seed=seed)
        suite["diversity"] = lambda samples: (mean_pairwise_distance(samples, seed=seed)
                                              / real_diversity)
    return suite


def labelled_classifier_name(data_name, resolution):
    """The cache name of the classifier a labelled data set is scored with: its folder's
    (or source's) name and the resolution, e.g. ``emoji-noto_32``."""
    import re

    source = data_name.rstrip("/").split("/")[-1].split(":")[-1] or "data"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{source}_{resolution}")


def labelled_suite(images, labels, class_names, name, conditional=False, names=None, seed=0,
                   classifier_epochs=10):
    """Measures of a labelled image data set on its own classifier's features.

    :func:`labelled_classifier` trains a classifier on 90% of ``images`` (a
    stratified split; trained once, cached, announced) and measures its
    accuracy on the other 10%; its 64-D ``features`` layer is the space of:

    * ``frechet_local``: the Frechet distance to the held-out images ("Frechet
      distance (local classifier features)": not FID, which is on Inception);
    * ``kid_local``: the kernel (KID) distance to them;
    * ``fidelity``: precision / recall (k 3; Kynkaanniemi 2019) and density /
      coverage (k 5; Naeem 2020) against them;
    * ``copy_share``: the share of samples nearer a training-split image than
      the 1% quantile of the held-out images' nearest distances
      (:func:`copy_share`; about 0.01 for a model that copies nothing);
    * ``conditional`` (``conditional=True``): the classifier's accuracy on
      samples of the requested class, sample ``i`` asked for class ``i %
      num_classes`` (:meth:`GAN.generate_numpy`'s order and ``tfgan-eval``'s),
      beside its accuracy on held-out real images and their ratio, and the
      mean per-class Frechet distance to the training split's images.

    Args:
      images: ``[N, H, W, C]`` real images in [-1, 1]; labels: ``[N]`` ints.
      class_names: the classes in label order.
      name: names the cached classifier (e.g. ``emoji_32``).
      names: metric names (default: all that apply).
    """
    from tfgan_stable.metrics import fidelity
    from tfgan_stable.metrics.features import (
        classifier_features,
        labelled_classifier,
        labelled_split,
    )

    applicable = LABELLED_METRICS if conditional else LABELLED_METRICS[:-1]
    names = tuple(names or applicable)
    unknown = [n for n in names if n not in applicable]
    if unknown:
        raise ValueError(f"metrics {unknown} do not apply to labelled images "
                         f"({'conditional' if conditional else 'unconditional'} model); "
                         f"valid: {list(applicable)}")
    num_classes = len(class_names)
    classifier, accuracy, (x_held_out, _) = labelled_classifier(
        images, labels, num_classes, name, seed=seed, epochs=classifier_epochs)
    (x_train, y_train), _ = labelled_split(np.asarray(images, np.float32),
                                           np.asarray(labels), seed=seed)
    extractor = classifier_features(classifier)
    held_out = extract_features(extractor, x_held_out)
    train = extract_features(extractor, x_train)
    memo = {}

    def features(samples):  # once per evaluation, whatever the number of measures
        if memo.get("key") is not samples:
            memo.update(key=samples, value=extract_features(extractor, samples))
        return memo["value"]

    suite = {}
    if "frechet_local" in names:
        suite["frechet_local"] = lambda s: frechet_distance(held_out, features(s))
    if "kid_local" in names:
        suite["kid_local"] = lambda s: kernel_distance(held_out, features(s), seed=seed)[0]
    if "fidelity" in names:
        suite["fidelity"] = lambda s: {**fidelity.precision_recall(held_out, features(s)),
                                       **fidelity.density_coverage(held_out, features(s))}
    if "copy_share" in names:
        suite["copy_share"] = lambda s: fidelity.copy_share(train, held_out,
                                                            features(s))["copy_share"]
    if "conditional" in names:
        def conditional_scores(samples):
            requested = np.arange(len(samples)) % num_classes
            got = fidelity.classifier_conditional_accuracy(classifier, samples, requested)
            per_class = fidelity.per_class_frechet(train, y_train, features(samples),
                                                   requested, class_names)
            return {"accuracy": got, "classifier_accuracy": accuracy,
                    "accuracy_ratio": got / accuracy if accuracy else float("nan"),
                    "per_class_frechet": per_class["mean"]}
        suite["conditional"] = conditional_scores
    return suite


def evaluate(suite, samples):
    """Runs a suite; returns a flat ``{name: float}`` (dict results as ``name/key``)."""
    results = {}
    for name, fn in suite.items():
        value = fn(samples)
        if isinstance(value, dict):
            results.update({f"{name}/{k}" if k != name else name: float(v)
                            for k, v in value.items()})
        else:
            results[name] = float(value)
    return results
