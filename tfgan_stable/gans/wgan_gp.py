"""WGAN-GP (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", arXiv 1704.00028)."""

import dataclasses
import warnings

import keras
import tensorflow as tf
from keras import ops

from tfgan_stable import distribute, losses, penalties
from tfgan_stable.errors import ConfigError
from tfgan_stable import families as family
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

    Args:
      gp_weight: lambda.
      gp_every: lazy regularisation (the trick Karras et al. 2020, arXiv
        1912.04958, apply to R1): the penalty only on every ``gp_every``-th
        critic update, weighted ``gp_every * lambda`` so its average pull is
        unchanged; the other updates skip the double backward pass. ``gp`` and
        ``grad_norm`` then log the last computed values.
      **kwargs: see :class:`tfgan_stable.gans.base.GAN`.
    """

    family = "wgan_gp"
    default_n_critic = 5
    scores_are_relative = True  # a Wasserstein critic: only differences count
    # Where the library's fast layers train it (tfgan_stable.fast), both networks
    # keep Keras' convolution forward: with the matrix products in both, 2 of 3
    # bfloat16 seeds trained far worse than every float32 seed on wider digits
    # networks. The kernel gradients as products stay: over 8 seeds against
    # float32's 7 their scores are within float32's seed-to-seed noise (rank-sum
    # test, docs/benchmarks.md, "the matrix-product convolutions").
    fast_layer_options = {"matrix_path": False}
    extra_metric_names = ("gp", "grad_norm", "wasserstein_estimate")
    default_learning_rate = 1e-4
    default_betas = (0.5, 0.9)

    def __init__(self, generator, discriminator, gp_weight=10.0, gp_every=1, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        if gp_weight < 0:
            raise ValueError(f"WGANGP.gp_weight must be >= 0, got {gp_weight}")
        if gp_every < 1:
            raise ValueError(f"WGANGP.gp_every must be >= 1. Received: gp_every={gp_every}")
        self.gp_weight = float(gp_weight)
        self.gp_every = int(gp_every)
        # the last computed penalty and gradient norm, logged on lazy steps
        self.last_gp = keras.Variable(0.0, trainable=False, name="last_gp",
                                      aggregation="only_first_replica")
        self.last_grad_norm = keras.Variable(0.0, trainable=False, name="last_grad_norm",
                                             aggregation="only_first_replica")
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

    def _penalty(self, real, fake):
        # a conditional critic: the interpolates of a pair keep the pair's label
        return penalties.gradient_penalty(
            self.critic_for(self.step_labels), real, fake,
            alpha=self.interpolation_alpha(ops.shape(real)[0]))

    def discriminator_loss(self, real, fake, real_output, fake_output):
        loss = losses.wasserstein_critic_loss(real_output, fake_output)
        if self.gp_every == 1 or self._evaluating:
            penalty, grad_norm = self._penalty(real, fake)
            weighted = self.gp_weight * penalty
        else:
            due = ops.equal(self.d_optimizer.iterations % self.gp_every, 0)

            def lazy():
                penalty, grad_norm = self._penalty(real, fake)
                return self.gp_every * self.gp_weight * penalty, penalty, grad_norm

            def skipped():
                return (ops.zeros((), "float32"), ops.convert_to_tensor(self.last_gp),
                        ops.convert_to_tensor(self.last_grad_norm))

            # assigned outside the cond: under a strategy an assignment of a
            # synchronised variable may not sit inside control flow
            weighted, penalty, grad_norm = tf.cond(due, lazy, skipped)
            # the global batch's values, as logged
            penalty = distribute.mean_over_replicas(penalty)
            grad_norm = distribute.mean_over_replicas(grad_norm)
            self.last_gp.assign(penalty)
            self.last_grad_norm.assign(grad_norm)
        return loss + weighted, {
            "gp": penalty,
            "grad_norm": grad_norm,
            "wasserstein_estimate": losses.wasserstein_estimate(real_output, fake_output),
        }

    def generator_loss(self, fake_output):
        return losses.wasserstein_generator_loss(fake_output), {}

    def get_config(self):
        return {**super().get_config(), "gp_weight": self.gp_weight, "gp_every": self.gp_every}


@dataclasses.dataclass(frozen=True)
class WGANGPOptions:
    """The ``wgan_gp:`` config section: the penalty weight lambda and lazy ``gp_every``."""

    gp_weight: float = 10.0
    gp_every: int = 1

    def check(self, config):
        if self.gp_weight < 0:
            raise ConfigError(f"wgan_gp.gp_weight must be >= 0, got {self.gp_weight}")
        if self.gp_every < 1:
            raise ConfigError(f"wgan_gp.gp_every must be >= 1, got {self.gp_every}")


# The penalty is per example, so the critic must not use batch norm (sec. 4).
FAMILY = family.register(family.Family(
    "wgan_gp", WGANGP, WGANGPOptions, gan_kwargs=dataclasses.asdict,
    critic_normalization="layer"))
