"""Name -> class / builder lookups used by configs; unknown names list the valid ones."""

from tfgan_stable import gans, networks
from tfgan_stable.errors import ConfigError

GAN_FAMILIES = {
    "began": gans.BEGAN,
    "dcgan": gans.DCGAN,
    "progan": gans.ProGAN,
    "wgan": gans.WGAN,
    "wgan_gp": gans.WGANGP,
}

# architecture -> (generator builder, discriminator builder)
ARCHITECTURES = {
    "began": (networks.build_began_generator, networks.build_began_discriminator),
    "dcgan": (networks.build_dcgan_generator, networks.build_dcgan_discriminator),
    "mlp": (networks.build_mlp_generator, networks.build_mlp_discriminator),
    "progan": (networks.ProgressiveGenerator, networks.ProgressiveDiscriminator),
}


def _lookup(table, kind, name):
    if name not in table:
        raise ConfigError(f"unknown {kind} {name!r}; valid: {sorted(table)}")
    return table[name]


def get_gan_class(family):
    """The ``keras.Model`` class of a GAN family (``model.family``)."""
    return _lookup(GAN_FAMILIES, "model.family", family)


def get_architecture(name):
    """``(build_generator, build_discriminator)`` for ``model.architecture``."""
    return _lookup(ARCHITECTURES, "model.architecture", name)
