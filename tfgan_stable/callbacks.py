"""Keras callbacks that make training visible and bounded.

Thin drivers in the shape of ``keras.callbacks``: they read the model, write
files or summaries, and never hold training state of their own.
"""

import os

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw

from tfgan_stable import schedules


def image_grid(images, columns=None):
    """Tiles ``[N, H, W, C]`` images in [-1, 1] into one uint8 ``[rows*H, cols*W, C]`` array."""
    images = np.asarray(images, dtype=np.float32)
    count, height, width, channels = images.shape
    columns = columns or int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    grid = np.full((rows * height, columns * width, channels), -1.0, np.float32)  # black
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        grid[r * height:(r + 1) * height, c * width:(c + 1) * width] = image
    return np.round((np.clip(grid, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def scatter_plot(samples, reference=None, size=320, extent=None):
    """Renders 2-D points as an RGB uint8 array: reference in grey, samples in blue."""
    samples = np.asarray(samples, np.float32)[:, :2]
    stack = samples if reference is None else np.concatenate([samples, reference[:, :2]])
    if extent is None:
        extent = float(np.abs(stack).max()) * 1.1 + 1e-6
    canvas = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(canvas)

    def to_pixels(points):
        return (points / extent * 0.5 + 0.5) * (size - 1)

    for points, colour in ((reference, (190, 190, 190)), (samples, (31, 90, 200))):
        if points is None:
            continue
        for x, y in to_pixels(points):
            draw.point((float(x), float(size - 1 - y)), fill=colour)
    return np.asarray(canvas)


def save_png(array, path, min_side=256):
    """Writes a uint8 array as PNG, upscaled by nearest neighbour to ``min_side`` pixels."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    scale = max(1, min_side // max(array.shape[0], array.shape[1]))
    image = Image.fromarray(array)
    if scale > 1:
        image = image.resize((array.shape[1] * scale, array.shape[0] * scale), Image.NEAREST)
    tmp = f"{path}.tmp.png"
    image.save(tmp)
    os.replace(tmp, path)


class SampleGrid(keras.callbacks.Callback):
    """Writes samples from a fixed latent batch as PNG (and to TensorBoard) each epoch.

    The latent batch never changes, so successive grids show how the same
    noise vectors evolve. Files are named by generator step.

    Args:
      output_dir: where ``step_<generator step>.png`` files go.
      latent: fixed ``[N, latent_dim]`` noise (e.g. 64 vectors for an 8x8 grid).
      tensorboard_dir: if set, also log the grid as a TensorBoard image.
      reference: real 2-D points drawn under vector samples (toy mixtures).
    """

    def __init__(self, output_dir, latent, tensorboard_dir=None, reference=None):
        super().__init__()
        self.output_dir = output_dir
        self.latent = np.asarray(latent, np.float32)
        self.tensorboard_dir = tensorboard_dir
        self.reference = reference
        self._writer = None
        self.last_path = None

    def render(self):
        """The current grid as a uint8 array."""
        samples = keras.ops.convert_to_numpy(self.model(self.latent, training=False))
        if samples.ndim == 4:
            return image_grid(samples)
        return scatter_plot(samples, self.reference)

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.output_dir, exist_ok=True)
        step = int(keras.ops.convert_to_numpy(self.model.generator_steps))
        grid = self.render()
        self.last_path = os.path.join(self.output_dir, f"step_{step:07d}.png")
        save_png(grid, self.last_path)
        if self.tensorboard_dir:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(self.tensorboard_dir)
            with self._writer.as_default():
                tf.summary.image("samples", grid[None], step=step)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class StopAtGeneratorStep(keras.callbacks.Callback):
    """Stops ``fit`` once the GAN has made ``target`` generator updates.

    ``train.steps`` counts generator updates; with WGAN's warm-up a train step
    does not always make one, so the last epoch is cut here.
    """

    def __init__(self, target):
        super().__init__()
        self.target = int(target)

    def on_train_batch_end(self, batch, logs=None):
        if int(keras.ops.convert_to_numpy(self.model.generator_steps)) >= self.target:
            self.model.stop_training = True


class BeganEquilibrium(keras.callbacks.Callback):
    """The user's handle on BEGAN's equilibrium controller (Berthelot 2017, sec. 3.4).

    The k_t update itself runs inside every train step (exact per step); this
    callback owns its knobs and what is done with its measure:

    * ``gamma`` and ``lambda_k`` are assigned to the model when training
      starts and whenever they are set (``callback.gamma = 0.7`` mid-run);
    * ``history`` records ``(generator_step, k_t, m_global, learning_rate)``
      at every epoch end, and ``learning_rate`` is added to the epoch logs;
    * the paper's learning-rate decay: when the epoch mean of M_global has not
      improved by more than ``min_delta`` for ``decay_patience`` epochs, both
      optimizers' learning rates are multiplied by ``decay_factor``, never
      below ``min_learning_rate``.

    Args:
      gamma, lambda_k: controller settings; None keeps the model's.
      decay_patience: epochs without improvement before a decay; None: no decay.
      decay_factor: the multiplier (the paper halves the rate).
      min_learning_rate: the floor.
      min_delta: the improvement that counts.
    """

    def __init__(self, gamma=None, lambda_k=None, decay_patience=None, decay_factor=0.5,
                 min_learning_rate=1e-6, min_delta=0.0):
        super().__init__()
        if gamma is not None:
            schedules.check_gamma(gamma)
        if lambda_k is not None:
            schedules.check_lambda_k(lambda_k)
        if decay_patience is not None and decay_patience < 1:
            raise ValueError(f"BeganEquilibrium.decay_patience must be >= 1 or None, "
                             f"got {decay_patience}")
        if not 0.0 < decay_factor < 1.0:
            raise ValueError(f"BeganEquilibrium.decay_factor must be in (0, 1), got {decay_factor}")
        self._gamma, self._lambda_k = gamma, lambda_k
        self.decay_patience = decay_patience
        self.decay_factor = decay_factor
        self.min_learning_rate = min_learning_rate
        self.min_delta = min_delta
        self.best, self.wait = None, 0
        self.history = []

    def _assign(self, name, value):
        if value is not None and self.model is not None and hasattr(self.model, name):
            getattr(self.model, name).assign(value)

    @property
    def gamma(self):
        return self._gamma

    @gamma.setter
    def gamma(self, value):
        schedules.check_gamma(value)
        self._gamma = value
        self._assign("gamma", value)

    @property
    def lambda_k(self):
        return self._lambda_k

    @lambda_k.setter
    def lambda_k(self, value):
        schedules.check_lambda_k(value)
        self._lambda_k = value
        self._assign("lambda_k", value)

    def on_train_begin(self, logs=None):
        if not hasattr(self.model, "k_t"):
            raise ValueError(f"BeganEquilibrium needs a BEGAN model, got "
                             f"{type(self.model).__name__}")
        self._assign("gamma", self._gamma)
        self._assign("lambda_k", self._lambda_k)
        if hasattr(self.model, "m_global_best"):  # restored with the model's state
            best = float(keras.ops.convert_to_numpy(self.model.m_global_best))
            self.best = None if np.isinf(best) else best
            self.wait = int(keras.ops.convert_to_numpy(self.model.epochs_without_improvement))

    def _optimizers(self):
        return [self.model.d_optimizer, self.model.g_optimizer]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        to_float = lambda v: float(keras.ops.convert_to_numpy(v))  # noqa: E731
        m_global = logs.get("m_global")
        if m_global is not None and self.decay_patience is not None:
            self.best, self.wait = schedules.plateau_update(self.best, self.wait,
                                                            float(m_global), self.min_delta)
            if self.wait >= self.decay_patience:
                for optimizer in self._optimizers():
                    lr = to_float(optimizer.learning_rate)
                    optimizer.learning_rate = max(lr * self.decay_factor, self.min_learning_rate)
                self.wait = 0
            if hasattr(self.model, "m_global_best"):
                self.model.m_global_best.assign(self.best)
                self.model.epochs_without_improvement.assign(self.wait)
        learning_rate = to_float(self.model.g_optimizer.learning_rate)
        logs["learning_rate"] = learning_rate
        self.history.append((
            int(keras.ops.convert_to_numpy(self.model.generator_steps)),
            to_float(self.model.k_t),
            None if m_global is None else float(m_global),
            learning_rate,
        ))


class ProgressiveGrowing(keras.callbacks.Callback):
    """Drives one stage of Progressive GAN training and logs its schedule.

    Alpha itself is computed inside every train step from the images the stage
    has shown (exact with ``steps_per_execution > 1``); this callback ends
    ``fit`` once the stage has shown ``stage_images`` images, adds ``stage``,
    ``resolution`` and ``stage_images_seen`` to the epoch logs, and keeps
    ``history`` rows ``(stage, stage_images_seen, alpha)``.

    Args:
      stage_images: images this stage shows (transition + stable).
    """

    def __init__(self, stage_images):
        super().__init__()
        self.stage_images = int(stage_images)
        self.history = []

    def _seen(self):
        return int(keras.ops.convert_to_numpy(self.model.stage_images_seen))

    def on_train_batch_end(self, batch, logs=None):
        if self._seen() >= self.stage_images:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        stage = self.model.stage
        alpha = float(keras.ops.convert_to_numpy(self.model.generator.alpha))
        logs.update(stage=stage, resolution=4 * 2**stage, stage_images_seen=self._seen())
        self.history.append((stage, self._seen(), alpha))


class PeriodicEvaluation(keras.callbacks.Callback):
    """Scores samples of the model with a metric suite every ``every_n_steps`` generator steps.

    Samples come from ``model(z)`` (the EMA generator where there is one) for a
    fixed latent batch; results go to ``history`` (rows of ``step`` plus
    metrics), to TensorBoard under ``eval/<metric>`` when ``log_dir`` is set,
    and, at epoch ends, into the epoch logs as ``eval_<metric>``.

    Args:
      suite: ``{name: fn(samples) -> float or dict}``, e.g. from
        :func:`tfgan_stable.metrics.evaluation_suite`.
      every_n_steps: evaluation period in generator steps (checked at batch ends).
      num_samples: samples per evaluation.
    """

    def __init__(self, suite, every_n_steps, num_samples=2000, log_dir=None, seed=0,
                 batch_size=500):
        super().__init__()
        if every_n_steps < 1:
            raise ValueError(f"PeriodicEvaluation.every_n_steps must be >= 1, got {every_n_steps}")
        self.suite, self.every_n_steps = suite, int(every_n_steps)
        self.num_samples, self.log_dir, self.seed = int(num_samples), log_dir, seed
        self.batch_size = batch_size
        self.history, self._writer, self._last_step, self._latest = [], None, None, {}

    def evaluate_now(self):
        from tfgan_stable import metrics

        step = int(keras.ops.convert_to_numpy(self.model.generator_steps))
        samples = self.model.generate_numpy(self.num_samples, self.seed, self.batch_size)
        if samples.ndim == 4:
            samples = np.clip(samples, -1.0, 1.0)
        results = metrics.evaluate(self.suite, samples)
        self.history.append({"step": step, **results})
        self._latest, self._last_step = results, step
        if self.log_dir:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(self.log_dir)
            with self._writer.as_default():
                for name, value in results.items():
                    tf.summary.scalar(f"eval/{name}", value, step=step)
            self._writer.flush()
        return results

    def on_train_batch_end(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.generator_steps))
        due = step // self.every_n_steps
        if due > 0 and (self._last_step is None or due > self._last_step // self.every_n_steps):
            self.evaluate_now()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update({f"eval_{name}": value for name, value in self._latest.items()})

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class NonFiniteLossError(RuntimeError):
    """Training produced a non-finite loss; raised before anything is saved."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops training at the first non-finite loss and keeps the last good state.

    Checks every logged value at each batch end; on a NaN or infinity it stops
    ``fit`` and, at the end of that epoch, raises :class:`NonFiniteLossError`
    naming the generator step and the loss. Put it *before*
    :class:`Backup` so the raise comes before the backup would be
    overwritten with non-finite weights (``TerminateOnNaN`` stops, but lets
    the epoch's backup be written).
    """

    def __init__(self):
        super().__init__()
        self.failure = None

    def on_train_batch_end(self, batch, logs=None):
        if self.failure is not None:
            return
        for name, value in (logs or {}).items():
            if name.startswith("eval_"):
                continue
            value = float(np.asarray(keras.ops.convert_to_numpy(value)))
            if not np.isfinite(value):
                step = int(keras.ops.convert_to_numpy(self.model.generator_steps))
                self.failure = (step, name, value)
                self.model.stop_training = True
                return

    def on_epoch_end(self, epoch, logs=None):
        if self.failure is not None:
            step, name, value = self.failure
            raise NonFiniteLossError(
                f"non-finite {name} ({value}) at generator step {step}; training stopped, "
                "the last backup and any earlier export are untouched")


def save_weights_atomically(model, path):
    """``model.save_weights(path)`` through a temporary file renamed over ``path``.

    A kill at any moment leaves either the previous file or the new one whole.
    """
    folder, name = os.path.split(path)
    os.makedirs(folder or ".", exist_ok=True)
    partial = os.path.join(folder, ".partial." + name)
    model.save_weights(partial)
    os.replace(partial, path)


class Backup(keras.callbacks.Callback):
    """Saves the whole training state at every epoch end, atomically.

    The state is everything ``model.save_weights`` writes: both networks, the
    EMA generator, both optimizers, the latent noise's seed state and the
    family's variables (k_t, alpha, images seen, the train-step count). It is
    written to a temporary file and renamed over ``<backup_dir>/state.weights.h5``,
    so a kill at any moment leaves the previous epoch's state intact.
    :func:`restore` loads it before ``fit``; the train-step count it holds
    tells where the data and the epochs resume (see ``train_lib``).
    Put :class:`StopOnNonFiniteLoss` before it.
    """

    FILENAME = "state.weights.h5"

    def __init__(self, backup_dir):
        super().__init__()
        self.backup_dir = backup_dir

    def on_epoch_end(self, epoch, logs=None):
        save_weights_atomically(self.model, os.path.join(self.backup_dir, self.FILENAME))

    @classmethod
    def restore(cls, model, backup_dir):
        """Loads the last backup into ``model``; returns False when there is none."""
        path = os.path.join(backup_dir, cls.FILENAME)
        if not os.path.exists(path):
            return False
        model.load_weights(path)
        return True
