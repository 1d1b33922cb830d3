"""Progressive growing as one call: every stage of a ProGAN, with resume (Karras 2018).

:func:`fit_progressive` runs one ``fit`` per resolution from 4x4: each stage
shows ``stable_images`` images (4x4) or ``transition_images + stable_images``
(alpha fades the new block in over the first ``transition_images``; the last
stage's stable phase can be longer, ``final_stable_images``), at its
own batch size, on the real images average-pooled to its resolution. With a
``backup_dir`` a finished stage leaves ``stage_<s>.weights.h5`` there (the
whole state: weights, EMA, optimizers, images seen) and a stage in progress a
:class:`~tfgan_stable.callbacks.Backup` in ``stage_<s>/``; calling it again
with the same ``backup_dir`` resumes mid-stage, alpha and data position
included. The training binary uses it for ``model.family: progan``.
"""

import math
import os

import keras
import tensorflow as tf

from tfgan_stable import callbacks as callbacks_lib
from tfgan_stable import data as data_lib
from tfgan_stable import log, schedules


def stage_batch_sizes(batch_sizes, num_stages):
    """One batch size per stage from an int or a sequence of ``num_stages`` ints."""
    if isinstance(batch_sizes, int):
        batch_sizes = [batch_sizes] * num_stages
    batch_sizes = [int(b) for b in batch_sizes]
    if len(batch_sizes) != num_stages or min(batch_sizes) < 1:
        raise ValueError(f"fit_progressive needs {num_stages} positive batch sizes, one per "
                         f"resolution from 4x4. Received: batch_sizes={batch_sizes}")
    return batch_sizes


def stage_learning_rates(learning_rates, num_stages):
    """One learning rate per stage from ``None`` (keep the optimizers'), a float, or a
    sequence of ``num_stages`` floats."""
    if learning_rates is None:
        return None
    if isinstance(learning_rates, (int, float)):
        learning_rates = [learning_rates] * num_stages
    learning_rates = [float(rate) for rate in learning_rates]
    if len(learning_rates) != num_stages or min(learning_rates) <= 0:
        raise ValueError(f"fit_progressive needs {num_stages} positive learning rates, one per "
                         f"resolution from 4x4. Received: learning_rates={learning_rates}")
    return learning_rates


def set_learning_rate(gan, rate):
    """Sets both optimizers of ``gan`` to a constant ``rate``; refuses one on a schedule."""
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        try:
            optimizer.learning_rate = rate
        except TypeError as error:  # Keras: a schedule's rate is not settable
            raise ValueError(f"fit_progressive(learning_rates=...) sets each stage's learning "
                             f"rate, but optimizer {optimizer.name!r} follows a schedule; "
                             f"compile it with a float learning rate") from error


def fit_progressive(gan, data, stable_images, transition_images=None, batch_sizes=32,
                    callbacks=(), state_callbacks=(), backup_dir=None, steps_per_epoch=100,
                    reset_optimizers=True, seed=0, shuffle_buffer=10_000, verbose="auto",
                    final_stable_images=None, learning_rates=None):
    """Grows ``gan`` (a compiled :class:`~tfgan_stable.ProGAN`) to its full resolution.

    Args:
      gan: the ProGAN, compiled.
      data: an :class:`~tfgan_stable.data.Examples` or a ``tf.data.Dataset`` of
        single full-resolution images in [-1, 1] (unbatched).
      stable_images: images each stage trains at alpha 1.
      transition_images: images of each fade-in (default: the GAN's own).
      batch_sizes: one int for every stage, or one per stage from 4x4.
      callbacks: Keras callbacks for every stage's ``fit`` (run after the
        backup), or a function ``stage -> list of callbacks``.
      state_callbacks: callbacks that change the training state; they run
        before the backup is written.
      backup_dir: where finished stages and the stage in progress are kept
        (None: no resume).
      steps_per_epoch: train steps between backups and epoch callbacks.
      reset_optimizers: zero Adam's moments at each new stage.
      seed: shuffle seed (stage ``s`` uses ``seed + s``).
      shuffle_buffer: shuffle buffer of a streamed source.
      verbose: ``fit``'s verbosity.
      final_stable_images: images the last resolution trains at alpha 1 after
        its fade-in (default: ``stable_images``); the paper's code keeps
        training there until its total budget, longer than any growth phase.
      learning_rates: one learning rate for both optimizers per stage from
        4x4 (or one float for all); None keeps the optimizers' own. Later work
        from the paper's authors sets one per resolution; on small data,
        faster low resolutions are what made growing pay per image (README).

    Returns:
      The ``keras.callbacks.History`` of each stage trained by this call.

    Raises:
      RuntimeError: a stage stopped early (non-finite loss or a callback).
    """
    transition_images = gan.transition_images if transition_images is None else transition_images
    if transition_images != gan.transition_images:
        gan.transition_images = int(transition_images)
    stage_images = schedules.progan_stage_images(gan.num_stages, gan.transition_images,
                                                 stable_images, final_stable_images)
    batch_sizes = stage_batch_sizes(batch_sizes, gan.num_stages)
    learning_rates = stage_learning_rates(learning_rates, gan.num_stages)
    stage_steps = schedules.progan_stage_steps(stage_images, batch_sizes)
    examples = data if isinstance(data, data_lib.Examples) else None
    dataset = examples.dataset if examples else data
    num_examples = examples.num_examples if examples else None
    first = _restore_finished_stages(gan, backup_dir)
    histories = []
    for stage in range(first, gan.num_stages):
        resolution = 4 * 2**stage
        stage_backup = None if backup_dir is None else os.path.join(backup_dir, f"stage_{stage}")
        gan.start_stage(stage, reset_optimizers=reset_optimizers)
        if stage_backup:  # alpha, images seen, optimizers and EMA, mid-stage
            callbacks_lib.Backup.restore(gan, stage_backup)
        if learning_rates:
            set_learning_rate(gan, learning_rates[stage])
        batch_size = batch_sizes[stage]
        start = int(keras.ops.convert_to_numpy(gan.stage_images_seen)) // batch_size
        pooled = dataset.map(
            lambda image, r=resolution: tf.image.resize(image, (r, r), method="area"))
        stage_data = data_lib.make_dataset(
            data_lib.Examples(pooled, "image", (resolution, resolution, gan.generator.channels),
                              num_examples, examples.name if examples else "dataset"),
            batch_size, seed=seed + stage, shuffle_buffer=shuffle_buffer, start=start)
        steps = stage_steps[stage]
        epoch_steps = min(steps_per_epoch, steps)
        log.info(f"stage {stage}: {resolution}x{resolution}, {stage_images[stage]} images, "
                 f"batch {batch_size}"
                 + (f", learning rate {learning_rates[stage]:g}" if learning_rates else ""))
        stage_callbacks = [
            callbacks_lib.StopOnNonFiniteLoss(),  # first: raises before the backup is written
            callbacks_lib.ProgressiveGrowing(stage_images[stage]),
            *state_callbacks,
            *([callbacks_lib.Backup(stage_backup)] if stage_backup else []),
            *(callbacks(stage) if callable(callbacks) else callbacks),
        ]
        history = gan.fit(stage_data, epochs=math.ceil(steps / epoch_steps),
                          initial_epoch=start // epoch_steps, steps_per_epoch=epoch_steps,
                          callbacks=stage_callbacks, verbose=verbose, shuffle=False)
        histories.append(history)
        seen = int(keras.ops.convert_to_numpy(gan.stage_images_seen))
        if seen < stage_images[stage]:
            where = f"; the last good backup is in {stage_backup}" if stage_backup else ""
            raise RuntimeError(f"stage {stage} stopped after {seen} of {stage_images[stage]} "
                               f"images (non-finite loss or a callback stopped it){where}")
        if backup_dir:
            callbacks_lib.save_weights_atomically(
                gan, os.path.join(backup_dir, f"stage_{stage}.weights.h5"))
    return histories


def _restore_finished_stages(gan, backup_dir):
    """Loads the last finished stage from ``backup_dir``; returns the stage to train next."""
    if backup_dir is None:
        return 0
    os.makedirs(backup_dir, exist_ok=True)
    finished = [s for s in range(gan.num_stages)
                if os.path.exists(os.path.join(backup_dir, f"stage_{s}.weights.h5"))]
    if not finished:
        return 0
    gan.set_stage(finished[-1])
    gan.load_weights(os.path.join(backup_dir, f"stage_{finished[-1]}.weights.h5"))
    return finished[-1] + 1
