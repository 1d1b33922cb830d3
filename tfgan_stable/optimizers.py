"""Optimistic Adam (Daskalakis, Ilyas, Syrgkanis, Zeng 2018, "Training GANs with Optimism",
arXiv 1711.00141).

Optimistic mirror descent damps the cycling of simultaneous gradient play: each
step takes twice this step's update and gives back the previous one. With
Adam's bias-corrected term ``u_t = lr * m_hat_t / (sqrt(v_hat_t) + eps)``
(Kingma & Ba 2015, Algorithm 1), the update is ``w <- w - 2 u_t + u_(t-1)``,
``u_0 = 0``. Written from that rule; the authors' code has known bugs.
"""

import math

import keras
from keras import ops


# GAN learning rates are about 1e-5 to 1e-2; above this an update outweighs the
# weights (1e9 trains to all-zero images), so a larger one is taken for a typo.
MAX_LEARNING_RATE = 1.0


def settings_problem(key, value):
    """What is wrong with an optimizer setting (``*learning_rate``, ``beta_*``), or None.

    The one rule for the Python API and the config: learning rates finite in
    (0, :data:`MAX_LEARNING_RATE`], betas finite in [0, 1); None is the default.
    """
    if value is None:
        return None
    if key.endswith("learning_rate"):
        if not (math.isfinite(value) and 0.0 < value <= MAX_LEARNING_RATE):
            return f"a number in (0, {MAX_LEARNING_RATE:g}]"
    elif not (math.isfinite(value) and 0.0 <= value < 1.0):
        return "a number in [0, 1)"
    return None


def check_settings(**values):
    """ValueError naming the first bad optimizer setting (see :func:`settings_problem`)."""
    for key, value in values.items():
        problem = settings_problem(key, value)
        if problem:
            raise ValueError(f"{key} must be {problem}. Received: {key}={value!r}")


@keras.saving.register_keras_serializable(package="tfgan_stable")
class OptimisticAdam(keras.optimizers.Optimizer):
    """Adam with an optimistic step: ``w <- w - 2 u_t + u_(t-1)``.

    Args:
      learning_rate: a float or a ``keras.optimizers.schedules`` schedule.
      beta_1, beta_2: the moment decays (the paper's GAN runs use Adam's 0.5, 0.9).
      epsilon: added to ``sqrt(v_hat)``.
      **kwargs: those of ``keras.optimizers.Optimizer`` (``clipnorm``, ...).
    """

    def __init__(self, learning_rate=1e-4, beta_1=0.5, beta_2=0.9, epsilon=1e-8,
                 name="optimistic_adam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        for field, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"OptimisticAdam.{field} must be in [0, 1). "
                                 f"Received: {field}={value}")
        if epsilon <= 0:
            raise ValueError(f"OptimisticAdam.epsilon must be > 0. Received: epsilon={epsilon}")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities, self._previous_updates = self.add_optimizer_variables(
            var_list, ["momentum", "velocity", "previous_update"])

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        previous = self._previous_updates[index]
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        step = ops.cast(self.iterations + 1, variable.dtype)
        self.assign(m, self.beta_1 * m + (1.0 - self.beta_1) * gradient)
        self.assign(v, self.beta_2 * v + (1.0 - self.beta_2) * ops.square(gradient))
        m_hat = m / (1.0 - ops.power(ops.cast(self.beta_1, variable.dtype), step))
        v_hat = v / (1.0 - ops.power(ops.cast(self.beta_2, variable.dtype), step))
        update = lr * m_hat / (ops.sqrt(v_hat) + self.epsilon)
        self.assign_sub(variable, 2.0 * update - previous)
        self.assign(previous, update)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
