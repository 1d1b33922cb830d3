"""Image grids, 2-D scatter plots and PNG files for samples."""

import os

import numpy as np
from PIL import Image, ImageDraw

from tfgan_stable.utils import files


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


# the formats an image is written in, by the extension of its path
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".gif": "GIF",
                 ".tif": "TIFF", ".tiff": "TIFF"}


def save_png(array, path, min_side=256):
    """Writes a uint8 array as PNG, upscaled by nearest neighbour to ``min_side`` pixels."""
    _save(array, path, min_side, "PNG")


def save_image(array, path, min_side=256):
    """:func:`save_png` in the format ``path``'s extension names (:data:`IMAGE_FORMATS`)."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in IMAGE_FORMATS:
        raise ValueError(f"path must end with one of {sorted(IMAGE_FORMATS)}. "
                         f"Received: path={path!r}")
    _save(array, path, min_side, IMAGE_FORMATS[extension])


def _save(array, path, min_side, image_format):
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    scale = max(1, min_side // max(array.shape[0], array.shape[1]))
    image = Image.fromarray(array)
    if scale > 1:
        image = image.resize((array.shape[1] * scale, array.shape[0] * scale), Image.NEAREST)
    with files.atomic_path(path) as tmp:
        image.save(tmp, format=image_format)
