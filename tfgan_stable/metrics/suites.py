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
