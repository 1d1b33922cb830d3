"""Fidelity measures on hand-computed point sets, and the cached labelled classifier."""

import math

import numpy as np
import pytest

from tfgan_stable import metrics
from tfgan_stable.metrics import features as features_lib


def column(*values):
    """1-D points as an ``[N, 1]`` feature array."""
    return np.array(values, np.float64)[:, None]


# ------------------------------------------------------- precision / recall
def test_precision_recall_hand_computed_in_one_dimension():
    # k = 1. Real 0, 1, 2, 10: radii (distance to the nearest other real point) 1, 1, 1, 8.
    # Fake 0.5, 3.5, 21, 30: radii 3 (to 3.5), 3 (to 0.5), 9 (to 30), 9 (to 21).
    # Precision, fakes in a real ball: 0.5 (|0.5 - 0| <= 1) yes; 3.5 (|3.5 - 2| = 1.5 > 1,
    #   |3.5 - 10| = 6.5 <= 8) yes; 21 (|21 - 10| = 11 > 8) no; 30 no -> 2 / 4.
    # Recall, reals in a fake ball: 0, 1, 2 within 3 of 0.5 yes; 10 (|10 - 3.5| = 6.5 > 3,
    #   |10 - 21| = 11 > 9) no -> 3 / 4.
    real, fake = column(0, 1, 2, 10), column(0.5, 3.5, 21, 30)
    assert metrics.precision_recall(real, fake, k=1) == {"precision": 0.5, "recall": 0.75}
    # Swapping the sets swaps the two numbers.
    assert metrics.precision_recall(fake, real, k=1) == {"precision": 0.75, "recall": 0.5}


def test_precision_recall_balls_are_closed_and_k_is_the_kth_other_point():
    # k = 1. Real 0, 1: radii 1, 1; fake 2 lies on real 1's ball's boundary (|2 - 1| = 1):
    # inside (Kynkaanniemi eq. 1 uses <=); fake 5 is out -> precision 1 / 2.
    # Fake radii 3, 3: reals 0 and 1 within 3 of fake 2 -> recall 1.
    real, fake = column(0, 1), column(2, 5)
    assert metrics.precision_recall(real, fake, k=1) == {"precision": 0.5, "recall": 1.0}
    # k = 2 needs 3 points per set: real 0, 1, 3 -> radii 3 (to 3), 2 (to 3), 3 (to 0).
    # Fake 6, 7, 20 -> radii 14, 13, 14. Fake 6 is 3 from real 3: inside; 7 (4 > 3) and 20 are
    # not -> precision 1/3. Reals 0, 1, 3 are within 14 of fake 6 -> recall 1.
    result = metrics.precision_recall(column(0, 1, 3), column(6, 7, 20), k=2)
    assert result == {"precision": pytest.approx(1 / 3), "recall": 1.0}


def test_identical_sets_score_one_and_far_apart_sets_zero():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(200, 8))
    duplicated = np.concatenate([points, points[:50]])  # duplicates: radii of 0 for k = 1
    for k in (1, 3):
        assert metrics.precision_recall(duplicated, duplicated, k=k) == {
            "precision": 1.0, "recall": 1.0}
        assert metrics.density_coverage(duplicated, duplicated, k=k)["coverage"] == 1.0
    far = points + 1000.0
    assert metrics.precision_recall(points, far) == {"precision": 0.0, "recall": 0.0}
    assert metrics.density_coverage(points, far) == {"density": 0.0, "coverage": 0.0}


# ------------------------------------------------------- density / coverage
def test_density_coverage_hand_computed_in_one_dimension():
    # k = 2. Real 0, 1, 2, 3, 4: second-nearest distances 2, 1, 1, 1, 2, so the balls are
    # B0 = [-2, 2], B1 = [0, 2], B2 = [1, 3], B3 = [2, 4], B4 = [2, 6].
    # Fake 0 is in B0, B1 (boundary: |0 - 1| = 1)  -> 2
    # Fake 0.5 is in B0, B1                         -> 2
    # Fake 4.5 is in B4 (|4.5 - 3| = 1.5 > 1: not B3) -> 1
    # Fake 10 is in none                            -> 0
    # density = (2 + 2 + 1 + 0) / (k M = 2 * 4) = 5 / 8; coverage: B0, B1, B4 hold a fake,
    # B2, B3 do not -> 3 / 5.
    result = metrics.density_coverage(column(0, 1, 2, 3, 4), column(0, 0.5, 4.5, 10), k=2)
    assert result == {"density": 0.625, "coverage": 0.6}


def test_density_exceeds_one_when_samples_crowd_into_dense_regions():
    # k = 1. Real 0, 1, 2, 3: radii 1 each; balls [-1, 1], [0, 2], [1, 3], [2, 4].
    # Both fakes at 1 are in three balls (0, 1, 2) -> density = 6 / (1 * 2) = 3;
    # coverage: balls of 0, 1, 2 hold one, ball of 3 does not (|1 - 3| = 2) -> 3 / 4.
    result = metrics.density_coverage(column(0, 1, 2, 3), column(1, 1), k=1)
    assert result == {"density": 3.0, "coverage": 0.75}


def test_density_is_one_in_expectation_for_the_data_distribution():
    # A fresh point falls in real X_i's ball when it is among X_i's k nearest of the other
    # N - 1 reals and itself: probability k / N by exchangeability, so E[density] = 1.
    rng = np.random.default_rng(1)
    values = [metrics.density_coverage(rng.normal(size=(400, 4)), rng.normal(size=(400, 4)),
                                       k=5)["density"] for _ in range(5)]
    assert np.mean(values) == pytest.approx(1.0, abs=0.06)


# ----------------------------------------------------- blocks and reference
def reference_measures(real, fake, k):
    """Brute force with scipy's cdist, straight from the papers' definitions."""
    from scipy.spatial.distance import cdist

    def radii(points):
        distances = np.sort(cdist(points, points), axis=1)
        return distances[:, k]  # column 0 is the point itself (distance 0)

    real_fake = cdist(real, fake)
    inside_real = real_fake <= radii(real)[:, None]      # [real ball i, fake j]
    inside_fake = real_fake <= radii(fake)[None, :]      # [real i, fake ball j]
    return {"precision": inside_real.any(axis=0).mean(), "recall": inside_fake.any(axis=1).mean(),
            "density": inside_real.sum() / (k * len(fake)),
            "coverage": inside_real.any(axis=1).mean()}


@pytest.mark.parametrize("batch_size", [1, 7, 64, 100_000])
def test_blocked_computation_equals_unblocked_and_the_brute_force(batch_size):
    rng = np.random.default_rng(2)
    real = rng.normal(size=(230, 6)).astype(np.float32)
    fake = (rng.normal(size=(170, 6)) * 1.3 + 0.4).astype(np.float32)
    expected = reference_measures(real.astype(np.float64), fake.astype(np.float64), k=3)
    result = dict(metrics.precision_recall(real, fake, k=3, batch_size=batch_size),
                  **metrics.density_coverage(real, fake, k=3, batch_size=batch_size))
    assert result == pytest.approx(expected, abs=1e-12)
    assert 0.0 < result["precision"] < 1.0 and 0.0 < result["coverage"] < 1.0
    train = rng.normal(size=(150, 6))
    copies = metrics.copy_share(train, real, np.concatenate([train[:30], fake]),
                                batch_size=batch_size)
    assert copies == pytest.approx(metrics.copy_share(
        train, real, np.concatenate([train[:30], fake]), batch_size=100_000), rel=1e-12)


# ------------------------------------------------------------------ copies
def test_copy_share_hand_computed():
    # Train 0, 10, 20; held-out 3, 14, 18, 25 are 3, 4, 2, 5 from their nearest training
    # point. quantile 0 -> threshold 2 (the minimum). Samples 10, 1, 19.5, 7 are 0, 1, 0.5,
    # 3 away -> three are <= 2 -> 3 / 4.
    train, held_out, samples = column(0, 10, 20), column(3, 14, 18, 25), column(10, 1, 19.5, 7)
    assert metrics.copy_share(train, held_out, samples, quantile=0.0) == {
        "copy_share": 0.75, "threshold": 2.0}
    # The median of 2, 3, 4, 5 is 3.5: all four samples are within it.
    assert metrics.copy_share(train, held_out, samples, quantile=0.5) == {
        "copy_share": 1.0, "threshold": 3.5}
    # Default 1% quantile: 2 + 0.03 * (3 - 2) by linear interpolation at position 0.01 * 3.
    result = metrics.copy_share(train, held_out, samples)
    assert result["threshold"] == pytest.approx(2.03) and result["copy_share"] == 0.75


def test_copy_share_catches_copies_of_training_points_and_not_fresh_points():
    rng = np.random.default_rng(3)
    train, held_out = rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16))
    fresh = rng.normal(size=(500, 16))
    copied = train[rng.choice(1000, 500, replace=False)]
    assert metrics.copy_share(train, held_out, copied)["copy_share"] == 1.0
    # Fresh draws fall below the 1% quantile of held-out distances about 1% of the time.
    assert metrics.copy_share(train, held_out, fresh)["copy_share"] < 0.04
    # Half copies, half fresh.
    mixed = metrics.copy_share(train, held_out, np.concatenate([copied[:250], fresh[:250]]))
    assert 0.5 <= mixed["copy_share"] < 0.52
    # Copies in float32, as features come out of a network, are still at distance 0.
    as_float32 = metrics.copy_share(train.astype(np.float32), held_out,
                                    train[:100].astype(np.float32))
    assert as_float32["copy_share"] == 1.0
    # Held-out images that are themselves copies of training images (a threshold of 0):
    # exact copies are still counted, fresh samples are not.
    leaky = np.concatenate([train[:20], held_out[:980]])
    assert metrics.copy_share(train, leaky, copied)["copy_share"] == 1.0
    result = metrics.copy_share(train, leaky, fresh)
    assert result == {"copy_share": 0.0, "threshold": 0.0}


# ----------------------------------------------------- conditional accuracy
def test_conditional_accuracy_on_given_logits_and_labels():
    logits = np.array([[2.0, 1.0, 0.0],    # -> 0, asked 0: right
                       [0.0, 3.0, 1.0],    # -> 1, asked 1: right
                       [1.0, 0.0, 5.0],    # -> 2, asked 1: wrong
                       [4.0, 0.0, 0.0]])   # -> 0, asked 2: wrong
    requested = [0, 1, 1, 2]
    assert metrics.conditional_accuracy(logits, requested) == 0.5
    assert metrics.conditional_accuracy([0, 1, 2, 2], requested) == 0.75
    assert metrics.conditional_accuracy(np.array([0.0, 1.0]), [0, 1]) == 1.0

    def classifier(images, training=False):
        assert not training and len(images) <= 3
        return images.reshape(len(images), -1)[:, :3]  # the first three pixels are logits

    images = np.repeat(logits[:, None, :], 2, axis=1)  # [4, 2, 3]: batches of 3 and 1
    assert metrics.classifier_conditional_accuracy(classifier, images, requested,
                                                   batch_size=3) == 0.5


@pytest.mark.parametrize("predicted, requested, words", [
    (np.zeros((2, 2, 2)), [0, 1], "predicted_labels_or_logits must be"),
    ([0, 1, 1], [0, 1], "requested_labels has 2 labels for 3 samples"),
    ([0, 1], [0.5, 1.0], "requested_labels must hold integer class labels"),
    ([[0.0, np.nan]], [0], "finite"),
    (np.zeros(0, int), [], "requested_labels is empty"),
])
def test_conditional_accuracy_refuses_bad_inputs(predicted, requested, words):
    with pytest.raises(ValueError, match=words):
        metrics.conditional_accuracy(predicted, requested)


# -------------------------------------------------------- per-class Frechet
def test_per_class_frechet_of_a_mean_shift_is_its_squared_norm():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(600, 3))
    labels = np.repeat([0, 1, 2], [300, 290, 10])
    fake = real.copy()
    # Class 0 shifted by mu = (1, 2, 2): same covariance, so the distance is |mu|^2 = 9.
    fake[labels == 0] += [1.0, 2.0, 2.0]
    # Class 1 unchanged: 0. Class 2 has 10 < min_count points: NaN, left out of the mean.
    result = metrics.per_class_frechet(real, labels, fake, labels, min_count=20)
    assert list(result) == ["0", "1", "2", "mean"]
    assert result["0"] == pytest.approx(9.0, rel=1e-9)
    assert result["1"] == pytest.approx(0.0, abs=1e-9)
    assert math.isnan(result["2"]) and result["mean"] == pytest.approx(4.5, rel=1e-9)
    # Named classes; one absent from the fakes (NaN) and the default min_count of D + 1 = 4.
    named = metrics.per_class_frechet(real, labels, fake[labels != 1], labels[labels != 1],
                                      class_names=["shirt", "bag", "boot"])
    assert list(named) == ["shirt", "bag", "boot", "mean"]
    assert named["shirt"] == pytest.approx(9.0, rel=1e-9) and math.isnan(named["bag"])
    assert named["boot"] == pytest.approx(0.0, abs=1e-9)
    assert named["mean"] == pytest.approx(4.5, rel=1e-9)
    nothing = metrics.per_class_frechet(real, labels, fake, labels, min_count=1000)
    assert all(math.isnan(value) for value in nothing.values())
    with pytest.raises(ValueError, match=r"real_labels must lie in \[0, 1\]"):
        metrics.per_class_frechet(real, labels, fake, labels, class_names=["a", "b"])
    with pytest.raises(ValueError, match="real_labels has 3 labels for 600 samples"):
        metrics.per_class_frechet(real, [0, 1, 2], fake, labels)


# -------------------------------------------------------------- validation
@pytest.mark.parametrize("call, words", [
    (lambda: metrics.precision_recall(np.zeros(5), np.zeros((5, 1))),
     r"real_features must be a 2-D \[N, D\] array"),
    (lambda: metrics.precision_recall(np.zeros((5, 2)), np.zeros((5, 3))),
     "fake_features has 3 features per row, the other set 2"),
    (lambda: metrics.precision_recall(np.zeros((5, 2)), np.full((5, 2), np.nan)),
     "fake_features holds NaN or infinite values"),
    (lambda: metrics.precision_recall(np.zeros((3, 2)), np.zeros((5, 2)), k=3),
     "real_features needs at least 4 rows, got 3"),
    (lambda: metrics.density_coverage(np.zeros((6, 2)), np.zeros((0, 2))),
     "fake_features needs at least 1 row, got 0"),
    (lambda: metrics.density_coverage(np.zeros((5, 2)), np.zeros((5, 2))),
     "real_features needs at least 6 rows, got 5"),
    (lambda: metrics.density_coverage(np.zeros((5, 2)), np.zeros((5, 2)), k=0),
     "k must be an int >= 1"),
    (lambda: metrics.precision_recall(np.zeros((5, 2)), np.zeros((5, 2)), batch_size=0),
     "batch_size must be an int >= 1"),
    (lambda: metrics.density_coverage([["a", "b"]] * 6, np.zeros((5, 2))),
     "real_features must be a numeric"),
    (lambda: metrics.copy_share(np.zeros((5, 2)), np.zeros((5, 2)), np.zeros((5, 2)),
                                quantile=1.0), r"quantile must be a number in \[0, 1\)"),
    (lambda: metrics.copy_share(np.zeros((5, 2)), np.zeros((1, 2)), np.zeros((5, 2))),
     "held_out_features needs at least 2 rows"),
    (lambda: metrics.copy_share(np.zeros((5, 2)), np.zeros((5, 2)), np.zeros((5, 1))),
     "sample_features has 1 features per row"),
    (lambda: metrics.per_class_frechet(np.zeros((5, 2)), np.zeros(5, int), np.zeros((5, 2)),
                                       np.zeros(5, int), min_count=1),
     "min_count must be an int >= 2"),
])
def test_inputs_are_validated_naming_the_argument(call, words):
    with pytest.raises(ValueError, match=words):
        call()


# ------------------------------------------------------ labelled classifier
def bright_and_dark(count, seed=0, channels=3):
    """Colour 8x8 images: class 0 dark (-1 .. -0.4), class 1 bright (0.4 .. 1)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 2
    images = rng.uniform(0.4, 1.0, (count, 8, 8, channels)).astype(np.float32)
    images[labels == 0] *= -1.0
    return images, labels


def test_labelled_classifier_trains_once_then_loads_from_its_cache(tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.setenv("TFGAN_STABLE_CACHE", str(tmp_path / "cache"))
    trained = []
    real_train = features_lib.train_image_classifier

    def counting(*args, **kwargs):
        trained.append(kwargs["name"])
        return real_train(*args, **kwargs)

    monkeypatch.setattr(features_lib, "train_image_classifier", counting)
    images, labels = bright_and_dark(200)
    model, accuracy, (x_held, y_held) = metrics.labelled_classifier(
        images, labels, 2, "bright_dark", epochs=1, batch_size=16)
    assert trained == ["bright_dark"] and "training the bright_dark classifier" in \
        capsys.readouterr().out
    assert x_held.shape == (20, 8, 8, 3) and np.bincount(y_held).tolist() == [10, 10]
    assert accuracy >= 0.95
    assert metrics.classifier_features(model)(x_held).shape == (20, 64)
    assert metrics.classifier_conditional_accuracy(model, x_held, y_held) == pytest.approx(
        accuracy, abs=1e-6)
    assert len(list((tmp_path / "cache").glob("bright_dark-*.keras"))) == 1

    again, cached_accuracy, (x_again, y_again) = metrics.labelled_classifier(
        images, labels, 2, "bright_dark", epochs=1, batch_size=16)
    assert trained == ["bright_dark"], "the second call trained instead of loading"
    assert "loading the bright_dark classifier" in capsys.readouterr().out
    assert cached_accuracy == accuracy
    np.testing.assert_array_equal(x_again, x_held)
    np.testing.assert_array_equal(y_again, y_held)
    np.testing.assert_allclose(again.predict(x_held, verbose=0),
                               model.predict(x_held, verbose=0), atol=1e-5)

    # Other data (one label flipped) is another key: it trains again.
    flipped = labels.copy()
    flipped[0] = 1 - flipped[0]
    metrics.labelled_classifier(images, flipped, 2, "bright_dark", epochs=1, batch_size=16)
    assert trained == ["bright_dark"] * 2
    assert len(list((tmp_path / "cache").glob("bright_dark-*.keras"))) == 2


@pytest.mark.parametrize("kwargs, words", [
    (dict(name="a/b"), "name must be letters"),
    (dict(images=np.zeros((10, 8, 8), np.float32)), r"images must be a numeric \[N, H, W, C\]"),
    (dict(labels=np.zeros(9, int)), "labels must be"),
    (dict(labels=np.full(10, 2)), r"labels must lie in \[0, 1\]"),
    (dict(num_classes=1), "num_classes must be an int >= 2"),
    (dict(held_out=1.5), r"held_out must be a fraction in \(0, 1\)"),
    (dict(held_out=0.05), "stratified held-out split"),
])
def test_labelled_classifier_validates_its_inputs(kwargs, words):
    images, labels = bright_and_dark(10)
    arguments = dict(images=images, labels=labels, num_classes=2, name="ok", cache=False)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=words):
        metrics.labelled_classifier(**arguments)
