"""Periodic scores of samples with :mod:`tfgan_stable.metrics`, logged to TensorBoard."""

import keras
import numpy as np
import tensorflow as tf

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
