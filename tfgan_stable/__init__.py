"""tfgan_stable: stable GAN training for Keras 3 on TensorFlow.

Public API: the GAN families (``DCGAN``, ``WGAN``, ``WGANGP``, ``BEGAN``,
``ProGAN``), their network
builders, the ``WeightClip`` constraint, data helpers, strategies and mixed
precision, the exact-resume ``Backup`` callback and the SavedModel export.
"""

from tfgan_stable import _backend  # noqa: F401  (selects Keras' TensorFlow backend)
from tfgan_stable.callbacks import Backup, BeganEquilibrium, ProgressiveGrowing, SampleGrid
from tfgan_stable.constraints import WeightClip
from tfgan_stable.distribute import make_strategy, mixed_precision
from tfgan_stable.data import critic_batches, load_examples, make_dataset
from tfgan_stable.export import export_generator
from tfgan_stable.gans import BEGAN, DCGAN, GAN, WGAN, WGANGP, ProGAN
from tfgan_stable.networks import (
    ProgressiveDiscriminator,
    ProgressiveGenerator,
    build_began_discriminator,
    build_began_generator,
    build_dcgan_discriminator,
    build_dcgan_generator,
    build_mlp_discriminator,
    build_mlp_generator,
)

__version__ = "0.1.0"

__all__ = [
    "BEGAN",
    "Backup",
    "BeganEquilibrium",
    "DCGAN",
    "GAN",
    "ProGAN",
    "ProgressiveDiscriminator",
    "ProgressiveGenerator",
    "ProgressiveGrowing",
    "WGAN",
    "WGANGP",
    "SampleGrid",
    "WeightClip",
    "build_began_discriminator",
    "build_began_generator",
    "build_dcgan_discriminator",
    "build_dcgan_generator",
    "build_mlp_discriminator",
    "build_mlp_generator",
    "critic_batches",
    "export_generator",
    "load_examples",
    "make_dataset",
    "make_strategy",
    "mixed_precision",
]
