"""Differentiable augmentation of real and fake images, as pure functions.

References:
  Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
  Training" (DiffAugment, arXiv 2006.10738): the operations and policy
  ``color,translation,cutout``, applied to reals and fakes in both the critic
  and the generator update, so that gradients reach the generator through them.
  Karras et al. 2020, "Training Generative Adversarial Networks with Limited
  Data" (ADA, arXiv 2006.06676): each operation applied to each sample with
  probability p, p adapted from the overfitting signal r_t = E[sign(D(x_real))]
  (target 0.6, p able to go from 0 to 1 in 500k images).

The caller draws the random numbers (``uniforms``, float32 U[0, 1)), so that it
controls the seeds and can slice one global draw across replicas. Unlike
DiffAugment's reference code, every parameter is cast to the images' dtype:
float32, float16 and bfloat16 images work (mixed precision).
"""

import numbers

import keras
from keras import ops

OPERATIONS = ("color", "translation", "cutout")

# U[0, 1) numbers per sample of each operation: one gate, then its parameters.
_PARAMETERS = {"color": 3, "translation": 2, "cutout": 2}
_TRANSLATION_RATIO = 0.125
_CUTOUT_RATIO = 0.5


def parse_policy(policy):
    """The operation names of a policy, in the order given.

    Args:
      policy: ``""`` or ``None`` (no augmentation), a comma-separated string
        (``"color, translation,cutout"``) or a list or tuple of names.

    Returns:
      A tuple of names from ``OPERATIONS``, without duplicates.

    Raises:
      ValueError: an unknown or repeated operation, or a policy of another type.
    """
    if policy is None:
        return ()
    if isinstance(policy, str):
        names = [name.strip() for name in policy.split(",")] if policy.strip() else []
    elif isinstance(policy, (list, tuple)):
        names = list(policy)
    else:
        raise ValueError("augment policy must be a comma-separated string or a list of "
                         f"operations from {', '.join(OPERATIONS)}. Received: policy={policy!r}")
    seen = []
    for name in names:
        if not isinstance(name, str) or name not in OPERATIONS:
            raise ValueError(f"augment policy has an unknown operation {name!r}; valid: "
                             f"{', '.join(OPERATIONS)}. Received: policy={policy!r}")
        if name in seen:
            raise ValueError(f"augment policy repeats the operation {name!r}; name each "
                             f"once. Received: policy={policy!r}")
        seen.append(name)
    return tuple(seen)


def uniforms_needed(policy):
    """How many U[0, 1) numbers per sample ``diff_augment`` takes for ``policy``.

    Per operation, in the policy's order: one gate number (the operation is
    applied when it is below the probability), then its parameters: color 3
    (brightness, saturation, contrast), translation 2 (dy, dx), cutout 2
    (centre y, x).
    """
    return sum(1 + _PARAMETERS[name] for name in parse_policy(policy))


def diff_augment(images, policy, probability, uniforms):
    """Augments each sample of a batch, differentiably with respect to ``images``.

    Args:
      images: ``[batch, height, width, channels]`` in a float dtype (height,
        width and channels known; the batch size may be unknown).
      policy: as ``parse_policy`` takes.
      probability: a Python float or scalar tensor in [0, 1]: each operation is
        applied to each sample independently when its gate number is below it
        (1: always, DiffAugment; 0: the identity).
      uniforms: float32 ``[batch, uniforms_needed(policy)]`` U[0, 1) numbers,
        laid out per operation as ``uniforms_needed`` says.

    Returns:
      The augmented images, in the dtype of ``images``.

    Raises:
      ValueError: a bad policy, probability, images or uniforms shape.
    """
    names = parse_policy(policy)
    if isinstance(probability, numbers.Real) and not 0.0 <= float(probability) <= 1.0:
        raise ValueError(f"probability must lie in [0, 1]. Received: probability={probability!r}")
    images = ops.convert_to_tensor(images)
    if len(images.shape) != 4 or None in tuple(images.shape)[1:]:
        raise ValueError("images must be [batch, height, width, channels] with known height, "
                         f"width and channels. Received: images of shape {images.shape}")
    if not keras.backend.is_float_dtype(images.dtype):
        raise ValueError(f"images must have a float dtype. Received: images of dtype "
                         f"{keras.backend.standardize_dtype(images.dtype)}")
    if not names:
        return images
    needed = uniforms_needed(names)
    uniforms = ops.cast(uniforms, "float32")
    if len(uniforms.shape) != 2 or uniforms.shape[1] not in (None, needed):
        raise ValueError(f"uniforms must be [batch, {needed}] for policy {','.join(names)}. "
                         f"Received: uniforms of shape {uniforms.shape}")
    probability = ops.cast(probability, "float32")
    column = 0
    for name in names:
        gate = uniforms[:, column] < probability
        parameters = [uniforms[:, column + 1 + i] for i in range(_PARAMETERS[name])]
        column += 1 + _PARAMETERS[name]
        images = _OPERATIONS[name](images, gate, *parameters)
    return images


def _per_sample(values, dtype):
    """``[batch]`` float32 -> ``[batch, 1, 1, 1]`` in ``dtype``."""
    return ops.cast(ops.reshape(values, (-1, 1, 1, 1)), dtype)


def _mean(images, axis):
    """Mean accumulated in float32, returned in the images' dtype."""
    return ops.cast(ops.mean(ops.cast(images, "float32"), axis=axis, keepdims=True),
                    images.dtype)


def _color(images, gate, brightness, saturation, contrast):
    """Brightness ``+ (r - 0.5)``, saturation ``* 2r``, contrast ``* (r + 0.5)``."""
    dtype = images.dtype
    x = images + _per_sample(brightness - 0.5, dtype)
    if images.shape[-1] > 1:  # one channel: the channel mean is the pixel itself
        mean = _mean(x, axis=3)
        x = (x - mean) * _per_sample(saturation * 2.0, dtype) + mean
    mean = _mean(x, axis=(1, 2, 3))
    x = (x - mean) * _per_sample(contrast + 0.5, dtype) + mean
    # Not passed: the images themselves (a factor 1 is not exact in low precision).
    return ops.where(ops.reshape(gate, (-1, 1, 1, 1)), x, images)


def _shifts(uniform, gate, size):
    """Integer shifts uniform in ``[-s, s]``, ``s = int(size / 8 + 0.5)``; 0 where not gated."""
    reach = int(size * _TRANSLATION_RATIO + 0.5)
    shift = ops.minimum(ops.cast(ops.floor(uniform * (2 * reach + 1)), "int32"), 2 * reach)
    return ops.where(gate, shift - reach, 0), reach


def _translation(images, gate, dy, dx):
    """Moves each sample by ``(dy, dx)`` pixels: ``out[y, x] = in[y - dy, x - dx]``, zero fill."""
    import tensorflow as tf  # per-sample gather (batch_dims): TF backend

    for axis, uniform in ((1, dy), (2, dx)):
        size = images.shape[axis]
        shift, reach = _shifts(uniform, gate, size)
        if reach == 0:
            continue
        padding = [[0, 0]] * 4
        padding[axis] = [reach, reach]
        padded = ops.pad(images, padding)
        # out[i] = in[i - shift] = padded[i - shift + reach]
        indices = ops.arange(size, dtype="int32")[None, :] - shift[:, None] + reach
        images = tf.gather(padded, indices, axis=axis, batch_dims=1)
    return images


def _cutout(images, gate, centre_y, centre_x):
    """Zeros a square of side ``int(size / 2 + 0.5)`` per sample, centre uniform.

    As in DiffAugment's reference, the centre is drawn from
    ``[0, size + 1 - side % 2)`` and the square starts ``side // 2`` before it,
    so it may lie partly outside the image (never wholly).
    """
    inside = None
    for axis, uniform in ((1, centre_y), (2, centre_x)):
        size = images.shape[axis]
        side = int(size * _CUTOUT_RATIO + 0.5)
        choices = size + 1 - side % 2
        centre = ops.minimum(ops.cast(ops.floor(uniform * choices), "int32"), choices - 1)
        start = (centre - side // 2)[:, None]
        positions = ops.arange(size, dtype="int32")[None, :]
        covered = ops.logical_and(positions >= start, positions < start + side)  # [batch, size]
        covered = covered[:, :, None] if axis == 1 else covered[:, None, :]
        inside = covered if inside is None else ops.logical_and(inside, covered)
    cut = ops.logical_and(inside, ops.reshape(gate, (-1, 1, 1)))
    mask = ops.cast(ops.logical_not(cut), images.dtype)[:, :, :, None]
    return images * mask


_OPERATIONS = {"color": _color, "translation": _translation, "cutout": _cutout}


def _number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def adaptive_probability(p, signal, target, images, speed_images):
    """ADA's update: ``clip(p + sign(signal - target) * images / speed_images, 0, 1)``.

    Args:
      p: the current probability, a Python float or a tensor.
      signal: the overfitting measure averaged over the interval (ADA's
        ``r_t = E[sign(D(x_real))]``), a Python float or a tensor.
      target: the signal's target in [0, 1] (ADA: 0.6), a Python number.
      images: the number of real images shown since the last update.
      speed_images: images for p to go from 0 to 1 (ADA: 500k), a Python number > 0.

    Returns:
      The new probability: a Python float when ``p``, ``signal`` and ``images``
      are Python numbers, else a tensor in ``p``'s float dtype (float32 by default).

    Raises:
      ValueError: ``target`` outside [0, 1] or ``speed_images <= 0``.
    """
    if not _number(target) or not 0.0 <= target <= 1.0:
        raise ValueError(f"target must be a number in [0, 1]. Received: target={target!r}")
    if not _number(speed_images) or speed_images <= 0:
        raise ValueError(f"speed_images must be a number > 0. Received: "
                         f"speed_images={speed_images!r}")
    if _number(p) and _number(signal) and _number(images):
        sign = (signal > target) - (signal < target)
        return float(min(1.0, max(0.0, p + sign * images / speed_images)))
    dtype = "float32"
    if not _number(p) and keras.backend.is_float_dtype(keras.backend.standardize_dtype(p.dtype)):
        dtype = keras.backend.standardize_dtype(p.dtype)
    p, signal, images = (ops.cast(value, dtype) for value in (p, signal, images))
    step = ops.sign(signal - ops.cast(target, dtype)) * images / ops.cast(speed_images, dtype)
    return ops.clip(p + step, 0.0, 1.0)


def check_settings(policy, probability, target, speed_images, interval, names=None):
    """Refuses bad augmentation settings, naming the argument.

    Args:
      policy: as ``parse_policy`` takes.
      probability: the (initial) probability, a number in [0, 1].
      target: ``None`` (fixed probability) or ADA's signal target in [0, 1].
      speed_images: images for an adaptive p to go from 0 to 1, >= 1.
      interval: steps between adaptive updates, an int >= 1.
      names: how the messages spell each argument (a dict from these
        arguments' names, e.g. to config keys); default: as above.

    Raises:
      ValueError: for the first bad setting.
    """
    names = names or {}
    name = lambda argument: names.get(argument, argument)  # noqa: E731
    try:
        parse_policy(policy)
    except ValueError as error:
        raise ValueError(f"{name('policy')}: {error}") from None
    checks = (
        ("probability", probability, _number(probability) and 0.0 <= probability <= 1.0,
         "a number in [0, 1]"),
        ("target", target, target is None or (_number(target) and 0.0 <= target <= 1.0),
         "None or a number in [0, 1]"),
        ("speed_images", speed_images, _number(speed_images) and speed_images >= 1,
         "a number >= 1"),
        ("interval", interval, isinstance(interval, numbers.Integral)
         and not isinstance(interval, bool) and interval >= 1, "an int >= 1"),
    )
    for argument, value, good, expected in checks:
        if not good:
            raise ValueError(f"{name(argument)} must be {expected}. "
                             f"Received: {name(argument)}={value!r}")
