"""Metrics against hand-computed cases."""

import numpy as np
import pytest

from tfgan_stable import metrics


def test_mean_pairwise_distance_golden():
    # pairs: (0,0)-(3,4)=5, (0,0)-(0,8)=8, (3,4)-(0,8)=5 -> mean 6
    points = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 8.0]])
    assert metrics.mean_pairwise_distance(points) == pytest.approx(6.0)


def test_mean_pairwise_distance_is_zero_for_a_collapsed_generator():
    assert metrics.mean_pairwise_distance(np.ones((10, 4, 4, 1))) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="needs >= 2 samples, got 1"):
        metrics.mean_pairwise_distance(np.ones((1, 3)))
