"""The run: config -> data, GAN (:mod:`tfgan_stable.build`) -> ``fit`` -> SavedModel export.

Everything the ``tfgan-train`` binary does lives here so that it can be
imported and tested; the binary only parses flags.

A workdir holds one run::

    <workdir>/config.yaml        the resolved config
    <workdir>/backup/            the training state at the last epoch end (resume)
    <workdir>/samples/           PNG sample grids, one per epoch
    <workdir>/logs/              TensorBoard scalars and sample images
    <workdir>/export.json        the newest export and the steps it holds
    <workdir>/.lock              held by the process training in the workdir

(see :mod:`tfgan_stable.workdir`).
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
from tfgan_stable import distribute, fast, hardware, log, memory
from tfgan_stable import build
from tfgan_stable import workdir as workdir_lib
from tfgan_stable.errors import ConfigError
from tfgan_stable.build import (  # noqa: F401  (public names of train_lib)
    batch_sizes,
    build_gan,
    build_networks,
    default_export_name,
    resolve_architecture,
    train_steps_for,
)

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


def evaluation_callbacks(config, examples, tensorboard_dir):
    """A :class:`PeriodicEvaluation` when ``train.eval_every`` > 0."""
    if not config.train.eval_every:
        return []
    from tfgan_stable import metrics

    if examples.num_classes and examples.kind == "image":
        # colour and labels: the data set's own classifier's features (metrics.labelled_suite)
        images, labels = data_lib.labelled_arrays(examples, seed=config.train.seed)
        suite = metrics.labelled_suite(
            images, labels, examples.class_names,
            metrics.labelled_classifier_name(config.data.name, config.data.resolution),
            conditional=config.model.conditional, names=config.train.eval_metrics or None,
            seed=config.train.seed)
        real = images[:config.train.eval_samples]
    else:
        real = data_lib.sample_examples(examples, config.train.eval_samples, config.train.seed)
        suite = metrics.evaluation_suite(config.data.name, real,
                                         names=config.train.eval_metrics or None,
                                         seed=config.train.seed)
    return [callbacks_lib.PeriodicEvaluation(
        suite, config.train.eval_every, num_samples=len(real),
        log_dir=os.path.join(tensorboard_dir, "eval"), seed=config.train.seed)]


def _fixed_latent(config, gan, count):
    rng = np.random.default_rng(config.train.seed + 12345)
    return gan.latent_numpy(rng, count, gan.latent_dim)


def run(config, workdir, extra_callbacks=(), strategy=None):
    """Trains the GAN ``config`` describes in ``workdir`` and exports it.

    Rerunning with the same workdir resumes from the last backup; a rerun
    with ``train.steps`` raised trains on and exports a new version, and a
    finished, exported run is neither trained nor exported again. A workdir
    belongs to one run: a config that differs in a key that shapes the weights
    is refused (see :mod:`tfgan_stable.workdir`), as is a workdir another
    process is training in. Everything that can be checked (folders writable,
    data decodable and finite, memory) is checked before anything is written.
    ProGAN runs one ``fit`` per resolution (see :mod:`tfgan_stable.progressive`). In a
    multi-worker cluster every worker runs this with the same arguments; the
    chief owns ``workdir`` and the export, the other workers keep theirs in
    ``<workdir>/workers/<task>/``.

    Args:
      config: a validated :class:`tfgan_stable.config.Config`.
      workdir: the run folder (created if needed).
      extra_callbacks: more Keras callbacks for ``fit``.
      strategy: a ``tf.distribute.Strategy``; default: the one ``train.strategy``
        names.

    Returns:
      A :class:`RunResult`.

    Raises:
      ConfigError: a user error, found before anything was written.
    """
    config = config.validate()
    train_cfg = config.train
    if train_cfg.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy = strategy or distribute.make_strategy(train_cfg.strategy, train_cfg.devices,
                                                    train_cfg.tpu)
    if not distribute.is_chief(strategy):
        workdir = os.path.join(workdir, "workers", distribute.worker_name(strategy))
        config = dataclasses.replace(config, export=dataclasses.replace(
            config.export, dir=os.path.join(workdir, "export")))
    config = resolve_precision(config, workdir, strategy)
    config = resolve_fast_layers(config, strategy, workdir)
    config = resolve_steps_per_execution(config)
    workdir_lib.check(config.to_dict(), workdir,
                      config.export.dir if config.export.enabled else None)
    _check_backups(config, workdir)  # reads only: a refusal leaves the workdir as it was
    with distribute.mixed_precision(config.train.mixed_precision):
        return _run(config, workdir, extra_callbacks, strategy)


def resolve_precision(config, workdir=None, strategy=None):
    """``train.mixed_precision: auto`` made concrete: the resumed run's (when
    ``workdir`` holds one), else the hardware's."""
    setting = config.train.mixed_precision
    if setting != "auto":
        return config
    stored = workdir_lib.stored_config(workdir) if workdir else None
    if stored is not None:
        policy = (stored.get("train") or {}).get("mixed_precision")
        reason = f"the precision the run in {workdir} started with"
    else:
        policy, reason = hardware.auto_precision(strategy)
    log.info(f"train.mixed_precision=auto: {policy or 'float32'} ({reason})")
    return dataclasses.replace(config, train=dataclasses.replace(config.train,
                                                                 mixed_precision=policy))


def resolve_fast_layers(config, strategy=None, workdir=None):
    """``model.fast_layers: auto`` made concrete: the resumed run's (when ``workdir``
    holds one: a backup names its layers by class, so a resume builds the same),
    else for the run's precision and devices (:func:`tfgan_stable.fast.resolve`)."""
    if config.model.fast_layers != "auto":
        return config
    stored = workdir_lib.stored_config(workdir) if workdir else None
    if stored is not None:
        setting = (stored.get("model") or {}).get(
            "fast_layers", workdir_lib.BEFORE_THE_KEY["model.fast_layers"])
    else:
        setting = "auto"
    if setting not in ("on", "off"):
        use = fast.resolve("auto", policy=config.train.mixed_precision or "float32",
                           devices=fast.devices_of(strategy))
        setting = "on" if use else "off"
    return dataclasses.replace(config, model=dataclasses.replace(
        config.model, fast_layers=setting))


def resolve_steps_per_execution(config):
    """``train.steps_per_execution: auto`` made concrete (:func:`build.steps_per_execution`)."""
    if config.train.steps_per_execution != "auto":
        return config
    count = build.steps_per_execution(config, config.model.n_critic)
    return dataclasses.replace(config, train=dataclasses.replace(
        config.train, steps_per_execution=count))


def _run(config, workdir, extra_callbacks, strategy):
    keras.utils.set_random_seed(config.train.seed)
    # Load and check the data before writing anything: a bad source leaves no trace.
    examples = data_lib.load_examples(
        config.data.name, path=config.data.path, resolution=config.data.resolution,
        num_samples=config.data.num_samples, seed=config.train.seed,
        channels=config.data.channels, labels=config.data.labels,
        background=config.data.background,
    )
    if examples.num_classes and config.family.fit is not None:  # ProGAN's own pipelines
        examples = data_lib.without_labels(examples)
    # the architecture a null picks depends on the data: resolved once it is loaded
    config = dataclasses.replace(config, model=dataclasses.replace(
        config.model, architecture=resolve_architecture(config, examples)))
    largest = max(batch_sizes(config))
    if examples.num_examples is not None and examples.num_examples < largest:
        raise ConfigError(f"the batch size {largest} (train.batch_size, or progan.batch_sizes) "
                          f"is larger than the {examples.num_examples} examples of "
                          f"data.name={examples.name!r}")
    with strategy.scope():
        gan = build_gan(config, examples)
    step_batch = largest
    if hasattr(gan, "set_stage"):  # a growing GAN: its largest stage, at that stage's batch
        gan.set_stage(gan.num_stages - 1)
        step_batch = batch_sizes(config)[-1]
    memory.check_fits(
        gan.generator, gan.discriminator, step_batch, config.model.latent_dim, examples.shape,
        f"data.resolution={config.data.resolution} ({examples.name}, shape "
        f"{list(examples.shape)}) with a batch of {step_batch}", pack=config.model.pack,
        gradient_penalty=(getattr(config.family_options, "gp_weight", 0) > 0
                          or config.model.r1_gamma > 0 or config.model.r2_gamma > 0),
        real_batches=config.model.n_critic)

    with workdir_lib.Lock(workdir):
        workdir_lib.check_fingerprint(config.to_dict(), workdir)  # again, under the lock
        config_lib.save(config, os.path.join(workdir, workdir_lib.CONFIG_FILE))
        if examples.num_classes:
            workdir_lib.write_classes(workdir, examples.class_names, examples.class_counts)
        try:
            return _train_and_export(gan, examples, config, workdir, extra_callbacks)
        except KeyboardInterrupt:
            from tfgan_stable.errors import Interrupted

            raise Interrupted(int(keras.ops.convert_to_numpy(gan.generator_steps))) from None


def _check_backups(config, workdir):
    """Checks every backup file against its checksum (ConfigError naming a damaged one)
    and refuses a ``train.steps`` below the generator steps already trained."""
    backup_dir = os.path.join(workdir, "backup")
    entries = callbacks_lib.backup.verify_tree(backup_dir)
    if config.family.fit is not None:  # ProGAN: its schedule, not train.steps, sets the length
        return
    state = entries.get(os.path.join(backup_dir, callbacks_lib.Backup.FILENAME)) or {}
    trained = max(state.get("generator_steps") or 0,
                  workdir_lib.read_export_record(workdir).get("generator_steps") or 0)
    if config.train.steps < trained:
        raise ConfigError(
            f"train.steps={config.train.steps} is below the {trained} generator steps the run "
            f"in {workdir!r} has already trained; nothing was changed: rerun with "
            f"train.steps >= {trained}, or use a new workdir for a shorter run")


def _train_and_export(gan, examples, config, workdir, extra_callbacks):
    backup_dir = os.path.join(workdir, "backup")
    samples_dir = os.path.join(workdir, "samples")
    tensorboard_dir = os.path.join(workdir, "logs")
    resumed = os.path.exists(backup_dir)
    if resumed:
        log.info(f"resuming from the backup in {backup_dir}")
    callbacks_lib.backup.remove_stale_partials(workdir)  # killed writers' (dead pids) only
    size = config.train.sample_grid_size
    grid_count = size ** 2 if examples.kind == "image" else 1024
    grid_labels = None
    if gan.num_classes:  # one row per class, sample_grid_size samples each
        grid_count = gan.num_classes * size
        grid_labels = np.repeat(np.arange(gan.num_classes), size)
    reference = (data_lib.sample_mixture(config.data.name, 2000, seed=1)
                 if config.data.name in data_lib.MIXTURE_STD else None)
    # Callbacks that change the training state run before the backup is written.
    state_callbacks = config.family.callbacks(config)
    common_callbacks = [
        *evaluation_callbacks(config, examples, tensorboard_dir),
        callbacks_lib.SampleGrid(
            samples_dir, _fixed_latent(config, gan, grid_count),
            tensorboard_dir=os.path.join(tensorboard_dir, "samples"), reference=reference,
            labels=grid_labels, columns=size if grid_labels is not None else None),
        *extra_callbacks,
    ]
    if config.family.fit is not None:
        history, initial_epoch = config.family.fit(gan, examples, config, workdir,
                                                   state_callbacks, common_callbacks)
    else:
        history, initial_epoch = _fit(gan, examples, config, backup_dir, tensorboard_dir,
                                      state_callbacks, common_callbacks)
    done = int(keras.ops.convert_to_numpy(gan.generator_steps))
    log.info(f"trained {done} generator steps; sample grids in {samples_dir}, "
             f"TensorBoard logs in {tensorboard_dir}")
    export_path = _export(gan, config, examples, workdir, done)
    return RunResult(gan, history, workdir, export_path, samples_dir, tensorboard_dir,
                     initial_epoch, resumed)


def _fit(gan, examples, config, backup_dir, tensorboard_dir, state_callbacks,
         common_callbacks):
    """One ``fit`` for ``train.steps`` generator steps; returns (history, initial epoch).

    A backup in ``backup_dir`` is loaded first; its train-step count gives the
    epoch to continue from and the data element to continue at, so a resumed
    run sees the batches an uninterrupted one would have seen.
    """
    callbacks_lib.Backup.restore(gan, backup_dir)
    start = int(keras.ops.convert_to_numpy(gan.train_steps))
    dataset = data_lib.make_dataset(
        examples, config.train.batch_size, n_critic=config.model.n_critic, seed=config.train.seed,
        shuffle_buffer=config.data.shuffle_buffer, start=start,
        class_balanced=config.data.class_balanced,
    )
    if examples.num_classes and not gan.num_classes:  # labels for the sampling only
        dataset = data_lib.drop_labels(dataset, examples.name)
    fit_steps = train_steps_for(config, config.model.n_critic)
    steps_per_epoch = min(config.train.steps_per_epoch, fit_steps)
    epochs = math.ceil(fit_steps / steps_per_epoch)
    callbacks = [
        callbacks_lib.StopOnNonFiniteLoss(),  # first: raises before the backup is written
        callbacks_lib.StopAtGeneratorStep(config.train.steps),
        *state_callbacks,
        callbacks_lib.Backup(backup_dir),
        *common_callbacks,
        # last: sees what the others added to the logs
        keras.callbacks.TensorBoard(tensorboard_dir, update_freq="epoch", write_graph=False),
    ]
    initial_epoch = start // steps_per_epoch
    history = gan.fit(dataset, epochs=epochs, initial_epoch=initial_epoch,
                      steps_per_epoch=steps_per_epoch, callbacks=callbacks,
                      verbose=config.train.verbose, shuffle=False)
    done = int(keras.ops.convert_to_numpy(gan.generator_steps))
    if done < config.train.steps:
        raise RuntimeError(
            f"training stopped at generator step {done} of train.steps="
            f"{config.train.steps} (non-finite loss or a callback stopped it); "
            "nothing was exported, the last good backup is in " + backup_dir
        )
    return history, initial_epoch


def _export(gan, config, examples, workdir, done):
    """Exports the trained state unless the newest export already holds it.

    Returns the version path (None when export is disabled).
    """
    if not config.export.enabled:
        return None
    name = default_export_name(config)
    model_dir = os.path.join(config.export.dir, name)
    record = workdir_lib.read_export_record(workdir)
    if (record and record.get("generator_steps") == done and os.path.isdir(record["path"])
            and _same_path(os.path.dirname(record["path"]), model_dir)):
        log.info(f"{record['path']} already holds these {done} generator steps; "
                 "not exporting again")
        return record["path"]
    if not record:  # export.json lost: the newest version may hold this very run
        holder = _export_of_this_run(model_dir, config, done)
        if holder:
            workdir_lib.write_export_record(workdir, holder, done)
            log.info(f"{holder} already holds these {done} generator steps of this run "
                     f"(its record in {workdir} was missing, now rewritten); not exporting again")
            return holder
    # the config was resolved before the run (family defaults, architecture, precision)
    settings = export_lib.gan_metadata(gan)
    config_dict = config.to_dict()
    metadata = {
        **settings,
        "family": config.model.family,
        "data": config.data.name,
        "kind": examples.kind,
        "sample_shape": list(examples.shape),
        "generator_steps": done,
        "config": config_dict,
    }
    generator = gan.export_network()
    options = dict(latent_distribution=gan.latent_distribution,
                   max_batch=config.export.max_batch)
    export_path = export_lib.export_generator(generator, config.export.dir, name,
                                              metadata=metadata, **options)
    resolutions = {}
    if config.export.all_resolutions and hasattr(gan, "generator_at"):
        for stage in range(gan.num_stages - 1):
            r = 4 * 2**stage
            resolutions[f"{r}x{r}"] = export_lib.export_generator(
                gan.generator_at(stage), config.export.dir, f"{name}_{r}x{r}",
                metadata={**metadata, "sample_shape": [r, r, examples.shape[-1]]}, **options)
    workdir_lib.write_export_record(workdir, export_path, done, resolutions)
    log.info(f"exported the generator to {export_path}")
    return export_path


def _export_of_this_run(model_dir, config, done):
    """The newest version in ``model_dir`` if its metadata holds ``done`` generator
    steps of a run with this config's fingerprint, else None."""
    versions = export_lib.existing_versions(model_dir)
    if not versions:
        return None
    path = os.path.join(model_dir, str(versions[-1]))
    try:
        with open(os.path.join(path, export_lib.METADATA_FILE)) as f:
            metadata = json.load(f)
    except (OSError, ValueError):
        return None
    same_run = (metadata.get("generator_steps") == done and isinstance(metadata.get("config"), dict)
                and not workdir_lib.fingerprint_differences(metadata["config"], config.to_dict()))
    return path if same_run else None


def _same_path(a, b):
    return os.path.realpath(a) == os.path.realpath(b)
