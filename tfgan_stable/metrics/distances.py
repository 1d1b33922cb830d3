"""Distances between sample sets, in NumPy: diversity, SWD, W1, modes, FID / KID on features.

* :func:`mean_pairwise_distance`: a label-free diversity measure (BEGAN's gamma
  study, Berthelot 2017, sec. 4.1).
* :func:`sliced_wasserstein_distance`: the ProGAN paper's multi-scale SWD on
  Laplacian pyramids (Karras 2018, sec. 5 and appendix D).
* :func:`wasserstein_1`: the exact empirical earth mover's distance (Arjovsky 2017).
* :func:`mode_coverage`: modes on 2-D mixtures (VEEGAN, PacGAN definitions).
* :func:`frechet_distance` / :func:`kernel_distance`: FID / KID on any features.
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


def wasserstein_1(a, b):
    """Exact empirical Wasserstein-1 (earth mover's) distance between two point sets.

    For equally sized sets ``[N, D]`` with uniform weights the optimal
    transport plan is a permutation (Birkhoff-von Neumann), found here by
    optimal assignment on the Euclidean cost matrix; W1 is the mean matched
    distance. The distance WGAN's critic estimates up to a constant factor
    (Arjovsky 2017, eq. 1-3), so it checks the critic's estimate on small
    (toy, 2-D) samples; cost grows as O(N^3), about a second at N = 2,000.

    Returns:
      A float.
    """
    from scipy.optimize import linear_sum_assignment

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"wasserstein_1 needs two [N, D] sets of one shape, got {a.shape} "
                         f"and {b.shape}")
    cost = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


# ---------------------------------------------------------------- mixtures
def mode_coverage(samples, centers, std, min_count=1):
    """Mode coverage of 2-D (or any-D) mixture samples, VEEGAN / PacGAN style.

    A sample is *high quality* when it lies within 3 standard deviations of
    its nearest centre; a mode is *captured* when at least ``min_count``
    high-quality samples fall to it (Srivastava 2017, arXiv 1705.07761;
    Lin 2018, arXiv 1712.04086). ``reverse_kl`` is KL(p_gen || uniform) of the
    histogram of the high-quality samples over the modes (0: all modes equally
    covered; ``inf`` when no sample is of high quality).

    Returns:
      ``{"modes": int, "high_quality": fraction, "reverse_kl": float,
      "counts": per-mode high-quality counts}``.
    """
    samples = np.asarray(samples, np.float64)
    centers = np.asarray(centers, np.float64)
    if samples.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(f"samples {samples.shape} and centers {centers.shape} must be "
                         "[N, D] and [K, D]")
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(samples)), nearest] <= 3.0 * std
    counts = np.bincount(nearest[good], minlength=len(centers))
    return {"modes": int((counts >= min_count).sum()), "high_quality": float(good.mean()),
            "reverse_kl": kl_to_uniform(counts), "counts": counts.tolist()}


def kl_to_uniform(counts):
    """KL(histogram ``counts`` || uniform over its bins), in nats; inf when empty."""
    counts = np.asarray(counts)
    total = counts.sum()
    if total == 0:
        return float("inf")
    p = counts[counts > 0] / total
    return float(np.sum(p * np.log(p * len(counts))))


# ------------------------------------------------------- feature distances
def frechet_distance(features_a, features_b):
    """Fréchet distance between Gaussians fitted to two feature sets (FID's formula).

    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` (Heusel 2017,
    arXiv 1706.08500). The trace of the matrix square root is computed from
    the eigenvalues of the symmetric PSD matrix ``S_a^(1/2) S_b S_a^(1/2)``,
    which has the same eigenvalues as ``S_a S_b``; it is checked against the
    product before use.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be [N, D] with equal D, got {a.shape}, {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    cov_a, cov_b = np.atleast_2d(cov_a), np.atleast_2d(cov_b)
    root_a = _psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    eigenvalues = np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)
    trace_sqrt = float(np.sqrt(eigenvalues).sum())
    # numerical check: the eigenvalue sum equals tr(S_a S_b) up to rounding
    scale = max(1.0, abs(float(np.trace(cov_a @ cov_b))))
    if abs(eigenvalues.sum() - np.trace(cov_a @ cov_b)) > 1e-6 * scale * len(cov_a):
        raise FloatingPointError("frechet_distance: matrix square root is inaccurate "
                                 "(ill-conditioned covariances; use more samples)")
    value = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                  - 2.0 * trace_sqrt)
    return max(value, 0.0)


def _psd_sqrt(matrix):
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def kernel_distance(features_a, features_b, num_subsets=10, subset_size=1000, seed=0):
    """KID: the unbiased MMD^2 with kernel ``(x.y / d + 1)^3`` (Binkowski 2018, arXiv 1801.01401).

    Averaged over ``num_subsets`` random subsets of ``subset_size`` (capped by
    the smaller set). Returns ``(mean, std)`` over the subsets.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be [N, D] with equal D, got {a.shape}, {b.shape}")
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError(f"kernel_distance needs >= 2 samples per set, got {size}")
    rng = np.random.default_rng(seed)
    dim = a.shape[1]
    values = []
    for _ in range(num_subsets):
        x = a[rng.choice(len(a), size, replace=False)]
        y = b[rng.choice(len(b), size, replace=False)]
        kxx = (x @ x.T / dim + 1.0) ** 3
        kyy = (y @ y.T / dim + 1.0) ** 3
        kxy = (x @ y.T / dim + 1.0) ** 3
        off = size * (size - 1)
        values.append((kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off
                      - 2.0 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))
