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


def test_wasserstein_1_hand_computed():
    a = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    # a translation moves every point by its length: W1 = |shift| = 5
    assert metrics.wasserstein_1(a, a + [3.0, 4.0]) == pytest.approx(5.0)
    # a permutation of the same points costs nothing
    assert metrics.wasserstein_1(a, a[::-1]) == pytest.approx(0.0)
    # one point moved by 3, the best plan leaves the others: 3 / 3 points
    b = a.copy()
    b[2] = [0.0, 5.0]
    assert metrics.wasserstein_1(a, b) == pytest.approx(1.0)
    # in 1-D, W1 is the mean gap between the sorted samples
    x, y = np.random.default_rng(0).normal(size=(2, 50, 1))
    expected = np.abs(np.sort(x[:, 0]) - np.sort(y[:, 0])).mean()
    assert metrics.wasserstein_1(x, y) == pytest.approx(expected)
    with pytest.raises(ValueError, match="wasserstein_1 needs two"):
        metrics.wasserstein_1(a, a[:2])


def test_mode_coverage_hand_computed():
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    samples = np.array([
        [0.1, 0.0], [0.0, -0.2], [9.9, 0.1],  # high quality: 2 at mode 0, 1 at mode 1
        [5.0, 5.0],                           # far from every centre (std 0.1 -> 0.3)
    ])
    result = metrics.mode_coverage(samples, centers, std=0.1)
    assert result["modes"] == 2 and result["counts"] == [2, 1, 0]
    assert result["high_quality"] == pytest.approx(0.75)
    # KL((2/3, 1/3, 0) || uniform(3)) = 2/3 ln 2 + 1/3 ln 1
    assert result["reverse_kl"] == pytest.approx(2 / 3 * np.log(2.0))
    assert metrics.mode_coverage(samples, centers, std=0.1, min_count=2)["modes"] == 1
    assert metrics.mode_coverage(samples[3:], centers, std=0.1)["reverse_kl"] == float("inf")


def test_mode_coverage_of_the_true_mixture_is_complete():
    from tfgan_stable import data

    for name, modes in (("ring8", 8), ("grid25", 25)):
        points = data.sample_mixture(name, 2500, seed=0)
        result = metrics.mode_coverage(points, data.mixture_centers(name), data.MIXTURE_STD[name])
        assert result["modes"] == modes
        assert result["high_quality"] > 0.98  # 3 std in 2-D holds ~98.9% of the mass
        assert result["reverse_kl"] < 0.02


def test_frechet_distance_hand_computed_and_zero_for_identical_sets():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    # Gaussians N(0, I) and N(m, 4I) in 3-D: |m|^2 + tr(I + 4I - 2*2I) = |m|^2 + 3
    b = rng.normal(size=(4000, 3)) * 2.0 + [1.0, 2.0, 2.0]
    assert metrics.frechet_distance(a, b) == pytest.approx(9.0 + 3.0, rel=0.05)


def test_frechet_matrix_square_root_agrees_with_scipy():
    import scipy.linalg

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(500, 6)), rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = (np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                - 2 * np.trace(scipy.linalg.sqrtm(cov_a @ cov_b)).real)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_kernel_distance_is_unbiased_near_zero_and_positive_for_a_shift():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(600, 4)), rng.normal(size=(600, 4))
    same, _ = metrics.kernel_distance(a, b, num_subsets=5, subset_size=500)
    shifted, _ = metrics.kernel_distance(a, b + 1.0, num_subsets=5, subset_size=500)
    assert abs(same) < 0.02 and shifted > 0.5
    # hand-computed 1-D case with two points each: k(x, y) = (x y + 1)^3
    x, y = np.array([[0.0], [1.0]]), np.array([[1.0], [2.0]])
    kxx = 2 * (0 * 1 + 1) ** 3 / 2  # off-diagonal pairs of x: k(0, 1) twice over 2 pairs
    kyy = 2 * (1 * 2 + 1) ** 3 / 2
    kxy = ((0 * 1 + 1) ** 3 + (0 * 2 + 1) ** 3 + (1 * 1 + 1) ** 3 + (1 * 2 + 1) ** 3) / 4
    value, _ = metrics.kernel_distance(x, y, num_subsets=1, subset_size=2)
    assert value == pytest.approx(kxx + kyy - 2 * kxy)


@pytest.fixture(scope="module")
def digit_classifier():
    return metrics.train_digit_classifier(seed=0)


def test_digit_classifier_input_area_averages_to_8x8():
    images = np.zeros((2, 16, 16), np.float32)
    images[0, :2, :2] = 1.0          # one 2x2 block -> one pixel of 1
    images[1, :, :8] = -1.0          # left half -> left four columns of -1
    x = metrics.digit_classifier_input(images)
    assert x.shape == (2, 8, 8, 1)
    assert x[0, 0, 0, 0] == pytest.approx(1.0) and np.abs(x[0]).sum() == pytest.approx(1.0)
    np.testing.assert_allclose(x[1, :, :4, 0], -1.0)
    np.testing.assert_allclose(x[1, :, 4:, 0], 0.0)
    assert metrics.digit_classifier_input(images[:, ::2, ::2]).shape == (2, 8, 8, 1)


@pytest.mark.slow  # trains the classifier the first time (then cached)
def test_digit_classifier_reaches_97_percent_held_out(digit_classifier):
    _, accuracy = digit_classifier
    assert accuracy >= 0.97


def test_stacked_mode_count_on_real_stacked_digits(digit_classifier):
    from tfgan_stable import data

    classifier, _ = digit_classifier
    images, modes = data.stacked_digits(3000, resolution=16, seed=0)
    assert images.shape == (3000, 16, 16, 3) and images.min() >= -1 and images.max() <= 1
    result = metrics.stacked_mode_count(images, classifier)
    true_modes = len(np.unique(modes))
    assert abs(result["modes"] - true_modes) <= 0.05 * true_modes
    collapsed = metrics.stacked_mode_count(np.repeat(images[:1], 100, axis=0), classifier,
                                           per_channel=True)
    assert collapsed["modes"] == 1
    assert collapsed["reverse_kl"] == pytest.approx(np.log(1000.0))
    assert collapsed["channel_kl"] == [pytest.approx(np.log(10.0))] * 3
    assert collapsed["channels_kl"] == pytest.approx(3 * np.log(10.0))
    assert [sorted(counts) for counts in collapsed["channel_counts"]] == [[0] * 9 + [100]] * 3
    # Green copies red: each channel's digits stay uniform, the pairs do not.
    paired = metrics.stacked_mode_count(images[..., [0, 0, 2]], classifier)
    assert paired["channels_kl"] < 0.1
    assert np.log(10.0) <= paired["reverse_kl"] < np.log(10.0) + 0.05  # 100 modes at most
    # As a training-time metric: flat floats, one per key.
    suite = metrics.evaluation_suite("stacked_digits", images, names=("stacked_modes",),
                                     classifier=classifier)
    logged = metrics.evaluate(suite, images[:500])
    assert sorted(logged) == ["stacked_modes/channels_kl", "stacked_modes/modes",
                              "stacked_modes/reverse_kl"]
    assert all(isinstance(value, float) for value in logged.values())
    features = metrics.extract_features(metrics.digit_features(classifier),
                                        images[:500, ::2, ::2, :1])
    assert features.shape == (500, 64)


@pytest.mark.heavy
def test_inception_features_load_from_a_local_weights_file(tmp_path):
    import keras

    model = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                           input_shape=(299, 299, 3))
    model.save_weights(str(tmp_path / "inception.weights.h5"))
    extractor = metrics.inception_feature_extractor(str(tmp_path / "inception.weights.h5"))
    features = metrics.extract_features(extractor, np.zeros((2, 16, 16, 1), np.float32))
    assert features.shape == (2, 2048)
    with pytest.raises(FileNotFoundError, match="InceptionV3 weights file not found"):
        metrics.inception_feature_extractor(str(tmp_path / "missing.h5"))


def test_fashion_classifier_trains_on_idx_files_and_caches(tmp_path, monkeypatch):
    """Two classes (bright top half vs bright bottom half) in train/t10k IDX files:
    the classifier learns them, reports test accuracy, and a second call loads it."""
    from data_test import write_idx

    rng = np.random.default_rng(0)

    def split(count):
        labels = rng.integers(0, 2, count)
        images = rng.integers(0, 60, (count, 28, 28))
        for image, label in zip(images, labels):
            image[:14] += 180 * (label == 0)
            image[14:] += 180 * (label == 1)
        return images.astype(np.uint8), labels.astype(np.uint8)

    for prefix, count in (("train", 256), ("t10k", 64)):
        images, labels = split(count)
        write_idx(str(tmp_path / f"{prefix}-images-idx3-ubyte.gz"), images)
        write_idx(str(tmp_path / f"{prefix}-labels-idx1-ubyte.gz"), labels)
    x, y = metrics.load_fashion_mnist_split(str(tmp_path), "test", resolution=8)
    assert x.shape == (64, 8, 8, 1) and x.min() >= -1 and x.max() <= 1 and y.shape == (64,)
    monkeypatch.setenv("TFGAN_STABLE_CACHE", str(tmp_path / "cache"))
    model, accuracy = metrics.fashion_classifier(str(tmp_path), resolution=8, epochs=3)
    assert accuracy >= 0.95
    assert metrics.classifier_features(model)(x).shape == (64, 64)
    again, cached_accuracy = metrics.fashion_classifier(str(tmp_path), resolution=8, epochs=3)
    assert cached_accuracy == accuracy
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)
    with pytest.raises(FileNotFoundError, match="lacks the train split"):
        metrics.fashion_classifier(str(tmp_path / "nowhere"), resolution=8)
