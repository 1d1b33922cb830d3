"""SNGAN (Miyato et al. 2018, "Spectral Normalization for GANs", arXiv 1802.05957)."""

import dataclasses
import warnings

import keras

from tfgan_stable import families as family
from tfgan_stable.gans.dcgan import DCGAN, LossOptions


@keras.saving.register_keras_serializable(package="tfgan_stable")
class SNGAN(DCGAN):
    """A critic whose layers are spectrally normalised, trained on the hinge loss.

    The paper's settings of its hinge-loss experiments: Adam(2e-4, beta_1=0,
    beta_2=0.9), n_critic 5, the hinge loss (sec. 4 and appendix B).
    Put :class:`tfgan_stable.networks.SpectralNorm` around the critic's
    layers (``build_dcgan_discriminator(..., spectral_norm=True)``); each u
    vector takes one power iteration per critic update, and a warning is
    raised when the critic has none.

    Args:
      loss: ``"hinge"`` (default), ``"nonsaturating"`` or ``"rpgan"``.
      **kwargs: see :class:`tfgan_stable.gans.base.GAN`.
    """

    family = "sngan"
    default_n_critic = 5
    default_loss = "hinge"
    default_learning_rate = 2e-4
    default_betas = (0.0, 0.9)

    def __init__(self, generator, discriminator, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        if not self.spectral_norms:
            warnings.warn(
                "SNGAN: the critic has no SpectralNorm layers, so nothing bounds its "
                "Lipschitz constant (Miyato 2018); build it with "
                "build_dcgan_discriminator(..., spectral_norm=True) or wrap its layers in "
                "tfgan_stable.SpectralNorm", stacklevel=2)


@dataclasses.dataclass(frozen=True)
class SNGANOptions(LossOptions):
    """The ``sngan:`` config section: the critic's ``loss`` (hinge)."""

    loss: str = "hinge"


# Spectral norm replaces the critic's batch norm (Miyato 2018, sec. 4).
FAMILY = family.register(family.Family(
    "sngan", SNGAN, SNGANOptions, gan_kwargs=dataclasses.asdict,
    critic_normalization="none", critic_spectral_norm=True))
