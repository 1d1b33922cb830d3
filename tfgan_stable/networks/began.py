"""BEGAN's auto-encoder discriminator and generator (Berthelot et al. 2017, arXiv 1703.10717).

Section 3.5 of the paper: 3x3 convolutions with ELU, two per scale; the
encoder down-samples with stride-2 convolutions and its filter count grows
linearly with depth (n, 2n, 3n, ...); an 8x8 fully connected bottleneck of
size h with no non-linearity; the decoder (and the generator, which has the
same shape but its own weights) up-samples by nearest neighbour; no skip
connections and no batch norm. Outputs are linear, as in the paper.
"""

import math

import keras
from keras import layers

BASE_RESOLUTION = 8


def _scales(resolution):
    if resolution < BASE_RESOLUTION or resolution & (resolution - 1):
        raise ValueError(f"BEGAN resolution must be a power of two >= 8, got {resolution}")
    return int(math.log2(resolution // BASE_RESOLUTION)) + 1  # 8x8 counts as one scale


def _conv(filters, name, strides=1):
    return layers.Conv2D(filters, 3, strides=strides, padding="same", activation="elu",
                         name=name)


def build_began_decoder(input_dim, resolution, channels, filters=64, name="decoder"):
    """``[B, input_dim]`` -> image: dense to 8x8xn, (conv, conv, upsample) per scale."""
    scales = _scales(resolution)
    inputs = keras.Input((input_dim,), name="z" if name == "generator" else "code")
    x = layers.Dense(BASE_RESOLUTION * BASE_RESOLUTION * filters, name=f"{name}_project")(inputs)
    x = layers.Reshape((BASE_RESOLUTION, BASE_RESOLUTION, filters))(x)
    for scale in range(scales):
        x = _conv(filters, f"{name}_s{scale}_conv0")(x)
        x = _conv(filters, f"{name}_s{scale}_conv1")(x)
        if scale < scales - 1:
            x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_s{scale}_up")(x)
    outputs = layers.Conv2D(channels, 3, padding="same", dtype="float32",
                            name=f"{name}_to_image")(x)
    return keras.Model(inputs, outputs, name=name)


def build_began_encoder(resolution, channels, filters=64, bottleneck=64, name="encoder"):
    """Image -> ``[B, bottleneck]``: filters n, 2n, 3n, ... with stride-2 down-sampling."""
    scales = _scales(resolution)
    images = keras.Input((resolution, resolution, channels), name="images")
    x = _conv(filters, f"{name}_from_image")(images)
    for scale in range(scales):
        width = filters * (scale + 1)
        x = _conv(width, f"{name}_s{scale}_conv0")(x)
        x = _conv(width, f"{name}_s{scale}_conv1")(x)
        if scale < scales - 1:
            x = _conv(filters * (scale + 2), f"{name}_s{scale}_down", strides=2)(x)
    x = layers.Flatten()(x)
    code = layers.Dense(bottleneck, name=f"{name}_bottleneck")(x)  # no non-linearity
    return keras.Model(images, code, name=name)


def build_began_discriminator(resolution, channels, filters=64, bottleneck=64,
                              name="discriminator"):
    """The auto-encoder D: image -> reconstruction of the same shape."""
    encoder = build_began_encoder(resolution, channels, filters, bottleneck)
    decoder = build_began_decoder(bottleneck, resolution, channels, filters)
    images = keras.Input((resolution, resolution, channels), name="images")
    return keras.Model(images, decoder(encoder(images)), name=name)


def build_began_generator(latent_dim, resolution, channels, filters=64, name="generator"):
    """The generator: the decoder's shape with its own weights."""
    return build_began_decoder(latent_dim, resolution, channels, filters, name=name)
