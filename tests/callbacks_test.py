"""Sample-grid rendering helpers."""

import numpy as np

from tfgan_stable import callbacks


def test_image_grid_tiles_and_maps_to_uint8():
    images = np.stack([np.full((2, 3, 1), v, np.float32) for v in (-1.0, 0.0, 1.0)])
    grid = callbacks.image_grid(images, columns=2)
    assert grid.shape == (4, 6, 1) and grid.dtype == np.uint8
    assert grid[0, 0, 0] == 0 and grid[0, 3, 0] == 128 and grid[2, 0, 0] == 255
    assert grid[2, 3, 0] == 0  # the empty fourth cell stays black


def test_scatter_plot_draws_samples_and_reference(tmp_path):
    samples = np.array([[0.0, 0.0]], np.float32)
    reference = np.array([[1.0, 1.0], [-1.0, -1.0]], np.float32)
    canvas = callbacks.scatter_plot(samples, reference, size=11, extent=2.0)
    assert canvas.shape == (11, 11, 3)
    assert tuple(canvas[5, 5]) == (31, 90, 200)  # the sample at the centre
    rows, cols = np.nonzero(np.all(canvas == (190, 190, 190), axis=-1))
    assert len(rows) == 2
    # (1, 1) is drawn up and right of the centre, (-1, -1) down and left
    upper_right = rows < 5
    assert np.array_equal(cols[upper_right] > 5, [True]) and np.all(cols[~upper_right] < 5)
    callbacks.save_png(canvas, str(tmp_path / "plot.png"))
    assert (tmp_path / "plot.png").stat().st_size > 0
