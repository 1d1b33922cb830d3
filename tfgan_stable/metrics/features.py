"""Feature extractors in Keras: InceptionV3 pool features, the local digit classifier.

Nothing here trains silently: :func:`digit_classifier`, :func:`fashion_classifier`
and :func:`labelled_classifier` train once, say so, and cache the model;
:func:`inception_feature_extractor` loads local weights.
"""

import os

import numpy as np

from tfgan_stable import log
from tfgan_stable.errors import MissingPathError
from tfgan_stable.metrics.distances import kl_to_uniform
from tfgan_stable.utils import files
from tfgan_stable.utils.files import cache_dir


def extract_features(model, images, batch_size=256):
    """Runs a Keras feature extractor over images in batches; returns ``[N, D]`` NumPy."""
    outputs = [np.asarray(model(images[i:i + batch_size], training=False))
               for i in range(0, len(images), batch_size)]
    features = np.concatenate(outputs)
    return features.reshape(len(features), -1)


def inception_feature_extractor(weights_path, input_range=(-1.0, 1.0)):
    """InceptionV3 pool features (2048-D) for FID / KID, from a local weights file.

    Images of any size and 1 or 3 channels are resized to 299x299 and mapped
    from ``input_range`` to Inception's [-1, 1]. ``weights_path`` is a Keras
    weights file of ``keras.applications.InceptionV3(include_top=False,
    pooling="avg")`` (nothing is downloaded).
    """
    import keras

    if not weights_path or not os.path.isfile(weights_path):
        raise MissingPathError(f"InceptionV3 weights file not found: {weights_path!r}")
    inception = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                               input_shape=(299, 299, 3))
    inception.load_weights(weights_path)
    low, high = input_range

    def features(images, training=False):
        x = keras.ops.convert_to_tensor(images, "float32")
        if x.shape[-1] == 1:
            x = keras.ops.repeat(x, 3, axis=-1)
        x = keras.ops.image.resize(x, (299, 299))
        x = (x - low) / (high - low) * 2.0 - 1.0
        return inception(x, training=False)

    return features


# ----------------------------------------------------------- stacked digits
def train_image_classifier(x_train, y_train, x_test, y_test, num_classes, seed=0, epochs=40,
                           batch_size=64, name="classifier", verbose=0):
    """The small CNN behind the feature distances; returns ``(model, held_out_accuracy)``.

    Two 3x3 convolutions of 32 filters, 2x2 max-pooling, a 64-unit ReLU layer
    named ``features`` (the space of :func:`frechet_distance` /
    :func:`kernel_distance`) and ``num_classes`` logits. Inputs are
    ``[N, H, W, C]`` in [-1, 1], the library's image range.
    """
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input(tuple(x_train.shape[1:])),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu", name="features"),
        keras.layers.Dense(num_classes, name="logits"),
    ], name=name)
    model.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=verbose,
              shuffle=True)
    accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    return model, accuracy


def train_digit_classifier(seed=0, epochs=40, verbose=0):
    """:func:`train_image_classifier` on the bundled 8x8 digits; ``(model, held_out_accuracy)``.

    Input: ``[N, 8, 8, 1]`` in [-1, 1]; output: 10 logits. 25% of the 1,797
    digits (stratified) are held out for the accuracy.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images.astype("float32") / 8.0 - 1.0)[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=seed, stratify=digits.target)
    return train_image_classifier(x_train, y_train, x_test, y_test, 10, seed=seed,
                                  epochs=epochs, name="digit_classifier", verbose=verbose)


def digit_classifier(seed=0, epochs=40, cache=True):
    """The digit classifier behind FID / KID on digit-like data and stacked-digit modes.

    Trained once by :func:`train_digit_classifier` (announced, about 15 s on
    2 CPU cores) and cached as a ``.keras`` file in :func:`cache_dir`, keyed by
    seed, epochs and Keras version; later calls load it.
    """
    import keras

    path = os.path.join(cache_dir(), f"digit_classifier-seed{seed}-epochs{epochs}-"
                                     f"keras{keras.__version__}.keras")
    if cache and os.path.isfile(path):
        return keras.models.load_model(path)
    log.info(f"training the digit classifier for feature distances ({epochs} epochs, once; "
             f"cached in {path})" if cache else
             f"training the digit classifier for feature distances ({epochs} epochs)")
    model, _ = train_digit_classifier(seed=seed, epochs=epochs)
    if cache:
        with files.atomic_path(path, suffix=".keras") as tmp:
            model.save(tmp)
    return model


def digit_features(classifier):
    """The 64-D ``features`` layer of :func:`train_digit_classifier`'s model."""
    return classifier_features(classifier)


FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")


def load_fashion_mnist_split(folder, split, resolution=28):
    """``(images [N, r, r, 1] in [-1, 1], labels [N])`` of Fashion-MNIST's ``train`` or
    ``test`` split from its IDX files (``.gz`` or not), resized as training data is."""
    import tensorflow as tf

    from tfgan_stable import data as data_lib

    prefix = {"train": "train", "test": "t10k"}[split]
    paths = [data_lib.find_idx(folder or "", f"{prefix}-{kind}-idx{rank}-ubyte")
             for kind, rank in (("images", 3), ("labels", 1))]
    if None in paths:
        raise MissingPathError(f"Fashion-MNIST folder {folder!r} lacks the {split} split's "
                               f"{prefix}-images-idx3-ubyte / {prefix}-labels-idx1-ubyte files")
    images = data_lib.read_idx(paths[0]).astype("float32")[..., None] / 255.0
    if resolution != images.shape[1]:
        images = tf.image.resize(images, (resolution, resolution), antialias=True).numpy()
    return np.clip(images * 2.0 - 1.0, -1.0, 1.0), data_lib.read_idx(paths[1]).astype("int64")


def fashion_classifier(folder, resolution=32, seed=0, epochs=5, cache=True):
    """A Fashion-MNIST classifier for feature distances and class coverage, trained offline.

    :func:`train_image_classifier` on the 60,000 training images at
    ``resolution``, its accuracy measured on the 10,000 test images. Trained
    once (announced; a few minutes on 2 CPU cores) and cached with its
    accuracy in :func:`cache_dir`. Returns ``(model, held_out_accuracy)``.
    """
    import json

    import keras

    stem = os.path.join(cache_dir(), f"fashion_classifier-{resolution}px-seed{seed}-epochs"
                                     f"{epochs}-keras{keras.__version__}")
    if cache and os.path.isfile(stem + ".keras") and os.path.isfile(stem + ".json"):
        with open(stem + ".json") as f:
            return keras.models.load_model(stem + ".keras"), json.load(f)["accuracy"]
    where = f", once; cached in {stem}.keras)" if cache else ")"
    log.info(f"training the Fashion-MNIST classifier for feature distances ({epochs} epochs "
             f"at {resolution}x{resolution}{where}")
    x_train, y_train = load_fashion_mnist_split(folder, "train", resolution)
    x_test, y_test = load_fashion_mnist_split(folder, "test", resolution)
    model, accuracy = train_image_classifier(x_train, y_train, x_test, y_test, 10, seed=seed,
                                             epochs=epochs, batch_size=128,
                                             name="fashion_classifier")
    if cache:
        with files.atomic_path(stem + ".keras", suffix=".keras") as tmp:
            model.save(tmp)
        files.write_json(stem + ".json", {"accuracy": accuracy})
    return model, accuracy


def _labelled_data(images, labels, num_classes, name, held_out):
    """:func:`labelled_classifier`'s checked ``(images float32 [N, H, W, C], labels int64)``."""
    import math
    import re

    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
        raise ValueError(f"name must be letters, digits, '_', '.' or '-' (it names the model "
                         f"and its cache file), got {name!r}")
    images = np.asarray(images)
    if images.ndim != 4 or not np.issubdtype(images.dtype, np.number):
        raise ValueError(f"images must be a numeric [N, H, W, C] array, got shape "
                         f"{images.shape} and dtype {images.dtype}")
    images = images.astype(np.float32, copy=False)
    if not np.all(np.isfinite(images)):
        raise ValueError("images hold NaN or infinite values")
    labels = np.asarray(labels)
    if labels.shape != (len(images),) or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be [N] integers, one per image ({len(images)}), got "
                         f"shape {labels.shape} and dtype {labels.dtype}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes - 1}], got "
                         f"{labels.min()} .. {labels.max()}")
    if not 0.0 < held_out < 1.0:
        raise ValueError(f"held_out must be a fraction in (0, 1), got {held_out!r}")
    counts = np.bincount(labels, minlength=num_classes)
    present = counts[counts > 0]
    test_count = math.ceil(held_out * len(labels))  # as train_test_split rounds
    if present.min() < 2 or min(test_count, len(labels) - test_count) < len(present):
        raise ValueError(f"a stratified held-out split needs >= 2 images per class and "
                         f"training and held-out parts of at least one image per class; "
                         f"got class counts {counts.tolist()} and held_out={held_out}")
    return images, labels.astype(np.int64)


def labelled_classifier(images, labels, num_classes, name, seed=0, epochs=10, held_out=0.1,
                        batch_size=64, cache=True):
    """A classifier of any labelled image array, for features and conditional accuracy.

    A share ``held_out`` of the images is split off, stratified by class
    (``sklearn``'s ``train_test_split`` with ``random_state=seed``);
    :func:`train_image_classifier` trains on the rest and its accuracy is
    measured on the held-out part. Images are ``[N, H, W, C]`` in [-1, 1], any
    size and channel count (colour included). Training is announced; the
    model and its accuracy are cached in :func:`cache_dir` as
    ``<name>-<key>.keras`` / ``.json``, the key a SHA-256 of the images,
    labels and every setting (and the Keras version), so a later call with the
    same data and settings loads it (announced too) and different data never
    reuse it. Its ``features`` layer (:func:`classifier_features`) is the
    space of the Fréchet, kernel and fidelity measures.

    Returns:
      ``(classifier, held_out_accuracy, (x_held_out, y_held_out))``: the held-out
      images the accuracy was measured on, to score real data with.
    """
    import hashlib
    import json

    import keras

    images, labels = _labelled_data(images, labels, num_classes, name, held_out)
    (x_train, y_train), (x_test, y_test) = labelled_split(images, labels, held_out, seed)
    digest = hashlib.sha256()
    settings = {"shape": list(images.shape), "num_classes": int(num_classes),
                "seed": int(seed), "epochs": int(epochs), "held_out": float(held_out),
                "batch_size": int(batch_size), "keras": keras.__version__}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    digest.update(labels.tobytes())
    stem = os.path.join(cache_dir(), f"{name}-{digest.hexdigest()[:16]}")
    if cache and os.path.isfile(stem + ".keras") and os.path.isfile(stem + ".json"):
        log.info(f"loading the {name} classifier from {stem}.keras")
        with open(stem + ".json") as f:
            accuracy = json.load(f)["accuracy"]
        return keras.models.load_model(stem + ".keras"), accuracy, (x_test, y_test)
    where = f", once; cached in {stem}.keras)" if cache else ")"
    log.info(f"training the {name} classifier on {len(x_train)} images, {num_classes} classes "
             f"({epochs} epochs{where}")
    model, accuracy = train_image_classifier(x_train, y_train, x_test, y_test, num_classes,
                                             seed=seed, epochs=epochs, batch_size=batch_size,
                                             name=name)
    log.info(f"the {name} classifier: {accuracy:.1%} accuracy on {len(x_test)} held-out images")
    if cache:
        with files.atomic_path(stem + ".keras", suffix=".keras") as tmp:
            model.save(tmp)
        files.write_json(stem + ".json", dict(settings, accuracy=accuracy))
    return model, accuracy, (x_test, y_test)


def labelled_split(images, labels, held_out=0.1, seed=0):
    """``((x_train, y_train), (x_held_out, y_held_out))``: the stratified split
    :func:`labelled_classifier` trains and measures on (same arguments, same split)."""
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=held_out, random_state=seed, stratify=labels)
    return (x_train, y_train), (x_test, y_test)


def classifier_features(classifier):
    """The 64-D ``features`` layer of a :func:`train_image_classifier` model."""
    import keras

    return keras.Model(classifier.inputs[0], classifier.get_layer("features").output)


def digit_classifier_input(channel_images):
    """``[N, H, W]`` images in [-1, 1] -> ``[N, 8, 8, 1]`` (area resizing): what
    :func:`digit_classifier` reads, one channel at a time."""
    import tensorflow as tf

    x = np.asarray(channel_images, np.float32)[..., None]
    if x.shape[1] != 8:
        x = tf.image.resize(x, (8, 8), method="area").numpy()
    return x


def stacked_mode_count(images, classifier, batch_size=1024, per_channel=False):
    """Modes of stacked digits: each channel classified as a digit, 1,000 modes in all.

    The offline counterpart of Stacked MNIST (Srivastava 2017; Lin 2018).

    Args:
      images: ``[N, H, W, 3]`` in [-1, 1].
      classifier: :func:`train_digit_classifier`'s model.

    Returns:
      ``{"modes": captured modes (>= 1 sample), "reverse_kl": KL(p_gen || uniform
      over 1000), "channels_kl": the sum over the 3 channels of KL(the channel's
      digits || uniform over 10)}``; with ``per_channel``, also ``"channel_kl"``
      (the three terms) and ``"channel_counts"`` (samples read as each digit
      0-9, per channel). ``reverse_kl`` is ``channels_kl`` plus the channels'
      dependence (their multi-information), so the split says whether a high
      KL comes from digits made too often or from digits paired too often.
    """
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"stacked digits must be [N, H, W, 3], got {images.shape}")
    digits = []
    for channel in range(3):
        x = digit_classifier_input(images[..., channel])
        logits = np.concatenate([np.asarray(classifier(x[i:i + batch_size], training=False))
                                 for i in range(0, len(x), batch_size)])
        digits.append(logits.argmax(-1))
    modes = digits[0] * 100 + digits[1] * 10 + digits[2]
    counts = np.bincount(modes, minlength=1000)
    channel_counts = [np.bincount(channel, minlength=10) for channel in digits]
    channel_kl = [kl_to_uniform(c) for c in channel_counts]
    result = {"modes": int((counts > 0).sum()), "reverse_kl": kl_to_uniform(counts),
              "channels_kl": float(sum(channel_kl))}
    if per_channel:
        result["channel_kl"] = channel_kl
        result["channel_counts"] = [c.tolist() for c in channel_counts]
    return result
