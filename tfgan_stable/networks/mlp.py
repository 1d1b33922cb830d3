"""Multi-layer perceptrons for vector data (the 2-D toy mixtures).

The WGAN-GP authors' toy experiments (Gulrajani 2017, arXiv 1704.00028,
``gan_toy.py``) use ReLU MLPs with three hidden layers of 512 units.
"""

import keras
from keras import layers

from tfgan_stable.networks.spectral_norm import maybe_spectral_norm


def _hidden(x, hidden_units, activation, prefix, spectral_norm=False):
    if not hidden_units:
        raise ValueError("hidden_units must name at least one layer width")
    for i, units in enumerate(hidden_units):
        dense = layers.Dense(units, activation=activation, name=f"{prefix}{i}")
        x = maybe_spectral_norm(dense, spectral_norm)(x)
    return x


def build_mlp_generator(latent_dim, output_dim, hidden_units=(512, 512, 512),
                        activation="relu", name="generator"):
    """``[B, latent_dim]`` -> ``[B, output_dim]`` with a linear output (data units)."""
    z = keras.Input((latent_dim,), name="z")
    x = _hidden(z, hidden_units, activation, "hidden")
    samples = layers.Dense(output_dim, dtype="float32", name="samples")(x)
    return keras.Model(z, samples, name=name)


def build_mlp_discriminator(input_dim, hidden_units=(512, 512, 512),
                            activation="relu", name="discriminator", spectral_norm=False):
    """``[B, input_dim]`` -> one unbounded score per example.

    ``spectral_norm``: wrap every dense layer, the score's included, in
    :class:`~tfgan_stable.networks.spectral_norm.SpectralNorm` (SNGAN, Miyato
    2018), named ``<layer>_sn``.
    """
    samples = keras.Input((input_dim,), name="samples")
    x = _hidden(samples, hidden_units, activation, "hidden", spectral_norm)
    score = maybe_spectral_norm(layers.Dense(1, dtype="float32", name="score"),
                                spectral_norm)(x)
    return keras.Model(samples, score, name=name)


def build_mlp_autoencoder(input_dim, hidden_units=(512, 512, 512), bottleneck=8,
                          activation="relu", name="discriminator"):
    """BEGAN's auto-encoder discriminator for vector data: ``[B, D] -> [B, D]``.

    An MLP encoder to a linear bottleneck and a mirrored MLP decoder with a
    linear output (Berthelot 2017's structure, fully connected).
    """
    samples = keras.Input((input_dim,), name="samples")
    x = _hidden(samples, hidden_units, activation, "encoder")
    code = layers.Dense(bottleneck, name="bottleneck")(x)
    x = _hidden(code, tuple(reversed(hidden_units)), activation, "decoder")
    reconstruction = layers.Dense(input_dim, dtype="float32", name="reconstruction")(x)
    return keras.Model(samples, reconstruction, name=name)
