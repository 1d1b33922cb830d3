"""Sample grids (PNG and TensorBoard) from a fixed latent batch."""

import os

import keras
import numpy as np
import tensorflow as tf

from tfgan_stable.utils.images import image_grid, save_png, scatter_plot

class SampleGrid(keras.callbacks.Callback):
    """Writes samples from a fixed latent batch as PNG (and to TensorBoard) each epoch.

    The latent batch never changes, so successive grids show how the same
    noise vectors evolve. Files are named by generator step. A conditional
    GAN's grid takes ``labels`` beside the latent batch: with the labels in
    runs of ``columns``, each row of the grid is one class.

    Args:
      output_dir: where ``step_<generator step>.png`` files go.
      latent: fixed ``[N, latent_dim]`` noise (e.g. 64 vectors for an 8x8 grid).
      tensorboard_dir: if set, also log the grid as a TensorBoard image.
      reference: real 2-D points drawn under vector samples (toy mixtures).
      labels: a conditional GAN's ``[N]`` class of each latent vector.
      columns: images per grid row (default: a square grid).
    """

    def __init__(self, output_dir, latent, tensorboard_dir=None, reference=None, labels=None,
                 columns=None):
        super().__init__()
        self.output_dir = output_dir
        self.latent = np.asarray(latent, np.float32)
        self.labels = None if labels is None else np.asarray(labels, np.int32)
        self.columns = columns
        self.tensorboard_dir = tensorboard_dir
        self.reference = reference
        self._writer = None
        self.last_path = None

    def render(self):
        """The current grid as a uint8 array."""
        if self.labels is None:
            samples = self.model(self.latent, training=False)
        else:
            samples = self.model(self.latent, self.labels, training=False)
        samples = keras.ops.convert_to_numpy(samples)
        if samples.ndim == 4:
            return image_grid(samples, self.columns)
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
