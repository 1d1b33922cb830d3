"""DCGAN-style convolutional generator and discriminator.

Radford, Metz, Chintala 2016 (arXiv 1511.06434): strided convolutions instead
of pooling, batch norm in G, ReLU in G with tanh output, LeakyReLU(0.2) in D.
Generalised to any power-of-two resolution >= 4 and any channel count. The
discriminator's normalisation is selectable because WGAN-GP's critic must not
use batch norm (Gulrajani 2017, sec. 4); layer norm is their drop-in.
"""

import math

import keras
from keras import layers

from tfgan_stable import small_conv
from tfgan_stable.batch_norm import FusedBatchNormalization


def _check_resolution(resolution):
    if resolution < 4 or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution}")
    return int(math.log2(resolution)) - 2  # number of 2x resampling blocks


def normalization_layer(kind, name):
    """The layer for ``kind`` (``batch``: synchronised batch norm, one fused op
    when training on one replica; ``layer``: over height, width and channels,
    the WGAN-GP critic's; ``none``/``None``: ``None``)."""
    if kind == "batch":
        # Statistics over the global batch under a strategy, as on one device.
        return FusedBatchNormalization(synchronized=True, name=name)
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
    matrix_path=True,
    matrix_filter_gradient=True,
    name="generator",
):
    """Latent vector ``[B, latent_dim]`` -> image ``[B, res, res, channels]`` in [-1, 1].

    A dense projection to 4x4, then one stride-2 transposed convolution per
    doubling; the filter count halves with each doubling down to ``filters``.
    ``matrix_path``: whether convolutions on small maps may be matrix products;
    ``matrix_filter_gradient``: whether, elsewhere, their kernel gradients may
    be (:mod:`tfgan_stable.small_conv`).
    """
    blocks = _check_resolution(resolution)
    conv_options = dict(matrix_path=matrix_path, matrix_filter_gradient=matrix_filter_gradient)
    z = keras.Input((latent_dim,), name="z")
    width = min(filters * 2**blocks, max_filters)
    x = layers.Dense(4 * 4 * width, use_bias=normalization == "none", name="project")(z)
    x = layers.Reshape((4, 4, width))(x)
    norm = normalization_layer(normalization, "project_norm")
    x = norm(x) if norm else x
    x = layers.ReLU()(x)
    for i in range(blocks):
        width = min(filters * 2 ** (blocks - i - 1), max_filters)
        x = small_conv.Conv2DTranspose(
            width, 4, strides=2, padding="same", use_bias=normalization == "none",
            name=f"up{i}", **conv_options,
        )(x)
        norm = normalization_layer(normalization, f"up{i}_norm")
        x = norm(x) if norm else x
        x = layers.ReLU()(x)
    x = small_conv.Conv2D(channels, 3, padding="same", name="to_image", **conv_options)(x)
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(z, images, name=name)


def build_dcgan_discriminator(
    resolution,
    channels,
    filters=64,
    max_filters=512,
    normalization="batch",
    matrix_path=True,
    matrix_filter_gradient=True,
    name="discriminator",
):
    """Image -> one unbounded score (a logit for DCGAN, a critic value for WGAN).

    One stride-2 convolution per halving down to 4x4 (no normalisation on the
    first, as in DCGAN), then a dense layer to a single output. ``matrix_path``:
    whether convolutions on small maps may be matrix products;
    ``matrix_filter_gradient``: whether, elsewhere, their kernel gradients may
    be (:mod:`tfgan_stable.small_conv`).
    """
    blocks = _check_resolution(resolution)
    conv_options = dict(matrix_path=matrix_path, matrix_filter_gradient=matrix_filter_gradient)
    images = keras.Input((resolution, resolution, channels), name="images")
    x = images
    for i in range(blocks):
        width = min(filters * 2**i, max_filters)
        x = small_conv.Conv2D(width, 4, strides=2, padding="same", name=f"down{i}",
                              **conv_options)(x)
        norm = normalization_layer(normalization, f"down{i}_norm") if i > 0 else None
        x = norm(x) if norm else x
        x = layers.LeakyReLU(0.2)(x)
    if blocks == 0:
        x = small_conv.Conv2D(filters, 3, padding="same", name="features", **conv_options)(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x)
    score = layers.Dense(1, dtype="float32", name="score")(x)
    return keras.Model(images, score, name=name)
