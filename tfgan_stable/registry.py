"""Name -> network builder lookups used by configs; unknown names list the valid ones.

The families have a registry of their own (:mod:`tfgan_stable.families`).
"""

from tfgan_stable import networks
from tfgan_stable.errors import ConfigError
from tfgan_stable import families as family_lib

# architecture -> (generator builder, discriminator builder)
ARCHITECTURES = {
    "began": (networks.build_began_generator, networks.build_began_discriminator),
    "dcgan": (networks.build_dcgan_generator, networks.build_dcgan_discriminator),
    "mlp": (networks.build_mlp_generator, networks.build_mlp_discriminator),
    "progan": (networks.ProgressiveGenerator, networks.ProgressiveDiscriminator),
    "resnet": (networks.build_resnet_generator, networks.build_resnet_discriminator),
}


def _lookup(table, kind, name):
    if name not in table:
        raise ConfigError(f"unknown {kind} {name!r}; valid: {sorted(table)}")
    return table[name]


def get_gan_class(family):
    """The ``keras.Model`` class of a GAN family (``model.family``)."""
    return family_lib.get(family).gan_class


def get_architecture(name):
    """``(build_generator, build_discriminator)`` for ``model.architecture``."""
    return _lookup(ARCHITECTURES, "model.architecture", name)
