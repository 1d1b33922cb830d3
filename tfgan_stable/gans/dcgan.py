"""DCGAN baseline: the non-saturating GAN (Radford et al. 2016, arXiv 1511.06434).

Its critic's loss is a choice (``loss``): the non-saturating loss of the paper,
the hinge loss (Miyato 2018, arXiv 1802.05957) or the relativistic pairing
loss RpGAN (Huang 2024, arXiv 2501.05441); :mod:`tfgan_stable.gans.sngan` and
:mod:`tfgan_stable.gans.r3gan` are this model with their papers' defaults.
"""

import dataclasses

import keras
from keras import ops

from tfgan_stable import losses
from tfgan_stable import families as family
from tfgan_stable.errors import ConfigError
from tfgan_stable.gans.base import GAN


@keras.saving.register_keras_serializable(package="tfgan_stable")
class DCGAN(GAN):
    """A GAN whose discriminator scores samples, trained on a chosen loss.

    Defaults: the non-saturating loss and Adam(2e-4, beta_1=0.5) for both
    networks, one D step per G step, as in the DCGAN paper.
    Logs ``d_loss``, ``g_loss``, ``d_real`` and ``d_fake``: the mean D
    probabilities under the non-saturating loss, the mean raw scores under
    the others.

    Args:
      loss: ``"nonsaturating"``, ``"hinge"`` or ``"rpgan"``
        (:data:`tfgan_stable.losses.CRITIC_LOSSES`); None: the family's.
      **kwargs: see :class:`tfgan_stable.gans.base.GAN`.
    """

    family = "dcgan"
    default_n_critic = 1
    default_loss = "nonsaturating"
    extra_metric_names = ("d_real", "d_fake")
    default_learning_rate = 2e-4
    default_betas = (0.5, 0.999)

    def __init__(self, generator, discriminator, loss=None, **kwargs):
        loss = self.default_loss if loss is None else loss
        losses.check_loss(loss, owner=f"{type(self).__name__}.loss")
        self.loss_name = loss
        super().__init__(generator, discriminator, **kwargs)

    @property
    def generator_sees_reals(self):
        """RpGAN's generator loss pairs its samples with real ones."""
        return losses.CRITIC_LOSSES[self.loss_name][2]

    @property
    def scores_are_relative(self):
        return self.loss_name == "rpgan"

    def discriminator_loss(self, real, fake, real_output, fake_output):
        loss = losses.CRITIC_LOSSES[self.loss_name][0](real_output, fake_output)
        if self.loss_name == "nonsaturating":
            real_output, fake_output = ops.sigmoid(real_output), ops.sigmoid(fake_output)
        return loss, {"d_real": ops.mean(real_output), "d_fake": ops.mean(fake_output)}

    def generator_loss(self, fake_output, real_output=None):
        loss_fn = losses.CRITIC_LOSSES[self.loss_name][1]
        if self.generator_sees_reals:
            return loss_fn(fake_output, real_output), {}
        return loss_fn(fake_output), {}

    def get_config(self):
        return {**super().get_config(), "loss": self.loss_name}


@dataclasses.dataclass(frozen=True)
class LossOptions:
    """A family section with one key, ``loss``: the critic's loss (non-saturating)."""

    loss: str = "nonsaturating"

    def check(self, config):
        if self.loss not in losses.CRITIC_LOSSES:
            raise ConfigError(f"{config.model.family}.loss must be one of "
                              f"{sorted(losses.CRITIC_LOSSES)}, got {self.loss!r}")


FAMILY = family.register(family.Family("dcgan", DCGAN, LossOptions,
                                       gan_kwargs=dataclasses.asdict))
