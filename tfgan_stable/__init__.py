"""tfgan_stable: stable GAN training for Keras 3 on TensorFlow.

Public API: the GAN families (``DCGAN``, ``WGAN``, ``WGANGP``, ``BEGAN``,
``ProGAN``), their network builders, the ``WeightClip`` constraint, data
helpers, strategies and mixed precision, the library's faster equivalents of
Keras layers (``with_fast_layers``; ``with_keras_layers`` swaps back), the
exact-resume ``Backup`` callback and the SavedModel export.

Everything is imported here, so that ``import tfgan_stable`` registers every
class the library saves (families, layers, constraints, optimizers) with
Keras: ``keras.models.load_model`` then finds them in a fresh process.
"""

import os

from tfgan_stable import cli as _cli  # absl only: no TensorFlow yet

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
if _cli.running_a_binary():
    _cli.quiet_tensorflow()  # TensorFlow's C++ start-up lines, before it loads
    _cli.import_tensorflow()

from tfgan_stable import _backend  # noqa: E402,F401  (checks Keras' backend first)
from tfgan_stable.callbacks import (  # noqa: E402
    Backup,
    BeganEquilibrium,
    ProgressiveGrowing,
    SampleGrid,
)
from tfgan_stable.constraints import WeightClip  # noqa: E402
from tfgan_stable.data import critic_batches, load_examples, make_dataset  # noqa: E402
from tfgan_stable.distribute import make_strategy, mixed_precision  # noqa: E402
from tfgan_stable.errors import ConfigError, MissingPathError  # noqa: E402
from tfgan_stable.export import export_generator  # noqa: E402
from tfgan_stable.fast import (  # noqa: E402
    FusedBatchNormalization,
    with_fast_layers,
    with_keras_layers,
)
from tfgan_stable.gans import (  # noqa: E402
    BEGAN,
    DCGAN,
    GAN,
    R3GAN,
    SNGAN,
    WGAN,
    WGANGP,
    ProGAN,
)
from tfgan_stable.networks import (  # noqa: E402
    ProgressiveDiscriminator,
    ProgressiveGenerator,
    SpectralNorm,
    build_began_discriminator,
    build_began_generator,
    build_dcgan_discriminator,
    build_dcgan_generator,
    build_mlp_discriminator,
    build_mlp_generator,
    build_resnet_discriminator,
    build_resnet_generator,
)
from tfgan_stable.optimizers import OptimisticAdam  # noqa: E402
from tfgan_stable.packing import pack_samples  # noqa: E402
from tfgan_stable.progressive import fit_progressive  # noqa: E402

__version__ = "0.2.0"

__all__ = [
    "BEGAN",
    "ConfigError",
    "MissingPathError",
    "OptimisticAdam",
    "Backup",
    "BeganEquilibrium",
    "DCGAN",
    "FusedBatchNormalization",
    "GAN",
    "ProGAN",
    "ProgressiveDiscriminator",
    "ProgressiveGenerator",
    "ProgressiveGrowing",
    "R3GAN",
    "SNGAN",
    "WGAN",
    "WGANGP",
    "SampleGrid",
    "SpectralNorm",
    "WeightClip",
    "build_began_discriminator",
    "build_began_generator",
    "build_dcgan_discriminator",
    "build_dcgan_generator",
    "build_mlp_discriminator",
    "build_mlp_generator",
    "build_resnet_discriminator",
    "build_resnet_generator",
    "critic_batches",
    "export_generator",
    "fit_progressive",
    "load_examples",
    "make_dataset",
    "make_strategy",
    "mixed_precision",
    "pack_samples",
    "with_fast_layers",
    "with_keras_layers",
]
