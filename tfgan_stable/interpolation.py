"""Latent-space interpolation: images along straight lines between latent vectors.

BEGAN's Figure 4 (Berthelot 2017, arXiv 1703.10717) shows that a generator
that has not memorised its data morphs smoothly between samples. Rendered here
from a live model or an exported SavedModel alike.
"""

import numpy as np

from tfgan_stable import export as export_lib
from tfgan_stable.utils.images import image_grid
from tfgan_stable.errors import ConfigError
from tfgan_stable.gans.base import draw_latent


def interpolate_latents(z_start, z_end, num_steps):
    """``num_steps`` evenly spaced points from ``z_start`` to ``z_end`` (both included).

    Args:
      z_start, z_end: ``[latent_dim]`` or ``[rows, latent_dim]`` arrays.

    Returns:
      ``[num_steps, latent_dim]`` or ``[rows, num_steps, latent_dim]``.
    """
    if num_steps < 2:
        raise ValueError(f"num_steps must be >= 2, got {num_steps}")
    z_start, z_end = np.asarray(z_start, np.float32), np.asarray(z_end, np.float32)
    if z_start.shape != z_end.shape:
        raise ValueError(f"z_start {z_start.shape} and z_end {z_end.shape} differ in shape")
    t = np.linspace(0.0, 1.0, num_steps, dtype=np.float32)[:, None]
    if z_start.ndim == 1:
        return (1.0 - t) * z_start + t * z_end
    return (1.0 - t)[None] * z_start[:, None] + t[None] * z_end[:, None]


def interpolation_grid(generate, latent_dim, rows=4, num_steps=8, seed=0,
                       distribution="normal", row_labels=None):
    """Renders ``rows`` interpolations of ``num_steps`` images as one uint8 grid.

    Args:
      generate: ``z [N, latent_dim] -> images [N, H, W, C]`` in [0, 1]
        (see :func:`generator_fn`); ``generate(z, labels)`` with ``row_labels``.
      distribution: ``"normal"`` or ``"uniform"`` (on [-1, 1]), the latent
        distribution the generator was trained with.
      row_labels: a conditional generator's class for each row (the class
        stays, z walks).

    Returns:
      ``(grid, z)``: the ``[rows*H, num_steps*W, C]`` uint8 grid and the
      ``[rows, num_steps, latent_dim]`` latent vectors used.
    """
    if rows < 1:
        raise ValueError(f"rows must be >= 1, got {rows}")
    ends = draw_latent(np.random.default_rng(seed), (2, rows, latent_dim), distribution)
    z = interpolate_latents(ends[0], ends[1], num_steps)
    flat = z.reshape(rows * num_steps, latent_dim)
    if row_labels is None:
        images = generate(flat)
    else:
        images = generate(flat, np.repeat(np.asarray(row_labels, np.int32), num_steps))
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise ValueError(f"interpolation needs an image generator, got outputs of shape "
                         f"{images.shape}")
    return image_grid(images * 2.0 - 1.0, columns=num_steps), z


def generator_fn(model):
    """``z -> images in [0, 1]`` for a Keras generator or GAN (outputs in [-1, 1])."""
    def generate(z):
        return np.clip((np.asarray(model(z, training=False)) + 1.0) * 0.5, 0.0, 1.0)
    return generate


def open_export(source):
    """The :class:`tfgan_stable.export.Exported` of an image generator at ``source``
    (what :func:`tfgan_stable.export.load_exported` accepts); ConfigError otherwise."""
    exported = export_lib.load_exported(source)
    if exported.output != "images":
        raise ConfigError(f"{exported.path!r} is not an image generator "
                          f"(output {exported.output!r})")
    return exported


def load_exported(source):
    """Opens an export for interpolation: ``(generate, latent_dim, distribution, path)``.

    ``source`` is what :func:`tfgan_stable.export.load_exported` accepts;
    ``generate`` returns images in [0, 1] (``generate(z, labels)`` for a
    conditional export, see :func:`open_export`).
    """
    exported = open_export(source)
    return exported.generate, exported.latent_dim, exported.distribution, exported.path
