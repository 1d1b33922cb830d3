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


def test_sliced_wasserstein_of_a_shift_is_the_shift_in_one_dimension():
    a = np.random.default_rng(0).normal(size=(500, 1))
    # in 1-D every unit direction is +-1, so the distance is exactly the shift
    assert metrics.sliced_wasserstein(a, a + 0.3) == pytest.approx(0.3)
    assert metrics.sliced_wasserstein(a, a) == 0.0


def test_sliced_wasserstein_in_two_dimensions_golden():
    # b = a shifted by (3, 4): projection on unit u shifts by u.(3, 4); the mean over
    # directions of |u.(3, 4)| is 5 * E|cos theta| = 5 * 2 / pi for uniform angles.
    a = np.random.default_rng(0).normal(size=(400, 2))
    value = metrics.sliced_wasserstein(a, a + [3.0, 4.0], dirs_per_repeat=4096, dir_repeats=4)
    assert value == pytest.approx(10 / np.pi, rel=0.02)


def test_laplacian_pyramid_reconstructs_the_image():
    image = np.random.default_rng(0).uniform(size=(2, 16, 16, 1))
    levels = metrics.laplacian_pyramid(image, 3)
    assert [lvl.shape[1] for lvl in levels] == [16, 8, 4]
    current = levels[-1]
    for detail in reversed(levels[:-1]):
        up = np.zeros_like(detail)
        up[:, ::2, ::2] = current
        current = detail + 4.0 * metrics._blur(up)
    np.testing.assert_allclose(current, image, atol=1e-10)


def test_swd_is_zero_for_identical_sets_and_grows_with_the_difference():
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (64, 32, 32, 1))
    same = metrics.sliced_wasserstein_distance(real, real.copy(), nhoods_per_image=16)
    assert list(same["levels"]) == [32, 16] and same["average"] == 0.0
    blurred = metrics.sliced_wasserstein_distance(real, metrics._blur(real), nhoods_per_image=16)
    noise = metrics.sliced_wasserstein_distance(real, rng.uniform(-1, 1, real.shape),
                                                nhoods_per_image=16)
    assert blurred["average"] > noise["average"] > 0.0  # blur changes the statistics more
    small = metrics.sliced_wasserstein_distance(real[:, :8, :8], real[:, :8, :8])
    assert list(small["levels"]) == [16]  # 8x8 images are up-sampled to 16x16
