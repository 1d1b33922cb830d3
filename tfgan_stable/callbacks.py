"""Keras callbacks that make training visible and bounded.

Thin drivers in the shape of ``keras.callbacks``: they read the model, write
files or summaries, and never hold training state of their own.
"""

import os

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw


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
