"""BEGAN's equilibrium: gamma, lambda_k and the learning-rate decay on M_global (Berthelot 2017)."""

import keras
import numpy as np

from tfgan_stable import schedules

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
