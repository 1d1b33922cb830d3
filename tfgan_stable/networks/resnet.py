"""Normalisation-free residual generator and discriminator, after R3GAN.

Huang, Gokaslan, Kuleshov, Tompkin 2024, "The GAN is dead; long live the GAN!
A Modern GAN Baseline" (NeurIPS 2024, arXiv 2501.05441), trained there with
the RpGAN loss plus R1 and R2. Kept from the paper's networks: a residual
stream with no normalisation layer anywhere; residual blocks
``x + conv(lrelu(conv(x)))`` whose last convolution starts at zero (Fix-up
style, so every block starts as the identity and no variance-preserving scale
is needed); leaky ReLU (0.2); a block stage at every resolution from 4x4 up,
bilinear up-sampling (G) and average pooling (D) between stages with a 1x1
convolution where the width changes; a 4x4 basis in G (a dense projection of
z) and a dense score from 4x4 in D.

Simplified, to train on a few CPU cores at 16-32 px: plain 3x3 convolutions
instead of grouped convolutions in inverted bottlenecks; biased convolutions
with Keras' default initialisers instead of separate biased activations and
the paper's fan-in-scaled initialisation; a dense projection instead of G's
learned constant basis times a projection of z; flatten + dense instead of
D's depthwise 4x4 basis; a 3x3 convolution and tanh to the image (the paper
ends on a linear 1x1 convolution). G's 1x1 width change runs before the
bilinear up-sampling, which it commutes with, at a quarter of the cost.
"""

import numbers

import keras
from keras import layers

from tfgan_stable import fast
from tfgan_stable.networks import conditional
from tfgan_stable.networks.dcgan import check_resolution

SLOPE = 0.2  # leaky ReLU


def _checked(resolution, fast_layers, **sizes):
    """Both builders' argument check: ``(stages, use_fast)`` for a power-of-two
    ``resolution`` and ``sizes`` (channels, filters, ...) that are ints >= 1."""
    stages = check_resolution(resolution)
    for argument, value in sizes.items():
        if not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{argument} must be an int >= 1, got {value!r}")
    return stages, fast.resolve(fast_layers)


def _width(filters, doublings, max_filters):
    """A stage's width: ``filters`` doubled ``doublings`` times, at most ``max_filters``."""
    return min(filters * 2**doublings, max_filters)


def residual_block(x, width, prefix, use_fast):
    """``x + conv3x3(lrelu(conv3x3(x)))``, the second convolution zero-initialised.

    Layers are named ``{prefix}_conv1``, ``{prefix}_lrelu``, ``{prefix}_conv2``
    and ``{prefix}`` (the sum), so the block's input is ``model.get_layer(prefix).input[0]``.
    """
    y = fast.conv2d(use_fast, width, 3, padding="same", name=f"{prefix}_conv1")(x)
    y = layers.LeakyReLU(SLOPE, name=f"{prefix}_lrelu")(y)
    y = fast.conv2d(use_fast, width, 3, padding="same", kernel_initializer="zeros",
                    name=f"{prefix}_conv2")(y)
    return layers.Add(name=prefix)([x, y])


def _stage(x, width, prefix, blocks_per_stage, use_fast):
    for j in range(blocks_per_stage):
        x = residual_block(x, width, f"{prefix}_res{j}", use_fast)
    return x


def build_resnet_generator(
    latent_dim,
    resolution,
    channels,
    filters=64,
    max_filters=512,
    blocks_per_stage=1,
    fast_layers="auto",
    name="generator",
    num_classes=0,
):
    """Latent vector ``[B, latent_dim]`` -> image ``[B, res, res, channels]`` in [-1, 1].

    A dense projection to 4x4, ``blocks_per_stage`` residual blocks at every
    resolution (layers ``s{res}_res{j}_*``), and per doubling a 1x1
    convolution where the width changes and bilinear up-sampling; the width
    halves with each doubling down to ``filters``. Then a 3x3 convolution and
    tanh. ``fast_layers``: ``auto``, ``on`` or ``off``, as for the DCGAN builders.
    ``num_classes`` > 0: a conditional generator ``[z, label] -> image``
    (:func:`tfgan_stable.networks.conditional.generator_inputs`).

    Raises:
      ValueError: a resolution that is not a power of two >= 4, or a
        non-positive ``latent_dim``, ``channels``, ``filters``, ``max_filters``
        or ``blocks_per_stage``.
    """
    stages, use_fast = _checked(resolution, fast_layers, latent_dim=latent_dim,
                                channels=channels, filters=filters, max_filters=max_filters,
                                blocks_per_stage=blocks_per_stage)
    inputs, z = conditional.generator_inputs(latent_dim, num_classes)
    width = _width(filters, stages, max_filters)
    x = layers.Dense(4 * 4 * width, name="project")(z)
    x = layers.Reshape((4, 4, width), name="basis")(x)
    x = _stage(x, width, "s4", blocks_per_stage, use_fast)
    for i in range(1, stages + 1):
        size = 4 * 2**i
        new_width = _width(filters, stages - i, max_filters)
        if new_width != width:
            x = fast.conv2d(use_fast, new_width, 1, name=f"s{size}_width")(x)
            width = new_width
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"s{size}_up")(x)
        x = _stage(x, width, f"s{size}", blocks_per_stage, use_fast)
    x = fast.conv2d(use_fast, channels, 3, padding="same", name="to_image")(x)
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(inputs, images, name=name)


def build_resnet_discriminator(
    resolution,
    channels,
    filters=64,
    max_filters=512,
    blocks_per_stage=1,
    fast_layers="auto",
    name="discriminator",
    num_classes=0,
):
    """Image -> one unbounded score ``[B, 1]``.

    A 1x1 convolution from the image, ``blocks_per_stage`` residual blocks at
    every resolution down to 4x4 (layers ``s{res}_res{j}_*``), and per halving
    average pooling and a 1x1 convolution where the width changes (the width
    doubles up to ``max_filters``); then flatten and a dense score.
    ``fast_layers``: ``auto``, ``on`` or ``off``, as for the DCGAN builders.
    ``num_classes`` > 0: a projection discriminator ``[images, label] -> score``
    (:func:`tfgan_stable.networks.conditional.projection_score`).

    Raises:
      ValueError: a resolution that is not a power of two >= 4, or a
        non-positive ``channels``, ``filters``, ``max_filters`` or ``blocks_per_stage``.
    """
    stages, use_fast = _checked(resolution, fast_layers, channels=channels, filters=filters,
                                max_filters=max_filters, blocks_per_stage=blocks_per_stage)
    images = keras.Input((resolution, resolution, channels), name="images")
    width = _width(filters, 0, max_filters)
    x = fast.conv2d(use_fast, width, 1, name="from_image")(images)
    for i in range(stages):
        size = resolution // 2**i
        x = _stage(x, width, f"s{size}", blocks_per_stage, use_fast)
        x = layers.AveragePooling2D(2, name=f"s{size}_down")(x)
        new_width = _width(filters, i + 1, max_filters)
        if new_width != width:
            x = fast.conv2d(use_fast, new_width, 1, name=f"s{size // 2}_width")(x)
            width = new_width
    x = _stage(x, width, "s4", blocks_per_stage, use_fast)
    x = layers.Flatten(name="flatten")(x)
    labels, score = conditional.projection_score(
        x, layers.Dense(1, dtype="float32", name="score"), num_classes)
    return keras.Model([images, *labels] if labels else images, score, name=name)
