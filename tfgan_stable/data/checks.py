"""Checks of the real samples a user hands to ``fit`` or ``make_dataset``.

The generators end in ``tanh``, so real images must be floats in [-1, 1]:
uint8 images in [0, 255], or values far outside that range, train a GAN that
can never match them, without any error. The first element of the data is
checked before training instead, and the message says how to scale. Datasets
made by :func:`tfgan_stable.data.make_dataset` are checked there and marked,
so that ``fit`` does not read them twice.
"""

import weakref

import numpy as np
import tensorflow as tf

# How far outside [-1, 1] an image value may lie before it is an error (resizing
# with antialiasing overshoots a little; [0, 255] or [0, 1e3] data does not).
IMAGE_RANGE_SLACK = 0.5

_CHECKED = weakref.WeakKeyDictionary()  # dataset -> the data source it was made from


def mark_checked(dataset, source):
    """Records that ``dataset``'s samples were checked, and their source; returns it."""
    _CHECKED[dataset] = source
    return dataset


def is_checked(data):
    """Whether ``data`` is a dataset whose samples were already checked."""
    return source_of(data) is not None


def source_of(data):
    """The data source a checked dataset was made from (``data.name``), else None."""
    try:
        return _CHECKED.get(data)
    except TypeError:  # unhashable (an array)
        return None


def describe(data):
    """What ``fit`` was given, for an export's metadata: its source, or its kind."""
    source = source_of(data)
    if source is not None:
        return source
    if hasattr(data, "shape"):
        return f"an array of shape {list(data.shape)}"
    return f"a {type(data).__name__}"


def check_dtype(dtype, what):
    """ValueError unless ``dtype`` is a floating type, saying how to convert integers."""
    dtype = tf.as_dtype(dtype)
    if dtype.is_floating:
        return
    hint = (" For uint8 images in [0, 255]: tf.cast(images, 'float32') / 127.5 - 1."
            if dtype in (tf.uint8, tf.int32, tf.int64, tf.int16, tf.uint16) else "")
    raise ValueError(
        f"{what} must hold floats (images scaled to [-1, 1], the generator's tanh range); "
        f"got dtype {dtype.name}.{hint}")


def check_real_samples(element, sample_shape, what):
    """Checks the first element of the training data: dtype, finite values, image range.

    Args:
      element: the element (a tensor, an array, or a tuple whose first part
        is the samples); None skips the check.
      sample_shape: the shape of one generated sample; rank 3 means images.
      what: who is asking, for the messages (e.g. ``"WGANGP.fit"``).
    """
    if element is None:
        return
    if isinstance(element, (tuple, list)):
        element = element[0]
    if isinstance(element, dict):
        return  # the train step names what it expects
    check_dtype(getattr(element, "dtype", np.asarray(element).dtype), f"{what}: real samples")
    values = np.asarray(element, dtype=np.float32)
    if values.size == 0:
        return
    if not np.isfinite(values).all():
        raise ValueError(f"{what}: the first batch of real samples holds NaN or infinite "
                         "values; drop or repair them (e.g. numpy.nan_to_num)")
    low, high = float(values.min()), float(values.max())
    if len(sample_shape) == 3 and (low < -1 - IMAGE_RANGE_SLACK or high > 1 + IMAGE_RANGE_SLACK):
        raise ValueError(
            f"{what}: real images must lie in [-1, 1] (the generator's tanh range); the first "
            f"batch holds values in [{low:g}, {high:g}]. Scale them: images / 127.5 - 1 for "
            "[0, 255], 2 * images - 1 for [0, 1] (tfgan_stable.load_examples does this for "
            "its sources)")
