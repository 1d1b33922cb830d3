"""The whole training state, saved atomically at every epoch end (exact resume)."""

import os

import keras

from tfgan_stable.utils import files

def save_weights_atomically(model, path):
    """``model.save_weights(path)`` through a temporary file renamed over ``path``.

    A kill at any moment leaves either the previous file or the new one whole.
    """
    with files.atomic_path(path, suffix=".weights.h5") as tmp:
        model.save_weights(tmp)


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
