"""DCGAN-style convolutional generator and discriminator.

Radford, Metz, Chintala 2016 (arXiv 1511.06434): strided convolutions instead
of pooling, batch norm in G, ReLU in G with tanh output, LeakyReLU(0.2) in D.
Generalised to any power-of-two resolution >= 4 and any channel count. The
discriminator's normalisation is selectable because WGAN-GP's critic must not
use batch norm (Gulrajani 2017, sec. 4); layer norm is their drop-in.
"""

import functools
import math
import numbers

import keras
from keras import layers

from tfgan_stable import fast
from tfgan_stable.networks import conditional
from tfgan_stable.networks.spectral_norm import maybe_spectral_norm


def check_resolution(resolution):
    """The number of 2x resampling blocks between 4x4 and ``resolution``; ValueError
    unless it is an int power of two >= 4 (the DCGAN and residual builders' check)."""
    if (isinstance(resolution, bool) or not isinstance(resolution, numbers.Integral)
            or resolution < 4 or resolution & (resolution - 1)):
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution!r}")
    return int(math.log2(resolution)) - 2


def normalization_layer(kind, name, fast_layers=False):
    """The layer for ``kind`` (``batch``: synchronised batch norm, one fused op
    when training on one replica with ``fast_layers``; ``layer``: over height,
    width and channels, the WGAN-GP critic's; ``none``/``None``: ``None``)."""
    if kind == "batch":
        # Statistics over the global batch under a strategy, as on one device.
        return fast.batch_normalization(fast_layers, synchronized=True, name=name)
    if kind == "layer":
        return layers.LayerNormalization(axis=[-3, -2, -1], name=name)
    if kind in ("none", None):
        return None
    raise ValueError(f"normalization must be 'batch', 'layer' or 'none', got {kind!r}")


def build_dcgan_generator(
    latent_dim,
    resolution,
    channels,
    filters=64,
    max_filters=512,
    normalization="batch",
    fast_layers="auto",
    name="generator",
    num_classes=0,
):
    """Latent vector ``[B, latent_dim]`` -> image ``[B, res, res, channels]`` in [-1, 1].

    A dense projection to 4x4, then one stride-2 transposed convolution per
    doubling; the filter count halves with each doubling down to ``filters``.
    ``fast_layers``: ``auto`` (where they pay), ``on`` or ``off``: the library's
    equals of Keras' convolutions and batch norm (:mod:`tfgan_stable.fast`).
    ``num_classes`` > 0: a conditional generator ``[z, label] -> image``
    (:func:`tfgan_stable.networks.conditional.generator_inputs`).
    """
    blocks = check_resolution(resolution)
    use_fast = fast.resolve(fast_layers)
    inputs, z = conditional.generator_inputs(latent_dim, num_classes)
    width = min(filters * 2**blocks, max_filters)
    x = layers.Dense(4 * 4 * width, use_bias=normalization == "none", name="project")(z)
    x = layers.Reshape((4, 4, width))(x)
    norm = normalization_layer(normalization, "project_norm", use_fast)
    x = norm(x) if norm else x
    x = layers.ReLU()(x)
    for i in range(blocks):
        width = min(filters * 2 ** (blocks - i - 1), max_filters)
        x = fast.conv2d_transpose(
            use_fast, width, 4, strides=2, padding="same", use_bias=normalization == "none",
            name=f"up{i}",
        )(x)
        norm = normalization_layer(normalization, f"up{i}_norm", use_fast)
        x = norm(x) if norm else x
        x = layers.ReLU()(x)
    x = fast.conv2d(use_fast, channels, 3, padding="same", name="to_image")(x)
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(inputs, images, name=name)


def build_dcgan_discriminator(
    resolution,
    channels,
    filters=64,
    max_filters=512,
    normalization="batch",
    fast_layers="auto",
    name="discriminator",
    spectral_norm=False,
    num_classes=0,
):
    """Image -> one unbounded score (a logit for DCGAN, a critic value for WGAN).

    One stride-2 convolution per halving down to 4x4 (no normalisation on the
    first, as in DCGAN), then a dense layer to a single output.
    ``fast_layers``: ``auto`` (where they pay), ``on`` or ``off``: the library's
    equals of Keras' convolutions and batch norm (:mod:`tfgan_stable.fast`).
    ``spectral_norm``: wrap every convolution and the score layer in
    :class:`~tfgan_stable.networks.spectral_norm.SpectralNorm` (SNGAN, Miyato
    2018), named ``<layer>_sn``; SNGAN's critic pairs it with
    ``normalization="none"``. ``num_classes`` > 0: a projection
    discriminator ``[images, label] -> score`` (Miyato & Koyama 2018,
    :func:`tfgan_stable.networks.conditional.projection_score`).
    """
    blocks = check_resolution(resolution)
    use_fast = fast.resolve(fast_layers)
    sn = functools.partial(maybe_spectral_norm, enabled=spectral_norm)
    images = keras.Input((resolution, resolution, channels), name="images")
    x = images
    for i in range(blocks):
        width = min(filters * 2**i, max_filters)
        x = sn(fast.conv2d(use_fast, width, 4, strides=2, padding="same", name=f"down{i}"))(x)
        norm = (normalization_layer(normalization, f"down{i}_norm", use_fast) if i > 0
                else None)
        x = norm(x) if norm else x
        x = layers.LeakyReLU(0.2)(x)
    if blocks == 0:
        x = sn(fast.conv2d(use_fast, filters, 3, padding="same", name="features"))(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x)
    labels, score = conditional.projection_score(
        x, sn(layers.Dense(1, dtype="float32", name="score")), num_classes, spectral_norm)
    return keras.Model([images, *labels] if labels else images, score, name=name)
