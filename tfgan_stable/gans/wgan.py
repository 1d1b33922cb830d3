"""WGAN with weight clipping (Arjovsky, Chintala, Bottou 2017, arXiv 1701.07875)."""

import dataclasses

import keras
from keras import ops

from tfgan_stable import losses, schedules
from tfgan_stable.constraints import WeightClip
from tfgan_stable.errors import ConfigError
from tfgan_stable import families as family
from tfgan_stable.gans.base import GAN


@keras.saving.register_keras_serializable(package="tfgan_stable")
class WGAN(GAN):
    """Wasserstein GAN: a critic kept K-Lipschitz by clipping its weights.

    Every trainable critic weight gets a :class:`WeightClip` constraint (and is
    clipped once at construction), so the optimizer clips after each update.
    Defaults follow Algorithm 1: n_critic 5, c = 0.01, RMSProp(5e-5) (with the
    reference code's rho 0.99 and epsilon 1e-8).

    Args:
      clip_value: the clipping bound c.
      warmup: the reference code's schedule: 100 critic updates before each of
        the first 25 generator updates and before every 500th (see
        :func:`tfgan_stable.schedules.wgan_critic_iterations`). A train step
        still does ``n_critic`` critic updates on fresh batches; the generator
        update waits until the schedule's count is reached.
      **kwargs: see :class:`tfgan_stable.gans.base.GAN`.
    """

    family = "wgan"
    default_n_critic = 5
    scores_are_relative = True  # a Wasserstein critic: only differences count
    extra_metric_names = ("wasserstein_estimate",)
    optimizer_name = "rmsprop"
    default_learning_rate = 5e-5
    optimizer_options = {"rho": 0.99, "epsilon": 1e-8}  # the reference code's RMSProp

    def __init__(self, generator, discriminator, clip_value=0.01, warmup=False, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.clip_value = float(clip_value)
        self.warmup = bool(warmup)
        clip = WeightClip(clip_value)
        for variable in self.discriminator.trainable_variables:
            variable.constraint = clip
            variable.assign(clip(variable))
        self.critic_steps_since_generator = keras.Variable(
            0, dtype="int64", trainable=False, name="critic_steps_since_generator",
            aggregation="only_first_replica",
        )

    def discriminator_loss(self, real, fake, real_output, fake_output):
        return losses.wasserstein_critic_loss(real_output, fake_output), {
            "wasserstein_estimate": losses.wasserstein_estimate(real_output, fake_output)
        }

    def generator_loss(self, fake_output):
        return losses.wasserstein_generator_loss(fake_output), {}

    def generator_update_due(self):
        if not self.warmup:
            return None
        required = schedules.wgan_critic_iterations(self.generator_steps, self.n_critic)
        return ops.greater_equal(
            self.critic_steps_since_generator, ops.cast(required, "int64")
        )

    def after_critic_step(self):
        if self.warmup:
            self.critic_steps_since_generator.assign_add(1)

    def after_generator_step(self):
        if self.warmup:
            self.critic_steps_since_generator.assign(0)

    def get_config(self):
        return {**super().get_config(), "clip_value": self.clip_value, "warmup": self.warmup}


@dataclasses.dataclass(frozen=True)
class WGANOptions:
    """The ``wgan:`` config section: the clipping bound and the optional warm-up."""

    clip_value: float = 0.01
    warmup: bool = False

    def check(self, config):
        if self.clip_value <= 0:
            raise ConfigError(f"wgan.clip_value must be > 0, got {self.clip_value}")
        if self.warmup and config.train.steps_per_execution not in (1, "auto"):
            raise ConfigError(
                "wgan.warmup needs train.steps_per_execution=1 or auto (generator steps are "
                f"counted between executions), got {config.train.steps_per_execution}")


def _train_steps(config, n_critic):
    """Keras train steps that make ``train.steps`` generator updates (more with warm-up)."""
    if config.family_options.warmup:
        return schedules.wgan_train_steps(config.train.steps, n_critic)
    return config.train.steps


def _fit_lengths(config, n_critic):
    """With warm-up the generator steps are counted between executions: one step each."""
    return [] if config.family_options.warmup else [config.train.steps]


FAMILY = family.register(family.Family(
    "wgan", WGAN, WGANOptions, gan_kwargs=dataclasses.asdict, train_steps=_train_steps,
    fit_lengths=_fit_lengths))
