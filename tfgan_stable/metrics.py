"""Sample-quality and diversity measures.

Only what the current benchmarks need lives here so far: a label-free
diversity measure, used for BEGAN's gamma study (Berthelot 2017, sec. 4.1:
lower gamma, less diversity).
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
