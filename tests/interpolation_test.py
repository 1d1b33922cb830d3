"""Latent interpolation: the function, and the CLI on an export and on a workdir."""

import os

import numpy as np
import pytest
from PIL import Image

import tfgan_stable as tg
from helpers import run_python
from tfgan_stable import interpolation

pytestmark = pytest.mark.slow  # trains, or runs the binaries


def test_interpolate_latents_is_a_straight_line_with_both_ends():
    start, end = np.array([0.0, 2.0]), np.array([4.0, -2.0])
    path = interpolation.interpolate_latents(start, end, 5)
    np.testing.assert_allclose(path, [[0, 2], [1, 1], [2, 0], [3, -1], [4, -2]])
    batched = interpolation.interpolate_latents(np.stack([start, end]), np.stack([end, start]), 3)
    assert batched.shape == (2, 3, 2)
    np.testing.assert_allclose(batched[1, 0], end)
    with pytest.raises(ValueError, match="num_steps must be >= 2"):
        interpolation.interpolate_latents(start, end, 1)


def test_grid_from_a_live_generator_has_the_generator_images_at_both_ends():
    generator = tg.build_began_generator(4, 8, 1, filters=4)
    generate = interpolation.generator_fn(generator)
    grid, z = interpolation.interpolation_grid(generate, 4, rows=2, num_steps=5, seed=1,
                                               distribution="uniform")
    assert grid.shape == (16, 40, 1) and z.shape == (2, 5, 4)
    assert np.abs(z).max() <= 1.0
    first = np.round(generate(z[0, :1])[0] * 255).astype(int)
    np.testing.assert_allclose(grid[:8, :8].astype(int), first, atol=1)
    last = np.round(generate(z[1, -1:])[0] * 255).astype(int)
    np.testing.assert_allclose(grid[8:, 32:].astype(int), last, atol=1)


def test_cli_renders_from_an_export_and_from_a_workdir(tmp_path):
    generator = tg.build_began_generator(4, 8, 1, filters=4)
    tg.export_generator(generator, str(tmp_path / "exports"), "began",
                        metadata={"latent_distribution": "uniform"})
    out = tmp_path / "grid.png"
    result = run_python(["-m", "tfgan_stable.interpolate_main",
                         f"--model={tmp_path / 'exports' / 'began'}", f"--output={out}",
                         "--rows=3", "--steps=4"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "wrote 3x4 interpolations" in result.stdout
    assert Image.open(out).size[0] >= 32  # 4 images of 8 px, upscaled for viewing
    bad = run_python(["-m", "tfgan_stable.interpolate_main", f"--model={tmp_path}/nothing",
                      f"--output={tmp_path / 'x.png'}"])
    assert bad.returncode == 2 and "no SavedModel" in bad.stderr
    assert not os.path.exists(tmp_path / "x.png")


def test_load_exported_reads_workdir_records(tmp_path):
    generator = tg.build_dcgan_generator(3, 8, 1, filters=4)
    path = tg.export_generator(generator, str(tmp_path / "exports"), "g")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "export.json").write_text('{"path": "%s"}' % path)
    generate, latent_dim, distribution, found = interpolation.load_exported(str(tmp_path / "run"))
    assert (latent_dim, distribution, found) == (3, "normal", path)
    assert generate(np.zeros((2, 3), np.float32)).shape == (2, 8, 8, 1)
