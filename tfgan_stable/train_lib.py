"""Config -> data, networks, GAN -> ``fit`` -> SavedModel export.

Everything the ``tfgan-train`` binary does lives here so that it can be
imported and tested; the binary only parses flags.

A workdir holds one run::

    <workdir>/config.yaml        the resolved config
    <workdir>/backup/            keras.callbacks.BackupAndRestore (resume state)
    <workdir>/samples/           PNG sample grids, one per epoch
    <workdir>/logs/              TensorBoard scalars and sample images
    <workdir>/export.json        where the finished run was exported
"""

import dataclasses
import json
import math
import os
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from tfgan_stable import callbacks as callbacks_lib
from tfgan_stable import config as config_lib
from tfgan_stable import data as data_lib
from tfgan_stable import export as export_lib
from tfgan_stable import registry, schedules

# Critic normalisation when model.d_normalization is null: WGAN-GP's penalty is
# per example, so its critic must not use batch norm (Gulrajani 2017, sec. 4).
DEFAULT_CRITIC_NORMALIZATION = {"dcgan": "batch", "wgan": "batch", "wgan_gp": "layer"}


@dataclasses.dataclass
class RunResult:
    """What a run produced."""

    model: keras.Model
    history: Optional[keras.callbacks.History]
    workdir: str
    export_path: Optional[str]
    samples_dir: str
    tensorboard_dir: str
    initial_epoch: int
    resumed: bool


def _log(message):
    print(f"[tfgan_stable] {message}", flush=True)


def resolve_architecture(config, examples):
    """``model.architecture``, or the family's default for this kind of data."""
    if config.model.architecture is not None:
        return config.model.architecture
    if config.model.family == "began":
        return "began"
    return "mlp" if examples.kind == "vector" else "dcgan"


def build_networks(config, examples):
    """``(generator, discriminator)`` for the configured architecture and data."""
    model_cfg = config.model
    architecture = resolve_architecture(config, examples)
    build_generator, build_discriminator = registry.get_architecture(architecture)
    needs = "vector" if architecture == "mlp" else "image"
    if examples.kind != needs:
        other = "mlp" if needs == "image" else "dcgan"
        raise ValueError(
            f"model.architecture={architecture!r} needs {needs} data, but data.name="
            f"{examples.name!r} gives {examples.kind}s of shape {examples.shape}; "
            f"use model.architecture={other}"
        )
    if architecture == "mlp":
        dim = int(np.prod(examples.shape))
        return (build_generator(model_cfg.latent_dim, dim, hidden_units=model_cfg.hidden_units),
                build_discriminator(dim, hidden_units=model_cfg.hidden_units))
    resolution, _, channels = examples.shape
    if architecture == "began":
        return (
            build_generator(model_cfg.latent_dim, resolution, channels,
                            filters=model_cfg.g_filters),
            build_discriminator(resolution, channels, filters=model_cfg.d_filters,
                                bottleneck=model_cfg.bottleneck),
        )
    return (
        build_generator(model_cfg.latent_dim, resolution, channels, filters=model_cfg.g_filters,
                        max_filters=model_cfg.max_filters,
                        normalization=model_cfg.g_normalization),
        build_discriminator(resolution, channels, filters=model_cfg.d_filters,
                            max_filters=model_cfg.max_filters,
                            normalization=(model_cfg.d_normalization
                                           or DEFAULT_CRITIC_NORMALIZATION[model_cfg.family])),
    )


def build_gan(config, examples):
    """Builds and compiles the GAN that ``config`` describes for ``examples``."""
    model_cfg = config.model
    gan_class = registry.get_gan_class(model_cfg.family)
    generator, discriminator = build_networks(config, examples)
    family_kwargs = {
        "wgan": {"clip_value": model_cfg.clip_value, "warmup": model_cfg.warmup},
        "wgan_gp": {"gp_weight": model_cfg.gp_weight},
        "began": {"gamma": model_cfg.gamma, "lambda_k": model_cfg.lambda_k,
                  "reconstruction_norm": model_cfg.reconstruction_norm},
    }.get(model_cfg.family, {})
    gan = gan_class(
        generator, discriminator, n_critic=model_cfg.n_critic,
        g_ema_decay=model_cfg.g_ema_decay, seed=config.train.seed, **family_kwargs,
    )
    opt = config.optimizer
    d_optimizer, g_optimizer = gan_class.default_optimizers(
        d_learning_rate=opt.d_learning_rate, g_learning_rate=opt.g_learning_rate,
        beta_1=opt.beta_1, beta_2=opt.beta_2,
    )
    gan.compile(
        d_optimizer=d_optimizer, g_optimizer=g_optimizer,
        steps_per_execution=config.train.steps_per_execution,
        jit_compile=config.train.jit_compile,
    )
    return gan


def family_callbacks(config):
    """Callbacks a family needs on top of the common ones."""
    if config.model.family == "began":
        opt = config.optimizer
        return [callbacks_lib.BeganEquilibrium(
            gamma=config.model.gamma, lambda_k=config.model.lambda_k,
            decay_patience=opt.decay_patience, decay_factor=opt.decay_factor,
            min_learning_rate=opt.min_learning_rate)]
    return []


def train_steps_for(config, n_critic):
    """Keras train steps that make ``train.steps`` generator updates."""
    if config.model.warmup:
        return schedules.wgan_train_steps(config.train.steps, n_critic)
    return config.train.steps


def default_export_name(config):
    return config.export.name or f"{config.model.family}_{config.data.name.split(':')[0]}"


def _fixed_latent(config, gan, count):
    rng = np.random.default_rng(config.train.seed + 12345)
    return gan.latent_numpy(rng, count, gan.latent_dim)


def run(config, workdir, extra_callbacks=(), strategy=None):
    """Trains the GAN ``config`` describes in ``workdir`` and exports it.

    Rerunning with the same workdir resumes from the last epoch's backup; a
    finished run is not trained or exported again.

    Args:
      config: a validated :class:`tfgan_stable.config.Config`.
      workdir: the run folder (created if needed).
      extra_callbacks: more Keras callbacks for ``fit``.
      strategy: a ``tf.distribute.Strategy``; default: the current one.

    Returns:
      A :class:`RunResult`.
    """
    config = config.validate()
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(config.train.seed)
    # Load the data before writing anything: a bad source leaves no trace.
    examples = data_lib.load_examples(
        config.data.name, path=config.data.path, resolution=config.data.resolution,
        num_samples=config.data.num_samples, seed=config.train.seed,
    )
    with strategy.scope():
        gan = build_gan(config, examples)
    dataset = data_lib.make_dataset(
        examples, config.train.batch_size, n_critic=gan.n_critic, seed=config.train.seed,
        shuffle_buffer=config.data.shuffle_buffer,
    )

    os.makedirs(workdir, exist_ok=True)
    config_lib.save(config, os.path.join(workdir, "config.yaml"))
    backup_dir = os.path.join(workdir, "backup")
    samples_dir = os.path.join(workdir, "samples")
    tensorboard_dir = os.path.join(workdir, "logs")
    resumed = os.path.exists(os.path.join(backup_dir, "latest.weights.h5"))
    if resumed:
        _log(f"resuming from the backup in {backup_dir}")

    fit_steps = train_steps_for(config, gan.n_critic)
    steps_per_epoch = min(config.train.steps_per_epoch, fit_steps)
    epochs = math.ceil(fit_steps / steps_per_epoch)
    grid_count = (config.train.sample_grid_size ** 2 if examples.kind == "image"
                  else 1024)
    reference = (data_lib.sample_mixture(config.data.name, 2000, seed=1)
                 if config.data.name in data_lib.MIXTURE_STD else None)
    sample_grid = callbacks_lib.SampleGrid(
        samples_dir, _fixed_latent(config, gan, grid_count),
        tensorboard_dir=os.path.join(tensorboard_dir, "samples"), reference=reference,
    )
    callbacks = [
        keras.callbacks.BackupAndRestore(backup_dir, delete_checkpoint=False,
                                         double_checkpoint=True),
        callbacks_lib.StopAtGeneratorStep(config.train.steps),
        keras.callbacks.TerminateOnNaN(),
        *family_callbacks(config),  # before TensorBoard: they may add to the logs
        keras.callbacks.TensorBoard(tensorboard_dir, update_freq="epoch",
                                    write_graph=False),
        sample_grid,
        *extra_callbacks,
    ]
    history = gan.fit(
        dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, callbacks=callbacks,
        verbose=config.train.verbose, shuffle=False,
    )
    initial_epoch = history.epoch[0] if history.epoch else epochs
    done = int(keras.ops.convert_to_numpy(gan.generator_steps))
    if done < config.train.steps:
        raise RuntimeError(
            f"training stopped at generator step {done} of train.steps="
            f"{config.train.steps} (non-finite loss or a callback stopped it); "
            "nothing was exported, the last good backup is in " + backup_dir
        )
    _log(f"trained {done} generator steps; sample grids in {samples_dir}, "
         f"TensorBoard logs in {tensorboard_dir}")

    export_path = None
    record = os.path.join(workdir, "export.json")
    if config.export.enabled:
        previous = _read_json(record).get("path")
        if previous and os.path.isdir(previous):
            export_path = previous
            _log(f"already exported to {export_path}; not exporting again")
        else:
            export_path = export_lib.export_generator(
                gan.sampler, config.export.dir, default_export_name(config),
                metadata={
                    "family": config.model.family,
                    "data": config.data.name,
                    "kind": examples.kind,
                    "sample_shape": list(examples.shape),
                    "generator_steps": done,
                    "ema": gan.generator_ema is not None,
                    "latent_distribution": gan.latent_distribution,
                    "config": config.to_dict(),
                },
            )
            _write_json(record, {"path": export_path, "generator_steps": done})
            _log(f"exported the generator to {export_path}")
    return RunResult(gan, history, workdir, export_path, samples_dir, tensorboard_dir,
                     initial_epoch, resumed)


def _read_json(path):
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def _write_json(path, value):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2)
    os.replace(tmp, path)
