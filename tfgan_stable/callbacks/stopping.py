"""Ending ``fit``: at a generator-step count, or at the first non-finite loss."""

import keras
import numpy as np

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
                span = int(getattr(self.model, "steps_per_execution", 1) or 1)
                where = (f"at generator step {step}" if span == 1 else
                         f"by generator step {step} (losses are checked once per "
                         f"{span} steps: steps_per_execution)")
                self.failure = (where, name, value)
                self.model.stop_training = True
                return

    def on_epoch_end(self, epoch, logs=None):
        if self.failure is not None:
            where, name, value = self.failure
            raise NonFiniteLossError(
                f"non-finite {name} ({value}) {where}; training stopped, "
                "the last backup and any earlier export are untouched")
