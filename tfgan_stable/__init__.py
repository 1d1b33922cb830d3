"""tfgan_stable: stable GAN training for Keras 3 on TensorFlow.

Public API: the GAN families (``DCGAN``, ``WGAN``, ``WGANGP``, ``BEGAN``,
``ProGAN``), their network
builders, the ``WeightClip`` constraint, data helpers, strategies and mixed
precision, the library's faster equivalents of Keras layers
(``with_fast_layers``), the exact-resume ``Backup`` callback and the
SavedModel export.
"""

import importlib
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# Public name -> the module that defines it. Imported on first use, so that the
# binaries can set up TensorFlow's logging before TensorFlow is imported.
_EXPORTS = {
    "Backup": "callbacks", "BeganEquilibrium": "callbacks",
    "ProgressiveGrowing": "callbacks", "SampleGrid": "callbacks",
    "WeightClip": "constraints",
    "make_strategy": "distribute", "mixed_precision": "distribute",
    "critic_batches": "data", "load_examples": "data", "make_dataset": "data",
    "export_generator": "export",
    "fit_progressive": "progressive",
    "BEGAN": "gans", "DCGAN": "gans", "GAN": "gans", "WGAN": "gans", "WGANGP": "gans",
    "ProGAN": "gans",
    "ProgressiveDiscriminator": "networks", "ProgressiveGenerator": "networks",
    "build_began_discriminator": "networks", "build_began_generator": "networks",
    "build_dcgan_discriminator": "networks", "build_dcgan_generator": "networks",
    "build_mlp_discriminator": "networks", "build_mlp_generator": "networks",
    "ConfigError": "errors", "MissingPathError": "errors",
    "OptimisticAdam": "optimizers",
    "pack_samples": "packing",
    "FusedBatchNormalization": "batch_norm", "with_fast_layers": "fast_layers",
}


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tfgan_stable' has no attribute {name!r}")
    importlib.import_module("tfgan_stable._backend")  # checks Keras' backend first
    value = getattr(importlib.import_module(f"tfgan_stable.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))


__version__ = "0.1.0"

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
    "fit_progressive",
    "load_examples",
    "make_dataset",
    "make_strategy",
    "mixed_precision",
    "pack_samples",
    "with_fast_layers",
]
