"""Weight clipping for the WGAN critic (Arjovsky et al. 2017, arXiv 1701.07875)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfgan_stable")
class WeightClip(keras.constraints.Constraint):
    """Clips every value of a weight to ``[-clip_value, clip_value]``.

    Keras optimizers apply a variable's constraint after each update, which is
    exactly WGAN's "clip after every critic step" (Algorithm 1, line 7).

    Args:
      clip_value: the bound c > 0 (the paper uses 0.01).
    """

    def __init__(self, clip_value=0.01):
        if clip_value <= 0:
            raise ValueError(f"WeightClip.clip_value must be > 0, got {clip_value}")
        self.clip_value = float(clip_value)

    def __call__(self, w):
        return ops.clip(w, -self.clip_value, self.clip_value)

    def get_config(self):
        return {"clip_value": self.clip_value}
