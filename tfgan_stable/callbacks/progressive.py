"""One stage of Progressive GAN growth: its end and its log (Karras 2018)."""

import keras

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
