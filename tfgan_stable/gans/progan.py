"""Progressive GAN (Karras, Aila, Laine, Lehtinen 2018, arXiv 1710.10196).

Everything ProGAN owns is reachable from here: the GAN and its Family spec
(this module), its networks (``ProgressiveGenerator`` /
``ProgressiveDiscriminator``, :mod:`tfgan_stable.networks.progan`) and their
layers (:mod:`tfgan_stable.networks.progan_layers`: equalised learning rate,
pixel norm, minibatch stddev), the growth in one call (``fit_progressive``,
:mod:`tfgan_stable.progressive`) and its callback (``ProgressiveGrowing``).
"""

import dataclasses
import os
from typing import Optional, Sequence

import keras
from keras import ops

from tfgan_stable import distribute, losses, penalties, progressive, schedules
from tfgan_stable import families as family
from tfgan_stable.callbacks.progressive import ProgressiveGrowing  # noqa: F401
from tfgan_stable.errors import ConfigError
from tfgan_stable.gans.base import GAN
from tfgan_stable.networks import progan_layers as layers
from tfgan_stable.networks.progan import (
    ProgressiveDiscriminator,
    ProgressiveGenerator,
    num_stages,
)
from tfgan_stable.progressive import fit_progressive  # noqa: F401


PAPER_EMA_DECAY = 0.999


@keras.saving.register_keras_serializable(package="tfgan_stable")
class ProGAN(GAN):
    """Progressive growing with fade-in, trained with WGAN-GP plus the drift term.

    The networks (:class:`ProgressiveGenerator`, :class:`ProgressiveDiscriminator`)
    hold every resolution's blocks; :meth:`start_stage` moves both (and the EMA
    generator) to a stage. Within a stage, each train step computes alpha from
    the images the stage has shown with :func:`schedules.progan_alpha` (so it
    is exact with ``steps_per_execution > 1``), assigns it to the networks, and
    fades the real images the same way: the blend of the batch and its
    down-sampled-then-up-sampled copy (sec. 2; a step many re-implementations
    miss). Defaults follow sec. 4 / appendix A: lambda 10, drift 0.001,
    n_critic 1, Adam(1e-3, 0, 0.99, eps 1e-8), generator EMA 0.999.

    Logs ``d_loss``, ``g_loss``, ``gp``, ``drift``, ``wasserstein_estimate``
    and the current ``alpha``.

    Args:
      generator: a :class:`ProgressiveGenerator`.
      discriminator: a :class:`ProgressiveDiscriminator` of the same resolution.
      transition_images: images over which alpha rises from 0 to 1.
      gp_weight: lambda.
      drift_weight: epsilon_drift on ``E[D(x)^2]``.
      g_ema_decay: decay of the generator EMA used for samples and export
        (None: the paper's 0.999 unless a half-life is given).
      g_ema_half_life_images: instead of ``g_ema_decay``, the average's
        half-life in images (:func:`tfgan_stable.schedules.ema_decay`). The
        images are counted per block from the stage that adds it, so with
        ``g_ema_rampup`` a new block's average restarts at its live weights
        and lengthens as the block trains, while older blocks keep their
        long horizon: an average that follows the resolution being learnt.
      g_ema_rampup: see ``g_ema_half_life_images``.
      **kwargs: see :class:`tfgan_stable.gans.base.GAN`.
    """

    family = "progan"
    supports_conditioning = False  # its own train step takes no labels
    supports_packing = False  # its own step and minibatch stddev layer score single samples
    default_n_critic = 1
    scores_are_relative = True  # a Wasserstein critic: only differences count
    default_g_ema_decay = PAPER_EMA_DECAY
    extra_metric_names = ("gp", "drift", "wasserstein_estimate")
    default_learning_rate = 1e-3
    default_betas = (0.0, 0.99)
    optimizer_options = {"epsilon": 1e-8}

    def __init__(self, generator, discriminator, transition_images=600_000, gp_weight=10.0,
                 drift_weight=0.001, g_ema_decay=None, **kwargs):
        if not isinstance(generator, ProgressiveGenerator):
            raise TypeError(f"ProGAN.generator must be a ProgressiveGenerator, "
                            f"got {type(generator).__name__}")
        if not isinstance(discriminator, ProgressiveDiscriminator):
            raise TypeError(f"ProGAN.discriminator must be a ProgressiveDiscriminator, "
                            f"got {type(discriminator).__name__}")
        if generator.resolution != discriminator.resolution:
            raise ValueError(f"ProGAN: generator resolution {generator.resolution} != "
                             f"discriminator resolution {discriminator.resolution}")
        kwargs.setdefault("latent_dim", generator.latent_dim)
        if g_ema_decay is None and kwargs.get("g_ema_half_life_images") is None:
            g_ema_decay = self.default_g_ema_decay
        super().__init__(generator, discriminator, g_ema_decay=g_ema_decay, **kwargs)
        if self.n_critic != 1:
            raise ValueError(f"ProGAN.n_critic must be 1, got {self.n_critic}")
        if transition_images < 1:
            raise ValueError(f"ProGAN.transition_images must be >= 1, got {transition_images}")
        self.transition_images = int(transition_images)
        self.gp_weight, self.drift_weight = float(gp_weight), float(drift_weight)
        self.stage_images_seen = keras.Variable(
            0, dtype="int64", trainable=False, name="stage_images_seen",
            aggregation="only_first_replica")
        # Images each block has trained on (from the stage that adds it): the
        # clock of its weight average under a half-life schedule.
        self.block_images_seen = keras.Variable(
            [0] * generator.num_stages, dtype="int64", trainable=False,
            name="block_images_seen", aggregation="only_first_replica")
        self._weight_blocks = _weight_blocks(generator)
        self._downsample = layers.downsample()
        self._upsample = layers.upsample()
        # Built now: under a strategy Keras traces an unbuilt model symbolically first.
        self._upsample.build((None, None, None, generator.channels))

    @property
    def stage(self):
        return self.generator.stage

    @property
    def num_stages(self):
        return self.generator.num_stages

    def _networks(self):
        return [n for n in (self.generator, self.discriminator, self.generator_ema) if n]

    def set_stage(self, stage):
        """Points every network at ``stage`` (restored state keeps its images seen)."""
        for network in self._networks():
            network.set_stage(stage)
        self.sample_shape = tuple(self.generator.compute_output_shape((None, self.latent_dim))[1:])
        # Each stage is traced anew: the networks' depth is fixed per trace.
        self.train_function = self.test_function = self.predict_function = None

    def start_stage(self, stage, reset_optimizers=True):
        """Begins ``stage`` from its first image; optionally zeroes Adam's moments."""
        self.set_stage(stage)
        self.stage_images_seen.assign(0)
        alpha = float(schedules.progan_alpha(0, stage, self.transition_images))
        for network in self._networks():
            network.alpha.assign(alpha)
        if reset_optimizers:
            for optimizer in (self.d_optimizer, self.g_optimizer):
                reset_optimizer_state(optimizer)

    def fade_real(self, real, alpha):
        """Blends real images with their half-resolution version, as the generator is."""
        if self.stage == 0:
            return real
        low = ops.cast(self._upsample(self._downsample(real)), real.dtype)
        return low + (real - low) * ops.cast(alpha, real.dtype)

    def discriminator_loss(self, real, fake, real_output, fake_output):
        penalty, grad_norm = penalties.gradient_penalty(
            self.discriminator, real, fake, alpha=self.interpolation_alpha(ops.shape(real)[0]))
        drift = ops.mean(ops.square(real_output))
        loss = (losses.wasserstein_critic_loss(real_output, fake_output)
                + self.gp_weight * penalty + self.drift_weight * drift)
        return loss, {"gp": penalty, "drift": drift,
                      "wasserstein_estimate": losses.wasserstein_estimate(real_output,
                                                                          fake_output)}

    def generator_loss(self, fake_output):
        return losses.wasserstein_generator_loss(fake_output), {}

    def train_step(self, data):
        (real,) = self.critic_real_batches(data)
        alpha = schedules.progan_alpha(self.stage_images_seen, self.stage, self.transition_images)
        alpha = ops.convert_to_tensor(alpha, "float32")
        for network in self._networks():
            network.alpha.assign(alpha)
        real = self.fade_real(real, alpha)
        self._critic_step(real)
        self._generator_step(ops.shape(real)[0])
        global_batch = ops.cast(ops.shape(real)[0], "int64") * distribute.num_replicas()
        self.stage_images_seen.assign_add(global_batch)
        in_use = [1 if block <= self.stage else 0 for block in range(self.num_stages)]
        self.block_images_seen.assign_add(global_batch * ops.convert_to_tensor(in_use, "int64"))
        return self.finish_step(alpha=alpha)

    def ema_decays(self, batch_size):
        """Under a half-life, each weight's decay follows its own block's images."""
        if self.g_ema_half_life_images is None:
            return super().ema_decays(batch_size)
        global_batch = ops.cast(batch_size, "int64") * distribute.num_replicas()
        per_block = [schedules.ema_decay(global_batch, self.block_images_seen[block],
                                         self.g_ema_half_life_images, self.g_ema_rampup)
                     for block in range(self.num_stages)]
        return [per_block[block] for block in self._weight_blocks]

    def evaluation_losses(self, real):
        """The losses on real images faded like training's at the current alpha."""
        return super().evaluation_losses(self.fade_real(real, self.generator.alpha))

    def export_network(self):
        return self.final_generator()

    def final_generator(self):
        """A functional model of the (EMA) generator at its full resolution, alpha 1."""
        return self.generator_at(self.num_stages - 1)

    def generator_at(self, stage):
        """A functional model of the (EMA) generator at ``stage`` with alpha 1 (for export)."""
        z = keras.Input((self.latent_dim,), name="z")
        images = FixedStage(self.sampler, stage)(z)
        resolution = 4 * 2**stage
        return keras.Model(z, images, name=f"generator_{resolution}x{resolution}")

    def get_config(self):
        return {**super().get_config(), "transition_images": self.transition_images,
                "gp_weight": self.gp_weight, "drift_weight": self.drift_weight,
                "stage": self.stage}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        stage = config.pop("stage", None)
        gan = super().from_config(config)
        if stage is not None:  # alpha and the images seen are variables, restored with them
            gan.set_stage(stage)
        return gan


@keras.saving.register_keras_serializable(package="tfgan_stable")
class FixedStage(keras.layers.Layer):
    """Calls a progressive network at a fixed stage with alpha 1, whatever its own stage."""

    def __init__(self, network, stage, **kwargs):
        super().__init__(**kwargs)
        self.network, self.fixed_stage = network, int(stage)

    def call(self, inputs):
        current = self.network.stage
        self.network.set_stage(self.fixed_stage)
        try:
            return self.network(inputs, alpha=1.0)
        finally:
            self.network.set_stage(current)

    def compute_output_shape(self, input_shape):
        resolution = 4 * 2**self.fixed_stage
        return (input_shape[0], resolution, resolution, self.network.channels)

    def get_config(self):
        return {**super().get_config(), "stage": self.fixed_stage,
                "network": keras.saving.serialize_keras_object(self.network)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        network = keras.saving.deserialize_keras_object(config.pop("network"))
        return cls(network, config.pop("stage"), **config)


def _weight_blocks(generator):
    """The block (stage) of each of ``generator.weights``: 0 for the 4x4 head."""
    owner = {}
    for stage in range(generator.num_stages):
        for layer in [*generator.blocks[stage], generator.to_rgb[stage]]:
            for weight in layer.weights:
                owner[id(weight)] = stage
    return [owner.get(id(weight), 0) for weight in generator.weights]


def reset_optimizer_state(optimizer):
    """Zeroes an optimizer's slots and step count, keeping its learning rate."""
    for variable in optimizer.variables:
        if variable.name != "learning_rate":
            variable.assign(ops.zeros(variable.shape, variable.dtype))


@dataclasses.dataclass(frozen=True)
class ProGANOptions:
    """The ``progan:`` config section.

    ``fmap_base`` (with ``model.max_filters`` as the cap), images per phase
    (``transition_images`` fade-in, ``stable_images`` at alpha 1;
    ``final_stable_images``, null for ``stable_images``, at the last resolution),
    ``batch_sizes`` (one per resolution from 4x4; empty: ``train.batch_size``),
    ``learning_rates`` (one per resolution from 4x4 for both networks; empty:
    ``optimizer``'s rates at every resolution), the penalty and drift weights,
    ``mbstd_group_size`` and ``reset_optimizers`` (zero Adam's moments at each new
    resolution). ProGAN's length is its schedule: ``train.steps`` is not used.
    """

    fmap_base: int = 8192
    transition_images: int = 600_000
    stable_images: int = 600_000
    final_stable_images: Optional[int] = None
    batch_sizes: Sequence[int] = ()
    learning_rates: Sequence[float] = ()
    gp_weight: float = 10.0
    drift_weight: float = 0.001
    mbstd_group_size: int = 4
    reset_optimizers: bool = True

    def check(self, config):
        if config.optimizer.decay != "none":
            raise ConfigError(
                f"optimizer.decay={config.optimizer.decay!r} does not apply to "
                "model.family='progan': its optimizers restart their step count at each "
                "resolution (progan.reset_optimizers); use optimizer.decay=none")
        stages = num_stages(config.data.resolution)  # 4x4 -> 1 stage, 8x8 -> 2, ...
        if self.batch_sizes and len(self.batch_sizes) != stages:
            raise ConfigError(
                f"progan.batch_sizes needs one batch size per resolution from 4x4 to "
                f"{config.data.resolution} ({stages} values), got {list(self.batch_sizes)}")
        if self.batch_sizes and min(self.batch_sizes) < 1:
            raise ConfigError(f"progan.batch_sizes must be positive, "
                              f"got {list(self.batch_sizes)}")
        if self.learning_rates and len(self.learning_rates) != stages:
            raise ConfigError(
                f"progan.learning_rates needs one learning rate per resolution from 4x4 to "
                f"{config.data.resolution} ({stages} values), got {list(self.learning_rates)}")
        if self.learning_rates and min(self.learning_rates) <= 0:
            raise ConfigError(f"progan.learning_rates must be positive, "
                              f"got {list(self.learning_rates)}")
        for field in ("transition_images", "stable_images", "final_stable_images", "fmap_base",
                      "mbstd_group_size"):
            if getattr(self, field) is not None and getattr(self, field) < 1:
                raise ConfigError(f"progan.{field} must be >= 1, got {getattr(self, field)}")
        if self.gp_weight < 0:
            raise ConfigError(f"progan.gp_weight must be >= 0, got {self.gp_weight}")
        if config.model.n_critic not in (None, 1):
            raise ConfigError(f"model.n_critic must be 1 for ProGAN, got {config.model.n_critic}")


def _build_networks(config, examples, architecture):
    del architecture  # always "progan"
    model, options = config.model, config.family_options
    resolution, _, channels = examples.shape
    sizes = dict(fmap_base=options.fmap_base, fmap_max=model.max_filters)
    return (ProgressiveGenerator(model.latent_dim, resolution, channels, **sizes),
            ProgressiveDiscriminator(resolution, channels,
                                     mbstd_group_size=options.mbstd_group_size, **sizes))


def _batch_sizes(config):
    stages = num_stages(config.data.resolution)
    return list(config.family_options.batch_sizes) or [config.train.batch_size] * stages


def _fit(gan, examples, config, workdir, state_callbacks, common_callbacks):
    """:func:`tfgan_stable.progressive.fit_progressive` with the config's schedule.

    Finished stages and the stage in progress are kept in ``<workdir>/backup``;
    TensorBoard logs in ``<workdir>/logs/stage_<s>``.
    """

    options = config.family_options

    def callbacks(stage):
        return [*common_callbacks, keras.callbacks.TensorBoard(
            os.path.join(workdir, "logs", f"stage_{stage}"), update_freq="epoch",
            write_graph=False)]

    histories = progressive.fit_progressive(
        gan, examples, options.stable_images, transition_images=options.transition_images,
        batch_sizes=_batch_sizes(config), final_stable_images=options.final_stable_images,
        learning_rates=list(options.learning_rates) or None, callbacks=callbacks,
        state_callbacks=state_callbacks,
        backup_dir=os.path.join(workdir, "backup"),
        steps_per_epoch=config.train.steps_per_epoch,
        reset_optimizers=options.reset_optimizers, seed=config.train.seed,
        shuffle_buffer=config.data.shuffle_buffer, verbose=config.train.verbose)
    if not histories:
        return None, 0
    return histories[-1], (histories[-1].epoch or [0])[0]


def stage_images(config):
    """Images of each stage, 4x4 first, under a config's ``progan:`` schedule."""
    options = config.family_options
    return schedules.progan_stage_images(num_stages(config.data.resolution),
                                         options.transition_images, options.stable_images,
                                         options.final_stable_images)


def _fit_lengths(config, n_critic):
    """One ``fit`` per stage: the train steps that show its images."""
    return schedules.progan_stage_steps(stage_images(config), _batch_sizes(config))


FAMILY = family.register(family.Family(
    "progan", ProGAN, ProGANOptions,
    gan_kwargs=lambda o: {"transition_images": o.transition_images,
                          "gp_weight": o.gp_weight, "drift_weight": o.drift_weight},
    architectures=("progan",), critic_normalization="none", build_networks=_build_networks,
    fit=_fit, batch_sizes=_batch_sizes, fit_lengths=_fit_lengths))
