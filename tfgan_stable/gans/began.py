"""BEGAN: Boundary Equilibrium GAN (Berthelot, Schumm, Metz 2017, arXiv 1703.10717)."""

import dataclasses
from typing import Optional

import keras
import tensorflow as tf
from keras import ops

from tfgan_stable import distribute, networks, schedules
from tfgan_stable.errors import ConfigError
from tfgan_stable import families as family
from tfgan_stable.gans.base import GAN, apply_gradients, float32


@keras.saving.register_keras_serializable(package="tfgan_stable")
class BEGAN(GAN):
    """A GAN whose discriminator is an auto-encoder, balanced by the k_t controller.

    With ``L(v) = mean |v - D(v)|^eta`` (eq. 1):
    ``L_D = L(x) - k_t L(G(z_D))``, ``L_G = L(G(z_G))`` and, after each step,
    ``k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1)`` with
    ``k_0 = 0`` (eq. 4). ``gamma = E[L(G(z))] / E[L(x)]`` is the diversity
    ratio: lower gamma, sharper but less diverse samples. ``M_global =
    L(x) + |gamma L(x) - L(G(z_G))|`` measures convergence.

    k_t, gamma and lambda_k are non-trainable variables: k_t is updated inside
    every train step (exact with ``steps_per_execution > 1``), from losses
    averaged over all replicas; gamma and lambda_k can be changed while
    training, by assignment or through the ``BeganEquilibrium`` callback.
    Latent vectors are uniform on [-1, 1] as in the paper. Defaults: Adam(1e-4,
    0.5, 0.999) for both networks, one D and one G update per step.

    Logs ``d_loss``, ``g_loss``, ``loss_real`` (L(x)), ``loss_fake``
    (L(G(z_G))), ``m_global``, ``balance`` (gamma L(x) - L(G(z_G))) and the
    current ``k_t``.

    Defaults are the small-data setting: ``gamma=1.0, lambda_k=0.01``. The
    paper's ``gamma=0.5, lambda_k=0.001`` (its faces setting) is met on small
    data sets by a collapsed generator; see docs/benchmarks.md.

    Args:
      gamma: the diversity ratio (the paper uses 0.3 to 0.7 on faces).
      lambda_k: the controller's gain (the paper: 0.001).
      reconstruction_norm: eta, 1 (the paper) or 2.
      k_initial: k_0.
      latent_recovery: weight of a latent-recovery term (0: off, the paper).
        The auto-encoder's encoder must map generated samples back to their
        latent vectors, ``R = mean (z - Enc(G(z)))^2``, added to the
        discriminator's loss (which trains the encoder) and the generator's
        (which keeps distinct latents apart). A generator that sends many z to
        the same few images cannot make R small, so collapse costs it: the
        reconstructor of VEEGAN (Srivastava et al. 2017) with the encoder BEGAN
        already has, as BEGAN-CS (Chang et al. 2018) does for the
        discriminator. Needs the bottleneck's width to equal the latent size.
      **kwargs: see :class:`tfgan_stable.gans.base.GAN` (``n_critic`` must be 1).
    """

    family = "began"
    supports_conditioning = False  # its own train step takes no labels
    supports_packing = False  # its auto-encoder critic reconstructs single samples
    critic_scores = False  # its discriminator returns reconstructions (checked below)
    default_n_critic = 1
    latent_distribution = "uniform"
    extra_metric_names = ("loss_real", "loss_fake", "m_global", "balance")
    default_learning_rate = 1e-4
    default_betas = (0.5, 0.999)

    def __init__(self, generator, discriminator, gamma=1.0, lambda_k=0.01,
                 reconstruction_norm=1, k_initial=0.0, latent_recovery=0.0, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        if self.n_critic != 1:
            raise ValueError(
                f"BEGAN.n_critic must be 1 (simultaneous updates), got {self.n_critic}")
        if reconstruction_norm not in (1, 2):
            raise ValueError(f"BEGAN.reconstruction_norm must be 1 or 2, got {reconstruction_norm}")
        if not 0.0 <= k_initial <= 1.0:
            raise ValueError(f"BEGAN.k_initial must be in [0, 1], got {k_initial}")
        schedules.check_gamma(gamma)
        schedules.check_lambda_k(lambda_k)
        output_shape = tuple(discriminator.compute_output_shape((None,) + self.sample_shape))
        if output_shape[1:] != self.sample_shape:
            raise ValueError(
                "BEGAN.discriminator must be an auto-encoder returning samples of shape "
                f"{self.sample_shape}, got output shape {output_shape[1:]}"
            )
        if not latent_recovery >= 0:
            raise ValueError(f"BEGAN.latent_recovery must be >= 0, got {latent_recovery}")
        self.reconstruction_norm = int(reconstruction_norm)
        self.k_initial = float(k_initial)
        self.latent_recovery = float(latent_recovery)
        self.encoder = None
        if self.latent_recovery:
            self.loss_trackers.append(keras.metrics.Mean(name="latent_recovery"))
            self.encoder = autoencoder_encoder(discriminator)
            code = self.encoder.compute_output_shape((None,) + self.sample_shape)[-1]
            if code != self.latent_dim:
                raise ValueError(
                    f"BEGAN.latent_recovery needs the discriminator's bottleneck ({code}) to "
                    f"equal the generator's latent size ({self.latent_dim})")

        def state(value, name):
            return keras.Variable(float(value), dtype="float32", trainable=False, name=name,
                                  aggregation="only_first_replica")

        self.k_t = state(k_initial, "k_t")
        self.gamma = state(gamma, "gamma")
        self.lambda_k = state(lambda_k, "lambda_k")
        # The learning-rate decay's plateau state (BeganEquilibrium), kept with
        # the model so that a resumed run decays when the uninterrupted one would.
        self.m_global_best = state(float("inf"), "m_global_best")
        self.epochs_without_improvement = state(0, "epochs_without_improvement")

    def reconstruction_loss(self, samples, training=True):
        """``L(v) = mean |v - D(v)|^eta`` over the batch (eq. 1)."""
        samples = float32(samples)
        error = ops.abs(samples - float32(self.discriminator(samples, training=training)))
        if self.reconstruction_norm == 2:
            error = ops.square(error)
        return ops.mean(error)

    def recovery_loss(self, z, samples, training=True):
        """``R = mean (z - Enc(G(z)))^2``: how well the encoder recovers latents."""
        return ops.mean(ops.square(float32(z) - float32(self.encoder(samples,
                                                                     training=training))))

    def train_step(self, data):
        self.update_spectral_norms()  # a user's SpectralNorm in the auto-encoder
        (real,) = self.critic_real_batches(data)
        batch_size = ops.shape(real)[0]
        z_d = self.sample_latent(batch_size)
        z_g = self.sample_latent(batch_size)
        with tf.GradientTape(persistent=True) as tape:
            fake_d = ops.stop_gradient(self.generator(z_d, training=True))
            fake_g = self.generator(z_g, training=True)
            # with augment set, the auto-encoder sees (and rebuilds) augmented samples
            loss_real = self.reconstruction_loss(self.augment_samples(real))
            d_loss = loss_real - self.k_t * self.reconstruction_loss(
                self.augment_samples(fake_d))
            loss_fake = self.reconstruction_loss(self.augment_samples(fake_g))
            g_loss = loss_fake
            if self.latent_recovery:
                recovery = self.recovery_loss(z_d, fake_d)
                d_loss = d_loss + self.latent_recovery * recovery
                g_loss = g_loss + self.latent_recovery * self.recovery_loss(z_g, fake_g)
            scaled_d = distribute.scale_loss(d_loss, self.d_optimizer)
            scaled_g = distribute.scale_loss(g_loss, self.g_optimizer)
        d_variables = self.discriminator.trainable_variables
        g_variables = self.generator.trainable_variables
        d_grads = tape.gradient(scaled_d, d_variables)
        g_grads = tape.gradient(scaled_g, g_variables)
        del tape
        apply_gradients(self.d_optimizer, d_grads, d_variables)
        apply_gradients(self.g_optimizer, g_grads, g_variables)
        self._update_ema(batch_size)
        self.generator_steps.assign_add(1)

        # The controller sees the losses of the whole global batch.
        loss_real = distribute.mean_over_replicas(loss_real)
        loss_fake = distribute.mean_over_replicas(loss_fake)
        k_next, m_global = schedules.began_k_update(
            self.k_t, loss_real, loss_fake, self.gamma, self.lambda_k)
        self.k_t.assign(k_next)
        logs = {"d_loss": d_loss, "g_loss": g_loss, "loss_real": loss_real,
                "loss_fake": loss_fake, "m_global": m_global,
                "balance": self.gamma * loss_real - loss_fake}
        if self.latent_recovery:
            logs["latent_recovery"] = recovery
        self._track(logs)
        return self.finish_step(k_t=ops.convert_to_tensor(self.k_t))

    def evaluation_losses(self, real):
        """L(x), L(G(z)), the losses, M_global and the balance; updates nothing (not k_t)."""
        fake = self.generator(self.sample_latent(ops.shape(real)[0]), training=False)
        loss_real = self.reconstruction_loss(real, training=False)
        loss_fake = self.reconstruction_loss(fake, training=False)
        _, m_global = schedules.began_k_update(
            self.k_t, loss_real, loss_fake, self.gamma, self.lambda_k)
        return {"d_loss": loss_real - self.k_t * loss_fake, "g_loss": loss_fake,
                "loss_real": loss_real, "loss_fake": loss_fake, "m_global": m_global,
                "balance": self.gamma * loss_real - loss_fake}

    def get_config(self):
        return {
            **super().get_config(),
            "gamma": float(ops.convert_to_numpy(self.gamma)),
            "lambda_k": float(ops.convert_to_numpy(self.lambda_k)),
            "reconstruction_norm": self.reconstruction_norm,
            "k_initial": self.k_initial,
            "latent_recovery": self.latent_recovery,
        }


def autoencoder_encoder(discriminator):
    """The encoder half of an auto-encoder discriminator: image or vector -> code.

    A nested model named ``encoder`` (:func:`networks.build_began_discriminator`)
    or, in a flat model, the input up to a layer named ``bottleneck``
    (:func:`networks.build_mlp_autoencoder`).
    """
    names = [layer.name for layer in discriminator.layers]
    if "encoder" in names:
        return discriminator.get_layer("encoder")
    if "bottleneck" in names:
        return keras.Model(discriminator.inputs, discriminator.get_layer("bottleneck").output,
                           name="encoder")
    raise ValueError("BEGAN.latent_recovery needs an auto-encoder whose encoder is a layer "
                     "named 'encoder' or ends in a layer named 'bottleneck'; the "
                     f"discriminator {discriminator.name!r} has neither")


@dataclasses.dataclass(frozen=True)
class BEGANOptions:
    """The ``began:`` config section.

    ``gamma``, ``lambda_k``, ``reconstruction_norm`` (eta) and ``bottleneck``
    (h) are the paper's knobs; gamma and lambda_k default to the small-data
    setting (1.0, 0.01), the paper's faces setting is 0.5, 0.001
    (``configs/began_celeba.yaml``); ``decay_patience``: epochs without improvement of
    M_global before both learning rates are multiplied by ``decay_factor``
    (floor ``min_learning_rate``); null disables the decay. ``latent_recovery``:
    weight of the encoder's latent-recovery term (:class:`BEGAN`; 0: off).
    """

    gamma: float = 1.0
    lambda_k: float = 0.01
    bottleneck: int = 64
    reconstruction_norm: int = 1
    decay_patience: Optional[int] = None
    decay_factor: float = 0.5
    min_learning_rate: float = 1e-6
    latent_recovery: float = 0.0

    def check(self, config):
        if not self.gamma > 0:
            raise ConfigError(f"began.gamma must be > 0, got {self.gamma}")
        if self.lambda_k < 0:
            raise ConfigError(f"began.lambda_k must be >= 0, got {self.lambda_k}")
        if self.reconstruction_norm not in (1, 2):
            raise ConfigError(
                f"began.reconstruction_norm must be 1 or 2, got {self.reconstruction_norm}")
        if self.bottleneck < 1:
            raise ConfigError(f"began.bottleneck must be >= 1, got {self.bottleneck}")
        if self.decay_patience is not None and self.decay_patience < 1:
            raise ConfigError(f"began.decay_patience must be >= 1 or null, "
                              f"got {self.decay_patience}")
        if self.decay_patience is not None and config.optimizer.decay != "none":
            raise ConfigError(
                f"began.decay_patience={self.decay_patience} and optimizer.decay="
                f"{config.optimizer.decay!r} both set the learning rate; use one of them")
        if not 0.0 < self.decay_factor < 1.0:
            raise ConfigError(f"began.decay_factor must be in (0, 1), got {self.decay_factor}")
        if not self.latent_recovery >= 0:
            raise ConfigError(f"began.latent_recovery must be >= 0, got {self.latent_recovery}")
        if self.latent_recovery and self.bottleneck != config.model.latent_dim:
            raise ConfigError(
                f"began.latent_recovery needs began.bottleneck ({self.bottleneck}) equal to "
                f"model.latent_dim ({config.model.latent_dim}): the encoder recovers latents")
        if config.model.n_critic not in (None, 1):
            raise ConfigError(f"model.n_critic must be 1 for BEGAN (simultaneous updates), "
                              f"got {config.model.n_critic}")


def _build_networks(config, examples, architecture):
    """BEGAN's generator and auto-encoder discriminator (an MLP one for vectors)."""
    model, options = config.model, config.family_options
    if architecture == "mlp":
        dim = examples.shape[-1]
        return (networks.build_mlp_generator(model.latent_dim, dim,
                                             hidden_units=model.hidden_units),
                networks.build_mlp_autoencoder(dim, hidden_units=model.hidden_units,
                                               bottleneck=options.bottleneck))
    resolution, _, channels = examples.shape
    return (networks.build_began_generator(model.latent_dim, resolution, channels,
                                           filters=model.g_filters),
            networks.build_began_discriminator(resolution, channels, filters=model.d_filters,
                                               bottleneck=options.bottleneck))


def _callbacks(config):
    from tfgan_stable.callbacks import BeganEquilibrium

    options = config.family_options
    return [BeganEquilibrium(gamma=options.gamma, lambda_k=options.lambda_k,
                             decay_patience=options.decay_patience,
                             decay_factor=options.decay_factor,
                             min_learning_rate=options.min_learning_rate)]


FAMILY = family.register(family.Family(
    "began", BEGAN, BEGANOptions,
    gan_kwargs=lambda o: {"gamma": o.gamma, "lambda_k": o.lambda_k,
                          "reconstruction_norm": o.reconstruction_norm,
                          "latent_recovery": o.latent_recovery},
    architectures=("began", "mlp"), build_networks=_build_networks, callbacks=_callbacks))
