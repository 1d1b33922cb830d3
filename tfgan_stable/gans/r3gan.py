"""An R3GAN-style GAN (Huang et al. 2024, "The GAN is dead; long live the GAN!
A Modern GAN Baseline", arXiv 2501.05441), sized for small budgets.

Kept from the paper: the relativistic pairing loss RpGAN with both
zero-centred penalties R1 and R2, Adam with beta_1 = 0, normalisation-free
residual networks (:mod:`tfgan_stable.networks.resnet`), an average of the
generator's weights, and cosine schedules for the learning rate
(``optimizer.decay: cosine``) and the penalty weight (``gamma_floor``).
Left out: beta_2's schedule (beta_2 stays 0.99) and the paper's grouped
convolutions and network widths.
"""

import dataclasses

import keras

from tfgan_stable import schedules
from tfgan_stable import families as family
from tfgan_stable.errors import ConfigError
from tfgan_stable.gans.dcgan import DCGAN, LossOptions


@keras.saving.register_keras_serializable(package="tfgan_stable")
class R3GAN(DCGAN):
    """RpGAN + R1 + R2 without the usual tricks.

    Defaults: the ``rpgan`` loss, ``r1_gamma = r2_gamma = 0.05`` (the
    paper's CIFAR-10 weight, ``gamma / 2`` times each penalty), Adam(2e-4,
    beta_1=0, beta_2=0.99), one critic update per generator update, a
    generator average with decay 0.999.

    Args:
      gamma_floor: with ``schedule_steps``, the penalty weight falls along a
        cosine to ``gamma_floor`` x its start by generator step
        ``schedule_steps`` (the paper: 0.05 -> 0.005, a floor of 0.1).
      schedule_steps: generator steps of the schedule; None: constant weight.
      **kwargs: see :class:`DCGAN` and :class:`tfgan_stable.gans.base.GAN`.
    """

    family = "r3gan"
    default_n_critic = 1
    default_loss = "rpgan"
    default_learning_rate = 2e-4
    default_betas = (0.0, 0.99)
    default_r1_gamma = 0.05
    default_r2_gamma = 0.05
    default_g_ema_decay = 0.999

    def __init__(self, generator, discriminator, gamma_floor=1.0, schedule_steps=None,
                 **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        if not 0.0 <= gamma_floor <= 1.0:
            raise ValueError(f"R3GAN.gamma_floor must be in [0, 1]. "
                             f"Received: gamma_floor={gamma_floor!r}")
        if schedule_steps is not None and schedule_steps < 1:
            raise ValueError(f"R3GAN.schedule_steps must be >= 1 or None. "
                             f"Received: schedule_steps={schedule_steps!r}")
        self.gamma_floor = float(gamma_floor)
        self.schedule_steps = None if schedule_steps is None else int(schedule_steps)

    def penalty_weight_scale(self):
        """The cosine multiplier of the penalty weight at this generator step."""
        if self.schedule_steps is None or self.gamma_floor == 1.0:
            return None
        return schedules.cosine_decay(self.generator_steps, self.schedule_steps,
                                      self.gamma_floor)

    def get_config(self):
        return {**super().get_config(), "gamma_floor": self.gamma_floor,
                "schedule_steps": self.schedule_steps}


@dataclasses.dataclass(frozen=True)
class R3GANOptions(LossOptions):
    """The ``r3gan:`` config section: the critic's ``loss`` (rpgan) and ``gamma_floor``,
    where the penalty weight's cosine schedule ends at ``train.steps`` (1: constant)."""

    loss: str = "rpgan"
    gamma_floor: float = 1.0

    def check(self, config):
        super().check(config)
        if not 0.0 <= self.gamma_floor <= 1.0:
            raise ConfigError(f"r3gan.gamma_floor must be in [0, 1], got {self.gamma_floor}")


FAMILY = family.register(family.Family(
    "r3gan", R3GAN, R3GANOptions, gan_kwargs=dataclasses.asdict,
    architectures=("resnet", "dcgan", "mlp"), critic_normalization="none",
    config_kwargs=lambda config: {"schedule_steps": config.train.steps}))
