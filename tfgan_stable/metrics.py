"""Sample-quality and diversity measures.

* :func:`mean_pairwise_distance`: a label-free diversity measure, used for
  BEGAN's gamma study (Berthelot 2017, sec. 4.1: lower gamma, less diversity).
* :func:`sliced_wasserstein_distance`: the multi-scale statistical similarity
  of the ProGAN paper (Karras 2018, arXiv 1710.10196, sec. 5 and appendix D):
  sliced Wasserstein distances between 7x7 neighbourhoods drawn from the
  Laplacian pyramids of real and generated images. Needs no pretrained network.
"""

import numpy as np


def mean_pairwise_distance(samples, max_samples=2000, seed=0):
    """Mean Euclidean distance between distinct pairs of samples (a diversity measure).

    Mode collapse drives it towards 0; comparing it with the same measure on
    real data gives a ratio (1.0: as diverse as the data). Samples are
    flattened; at most ``max_samples`` are used (a random subset).

    Args:
      samples: array ``[N, ...]`` with N >= 2.

    Returns:
      A float.
    """
    samples = np.asarray(samples, np.float64).reshape(len(samples), -1)
    if len(samples) < 2:
        raise ValueError(f"mean_pairwise_distance needs >= 2 samples, got {len(samples)}")
    if len(samples) > max_samples:
        index = np.random.default_rng(seed).choice(len(samples), max_samples, replace=False)
        samples = samples[index]
    squared = np.sum(samples**2, axis=1)
    d2 = np.maximum(squared[:, None] + squared[None, :] - 2.0 * samples @ samples.T, 0.0)
    n = len(samples)
    return float(np.sqrt(d2)[np.triu_indices(n, k=1)].mean())


_GAUSSIAN = np.outer([1.0, 4.0, 6.0, 4.0, 1.0], [1.0, 4.0, 6.0, 4.0, 1.0]) / 256.0


def _blur(images):
    """5x5 binomial filter per channel, reflect-padded; ``[N, H, W, C]``."""
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    out = np.zeros_like(images)
    height, width = images.shape[1], images.shape[2]
    for dy in range(5):
        for dx in range(5):
            out += _GAUSSIAN[dy, dx] * padded[:, dy:dy + height, dx:dx + width]
    return out


def laplacian_pyramid(images, num_levels):
    """Levels of a Laplacian pyramid, finest first; the last is the Gaussian residual."""
    levels, current = [], np.asarray(images)
    if not np.issubdtype(current.dtype, np.floating):
        current = current.astype(np.float32)
    for _ in range(num_levels - 1):
        down = _blur(current)[:, ::2, ::2]
        up = np.zeros_like(current)
        up[:, ::2, ::2] = down
        levels.append(current - 4.0 * _blur(up))
        current = down
    levels.append(current)
    return levels


def _descriptors(level, nhood_size, nhoods_per_image, rng):
    """Random ``nhood_size`` x ``nhood_size`` patches, normalised per channel."""
    count, height, width, channels = level.shape
    ys = rng.integers(0, height - nhood_size + 1, size=(count, nhoods_per_image))
    xs = rng.integers(0, width - nhood_size + 1, size=(count, nhoods_per_image))
    offsets = np.arange(nhood_size)
    rows = ys[..., None, None] + offsets[:, None]          # [N, P, k, 1]
    cols = xs[..., None, None] + offsets[None, :]          # [N, P, 1, k]
    patches = level[np.arange(count)[:, None, None, None], rows, cols]  # [N, P, k, k, C]
    patches = patches.reshape(-1, nhood_size, nhood_size, channels)
    patches = patches - patches.mean(axis=(0, 1, 2), keepdims=True)
    patches = patches / (patches.std(axis=(0, 1, 2), keepdims=True) + 1e-8)
    return patches.reshape(len(patches), -1)


def sliced_wasserstein(a, b, dirs_per_repeat=128, dir_repeats=4, rng=None):
    """Sliced Wasserstein distance between two equally sized point sets ``[N, D]``.

    The mean, over random unit directions, of the 1-D Wasserstein-1 distance
    between the projections (sorted projections compared element-wise).
    """
    if a.shape != b.shape:
        raise ValueError(f"sliced_wasserstein needs equal shapes, got {a.shape} and {b.shape}")
    rng = rng or np.random.default_rng(0)
    results = []
    for _ in range(dir_repeats):
        directions = rng.normal(size=(a.shape[1], dirs_per_repeat)).astype(a.dtype)
        directions /= np.linalg.norm(directions, axis=0, keepdims=True)
        projected_a = np.sort((a @ directions).T, axis=1)  # contiguous rows sort faster
        projected_b = np.sort((b @ directions).T, axis=1)
        results.append(np.abs(projected_a - projected_b).mean(dtype=np.float64))
    return float(np.mean(results))


def sliced_wasserstein_distance(real, fake, min_resolution=16, nhood_size=7,
                                nhoods_per_image=128, dirs_per_repeat=128, dir_repeats=4,
                                seed=0):
    """The ProGAN paper's SWD between two image sets, per pyramid level and averaged.

    Images ``[N, H, W, C]`` (square, any value range, greyscale allowed) are
    decomposed into Laplacian pyramids from full resolution down to
    ``min_resolution``; from each level, ``nhoods_per_image`` random 7x7
    neighbourhoods per image are normalised per channel and compared with
    :func:`sliced_wasserstein`. Values are multiplied by 1e3 as in the paper.
    Images smaller than ``min_resolution`` are first up-sampled by nearest
    neighbour to ``min_resolution`` (a single level then).

    Returns:
      ``{"levels": {resolution: swd, ...} finest first, "average": mean}``.
    """
    real, fake = np.asarray(real, np.float32), np.asarray(fake, np.float32)
    if real.shape[1:] != fake.shape[1:] or len(real) != len(fake):
        raise ValueError(f"real {real.shape} and fake {fake.shape} must match in shape")
    if real.ndim != 4 or real.shape[1] != real.shape[2]:
        raise ValueError(f"images must be square [N, H, W, C], got {real.shape}")
    resolution = real.shape[1]
    if resolution < min_resolution:
        factor = -(-min_resolution // resolution)
        real = real.repeat(factor, axis=1).repeat(factor, axis=2)
        fake = fake.repeat(factor, axis=1).repeat(factor, axis=2)
        resolution = real.shape[1]
    num_levels = max(1, int(np.log2(resolution // min_resolution)) + 1)
    levels = {}
    for index, (real_level, fake_level) in enumerate(
            zip(laplacian_pyramid(real, num_levels), laplacian_pyramid(fake, num_levels))):
        # the same neighbourhood positions for both sets
        a = _descriptors(real_level, nhood_size, nhoods_per_image, np.random.default_rng(seed))
        b = _descriptors(fake_level, nhood_size, nhoods_per_image, np.random.default_rng(seed))
        swd = sliced_wasserstein(a, b, dirs_per_repeat, dir_repeats,
                                 np.random.default_rng(seed + 1 + index))
        levels[resolution >> index] = swd * 1e3
    return {"levels": levels, "average": float(np.mean(list(levels.values())))}
