"""Generator and discriminator builders (no training logic here)."""

from tfgan_stable.networks.began import (
    build_began_decoder,
    build_began_discriminator,
    build_began_encoder,
    build_began_generator,
)
from tfgan_stable.networks import conditional
from tfgan_stable.networks.conditional import ClassEmbedding
from tfgan_stable.networks.dcgan import (
    build_dcgan_discriminator,
    build_dcgan_generator,
    normalization_layer,
)
from tfgan_stable.networks.mlp import (
    build_mlp_autoencoder,
    build_mlp_discriminator,
    build_mlp_generator,
)
from tfgan_stable.networks.progan import ProgressiveDiscriminator, ProgressiveGenerator
from tfgan_stable.networks.resnet import build_resnet_discriminator, build_resnet_generator
from tfgan_stable.networks.spectral_norm import SpectralNorm, spectral_norm_layers

__all__ = [
    "ClassEmbedding",
    "ProgressiveDiscriminator",
    "ProgressiveGenerator",
    "SpectralNorm",
    "build_began_decoder",
    "build_began_discriminator",
    "build_began_encoder",
    "build_began_generator",
    "build_dcgan_discriminator",
    "build_dcgan_generator",
    "build_mlp_autoencoder",
    "build_mlp_discriminator",
    "build_mlp_generator",
    "build_resnet_discriminator",
    "build_resnet_generator",
    "conditional",
    "normalization_layer",
    "spectral_norm_layers",
]
