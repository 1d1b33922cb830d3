"""WGAN-GP (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", arXiv 1704.00028)."""

import dataclasses
import warnings

import keras
from keras import ops

from tfgan_stable import losses, penalties
from tfgan_stable.errors import ConfigError
from tfgan_stable.gans import family
from tfgan_stable.gans.base import GAN


@keras.saving.register_keras_serializable(package="tfgan_stable")
class WGANGP(GAN):
    """Wasserstein GAN whose critic is regularised by a gradient penalty.

    Defaults follow Algorithm 1: lambda 10, n_critic 5, Adam(1e-4, 0.5, 0.9),
    alpha ~ U[0, 1] per example, a fresh real batch for each critic step. The
    penalty is per example, so the critic must not use batch norm (sec. 4);
    a warning is raised when it does.

    Logs ``d_loss`` (including the penalty), ``g_loss``, ``gp`` (the unweighted
    penalty), ``grad_norm`` and ``wasserstein_estimate``.
    """

    family = "wgan_gp"
    default_n_critic = 5
    extra_metric_names = ("gp", "grad_norm", "wasserstein_estimate")
    default_learning_rate = 1e-4
    default_betas = (0.5, 0.9)

    def __init__(self, generator, discriminator, gp_weight=10.0, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        if gp_weight < 0:
            raise ValueError(f"WGANGP.gp_weight must be >= 0, got {gp_weight}")
        self.gp_weight = float(gp_weight)
        batch_norms = [
            layer.name for layer in self.discriminator._flatten_layers()
            if isinstance(layer, keras.layers.BatchNormalization)
        ]
        if batch_norms:
            warnings.warn(
                "WGANGP: the critic uses BatchNormalization "
                f"({', '.join(batch_norms)}), which couples the examples of a batch and "
                "invalidates the per-example gradient penalty (Gulrajani 2017, sec. 4); "
                "use layer normalisation or none.",
                stacklevel=2,
            )

    def discriminator_loss(self, real, fake, real_output, fake_output):
        penalty, grad_norm = penalties.gradient_penalty(
            self.discriminator, real, fake, alpha=self.interpolation_alpha(ops.shape(real)[0])
        )
        loss = losses.wasserstein_critic_loss(real_output, fake_output)
        return loss + self.gp_weight * penalty, {
            "gp": penalty,
            "grad_norm": grad_norm,
            "wasserstein_estimate": losses.wasserstein_estimate(real_output, fake_output),
        }

    def generator_loss(self, fake_output):
        return losses.wasserstein_generator_loss(fake_output), {}

    def get_config(self):
        return {**super().get_config(), "gp_weight": self.gp_weight}


@dataclasses.dataclass(frozen=True)
class WGANGPOptions:
    """The ``wgan_gp:`` config section: the penalty weight lambda."""

    gp_weight: float = 10.0

    def check(self, config):
        if self.gp_weight < 0:
            raise ConfigError(f"wgan_gp.gp_weight must be >= 0, got {self.gp_weight}")


# The penalty is per example, so the critic must not use batch norm (sec. 4).
FAMILY = family.register(family.Family(
    "wgan_gp", WGANGP, WGANGPOptions, gan_kwargs=dataclasses.asdict,
    critic_normalization="layer"))
