"""Config -> networks -> GAN: building what a config describes, for a given data source.

The family decides what is specific to it (:mod:`tfgan_stable.families`);
this module holds what every family shares.
"""

import math

import numpy as np

from tfgan_stable import packing, registry
from tfgan_stable.errors import ConfigError


def resolve_architecture(config, examples):
    """``model.architecture``, or the family's default for this kind of data."""
    if config.model.architecture is not None:
        return config.model.architecture
    if examples.kind == "vector":
        return "mlp"
    return (config.family.architectures or ("dcgan",))[0]


def build_networks(config, examples):
    """``(generator, discriminator)`` for the configured family, architecture and data."""
    model_cfg, family = config.model, config.family
    architecture = resolve_architecture(config, examples)
    needs = "vector" if architecture == "mlp" else "image"
    if examples.kind != needs:
        other = "mlp" if needs == "image" else (family.architectures or ("dcgan",))[0]
        raise ConfigError(
            f"model.architecture={architecture!r} needs {needs} data, but data.name="
            f"{examples.name!r} gives {examples.kind}s of shape {examples.shape}; "
            f"use model.architecture={other}"
        )
    if model_cfg.d_spectral_norm and architecture not in ("dcgan", "mlp"):
        raise ConfigError(f"model.d_spectral_norm: the library's {architecture!r} critic has "
                          "no spectral norm option (dcgan and mlp have)")
    num_classes = examples.num_classes if model_cfg.conditional else 0
    if model_cfg.conditional and not num_classes:
        raise ConfigError(f"model.conditional: data.name={examples.name!r} gave no labels "
                          "(set data.labels: inferred)")
    if num_classes and architecture not in ("dcgan", "resnet"):
        raise ConfigError(f"model.conditional: the {architecture!r} networks take no label; "
                          "use model.architecture dcgan or resnet")
    if config.augment.policy and examples.kind != "image":
        raise ConfigError(f"augment.policy={config.augment.policy!r}: differentiable "
                          f"augmentation is for images; data.name={examples.name!r} gives "
                          f"{examples.kind}s of shape {list(examples.shape)}")
    if family.build_networks is not None:
        return family.build_networks(config, examples, architecture)
    build_generator, build_discriminator = registry.get_architecture(architecture)
    # with model.pack > 1 the critic takes packs of samples joined along the channels
    critic_channels = packing.packed_shape(examples.shape, model_cfg.pack)[-1]
    if architecture == "mlp":
        dim = int(np.prod(examples.shape))
        return (build_generator(model_cfg.latent_dim, dim, hidden_units=model_cfg.hidden_units),
                build_discriminator(critic_channels, hidden_units=model_cfg.hidden_units,
                                    spectral_norm=model_cfg.d_spectral_norm))
    resolution, _, channels = examples.shape
    if architecture == "resnet":  # normalisation-free: no normalisation keys
        return (
            build_generator(model_cfg.latent_dim, resolution, channels,
                            filters=model_cfg.g_filters, max_filters=model_cfg.max_filters,
                            fast_layers=model_cfg.fast_layers, num_classes=num_classes),
            build_discriminator(resolution, critic_channels, filters=model_cfg.d_filters,
                                max_filters=model_cfg.max_filters,
                                fast_layers=model_cfg.fast_layers, num_classes=num_classes),
        )
    return (
        build_generator(model_cfg.latent_dim, resolution, channels, filters=model_cfg.g_filters,
                        max_filters=model_cfg.max_filters,
                        normalization=model_cfg.g_normalization,
                        fast_layers=model_cfg.fast_layers, num_classes=num_classes),
        build_discriminator(resolution, critic_channels, filters=model_cfg.d_filters,
                            max_filters=model_cfg.max_filters,
                            normalization=(model_cfg.d_normalization
                                           or family.critic_normalization),
                            spectral_norm=model_cfg.d_spectral_norm,
                            fast_layers=model_cfg.fast_layers, num_classes=num_classes),
    )


def build_gan(config, examples):
    """Builds and compiles the GAN that ``config`` describes for ``examples``."""
    model_cfg, family = config.model, config.family
    generator, discriminator = build_networks(config, examples)
    kwargs = {**family.gan_kwargs(config.family_options), **family.config_kwargs(config)}
    # Unset: the family's default (ProGAN: 0.999).
    for key in ("g_ema_decay", "g_ema_half_life_images", "g_ema_rampup"):
        if getattr(model_cfg, key) is not None:
            kwargs[key] = getattr(model_cfg, key)
    if config.augment.policy:
        aug = config.augment
        kwargs.update(augment=aug.policy, augment_probability=aug.probability,
                      augment_target=aug.target, augment_speed_images=aug.speed_images,
                      augment_interval=aug.interval)
    gan = family.gan_class(generator, discriminator, n_critic=model_cfg.n_critic,
                           pack=model_cfg.pack, r1_gamma=model_cfg.r1_gamma,
                           r2_gamma=model_cfg.r2_gamma, r_every=model_cfg.r_every,
                           class_names=(examples.class_names if model_cfg.conditional
                                        else None),
                           seed=config.train.seed, **kwargs)
    opt = config.optimizer
    d_optimizer, g_optimizer = family.gan_class.default_optimizers(
        d_learning_rate=opt.d_learning_rate, g_learning_rate=opt.g_learning_rate,
        beta_1=opt.beta_1, beta_2=opt.beta_2, name=opt.name,
        decay_updates=decay_updates(config, model_cfg.n_critic),
        decay=opt.decay, decay_floor=opt.decay_floor,
    )
    gan.compile(
        d_optimizer=d_optimizer, g_optimizer=g_optimizer,
        steps_per_execution=steps_per_execution(config, model_cfg.n_critic),
        jit_compile=config.train.jit_compile,
    )
    return gan


def decay_updates(config, n_critic):
    """``(critic updates, generator updates)`` of the run for ``optimizer.decay``.

    None when the learning rates are constant. A Keras train step makes
    ``n_critic`` critic updates (WGAN's warm-up included, see
    :func:`tfgan_stable.schedules.wgan_train_steps`) and at most one generator
    update, ``train.steps`` in all.
    """
    if config.optimizer.decay == "none":
        return None
    return train_steps_for(config, n_critic) * n_critic, config.train.steps


def train_steps_for(config, n_critic):
    """Keras train steps that make ``train.steps`` generator updates."""
    if config.family.train_steps is not None:
        return config.family.train_steps(config, n_critic)
    return config.train.steps


# The most train steps ``steps_per_execution: auto`` runs in one call: enough
# to bring fit within 3% of a plain tf.function loop for every family on the
# 2-core benchmark machine (bench/train_step_speed.py).
MAX_STEPS_PER_EXECUTION = 50


def steps_per_execution(config, n_critic):
    """``train.steps_per_execution``, with ``auto`` made concrete.

    ``auto`` is the largest count up to :data:`MAX_STEPS_PER_EXECUTION` that
    divides every period the run keeps (steps per epoch, the evaluation
    period, the length of each ``fit``), so that backups, sample grids,
    evaluations and ProGAN's stage ends still come exactly at their step:
    Keras runs callbacks once per execution and rounds an epoch up to whole
    executions.
    """
    value = config.train.steps_per_execution
    if value != "auto":
        return value
    train = config.train
    if train.strategy == "multi_worker":
        return 1  # Keras' multi-step loop fails under MultiWorkerMirroredStrategy
    lengths = (config.family.fit_lengths(config, n_critic) if config.family.fit_lengths
               else [train_steps_for(config, n_critic)])
    if not lengths:
        return 1
    period = math.gcd(*lengths, train.steps_per_epoch, train.eval_every)
    return max(count for count in range(1, MAX_STEPS_PER_EXECUTION + 1) if period % count == 0)


def batch_sizes(config):
    """The batch sizes a run uses (ProGAN: one per resolution)."""
    return config.batch_sizes()


def default_export_name(config):
    return config.export.name or f"{config.model.family}_{config.data.name.split(':')[0]}"
