"""How faithful and how diverse samples are, measured on feature vectors, in NumPy.

* :func:`precision_recall`: improved precision and recall (Kynkäänniemi et al.
  2019, arXiv 1904.06991): fidelity and diversity as two numbers.
* :func:`density_coverage`: density and coverage (Naeem et al. 2020, arXiv
  2002.09797), less swayed by outliers than precision and recall.
* :func:`copy_share`: memorisation: the share of samples closer to a training
  point than fresh real images are.
* :func:`conditional_accuracy` / :func:`classifier_conditional_accuracy`: how
  often a conditional generator makes the class it was asked for.
* :func:`per_class_frechet`: the Fréchet distance class by class.

The features are ``[N, D]`` arrays, from
:func:`~tfgan_stable.metrics.classifier_features` or any other extractor.
Pairwise distances are computed ``batch_size`` rows at a time as
``|x|^2 + |y|^2 - 2 x.y`` in float64 (memory: about three ``batch_size x N``
float64 arrays beside the features, 120 MB for ``N = 10,000`` at the default
512). Squared distances below that expansion's rounding error
(``1e-12 (|x|^2 + |y|^2)``) are set to 0, so that a point and its exact copy
are at distance 0 whatever the blocking.
"""

import math

import numpy as np

from tfgan_stable.metrics.distances import frechet_distance

DEFAULT_BATCH_SIZE = 512
_ROUNDING = 1e-12


# ------------------------------------------------------------------ inputs
def _features(value, name, min_rows=1, dim=None):
    """``value`` as a float64 ``[N, D]`` array, or a ValueError naming ``name``."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a numeric [N, D] array: {error}") from None
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D [N, D] array of feature vectors, got shape "
                         f"{array.shape}")
    if array.shape[1] < 1:
        raise ValueError(f"{name} has no feature columns (shape {array.shape})")
    if dim is not None and array.shape[1] != dim:
        raise ValueError(f"{name} has {array.shape[1]} features per row, the other set "
                         f"{dim}: both must come from the same feature extractor")
    if len(array) < min_rows:
        rows = "row" if min_rows == 1 else "rows"
        raise ValueError(f"{name} needs at least {min_rows} {rows}, got {len(array)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def _check_k(k, name="k"):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{name} must be an int >= 1, got {k!r}")
    return int(k)


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    return int(batch_size)


# --------------------------------------------------------------- distances
def _squared_distance_blocks(a, b, batch_size):
    """Yields ``(start, d2)``: squared distances of rows ``a[start:start + B]`` to all of ``b``.

    ``|x|^2 + |y|^2 - 2 x.y`` in float64, clipped at 0; values below the
    expansion's rounding error ``1e-12 (|x|^2 + |y|^2)`` become exactly 0.
    """
    b_squared = np.einsum("ij,ij->i", b, b)
    for start in range(0, len(a), batch_size):
        block = a[start:start + batch_size]
        block_squared = np.einsum("ij,ij->i", block, block)
        d2 = block @ b.T
        d2 *= -2.0
        scale = np.add.outer(block_squared, b_squared)
        d2 += scale
        scale *= _ROUNDING
        d2[d2 < scale] = 0.0  # negative or within rounding of 0
        yield start, d2


def _knn_squared_radii(points, k, batch_size):
    """Squared distance of each point to its k-th nearest neighbour in ``points``, itself
    excluded (an exact duplicate counts as a neighbour at distance 0)."""
    radii = np.empty(len(points))
    for start, d2 in _squared_distance_blocks(points, points, batch_size):
        rows = np.arange(len(d2))
        d2[rows, start + rows] = np.inf  # not its own neighbour
        radii[start:start + len(d2)] = np.partition(d2, k - 1, axis=1)[:, k - 1]
    return radii


def _nearest_distances(points, reference, batch_size):
    """Euclidean distance of each of ``points`` to its nearest row of ``reference``."""
    nearest = np.empty(len(points))
    for start, d2 in _squared_distance_blocks(points, reference, batch_size):
        nearest[start:start + len(d2)] = d2.min(axis=1)
    return np.sqrt(nearest)


def _ball_counts(points, centres, squared_radii, batch_size):
    """For closed balls ``B(centre_i, radius_i)``: how many balls hold each point
    (``[len(points)]``) and whether each ball holds at least one point (``[len(centres)]``)."""
    counts = np.zeros(len(points), np.int64)
    holds = np.zeros(len(centres), bool)
    for start, d2 in _squared_distance_blocks(points, centres, batch_size):
        inside = d2 <= squared_radii[None, :]
        counts[start:start + len(d2)] = inside.sum(axis=1)
        holds |= inside.any(axis=0)
    return counts, holds


# ---------------------------------------------------------------- measures
def precision_recall(real_features, fake_features, k=3, batch_size=DEFAULT_BATCH_SIZE):
    """Improved precision and recall (Kynkäänniemi et al. 2019, arXiv 1904.06991, eq. 1-3).

    Each set's manifold is estimated as the union of closed balls around its
    points, a point's radius being the distance to its ``k``-th nearest
    neighbour in its own set (itself excluded). Then

    * ``precision`` = the share of fake points inside at least one real ball
      (fidelity: are the samples realistic?);
    * ``recall`` = the share of real points inside at least one fake ball
      (diversity: is all of the data's variety produced?).

    Both lie in [0, 1]; higher is better. Identical sets give 1 and 1; sets far
    apart give 0 and 0. The paper uses ``k = 3`` and equally many (50,000)
    points in each set; the radii grow as the sets shrink, so compare values
    computed with the same ``k`` and set sizes.

    Args:
      real_features: ``[N, D]`` with ``N > k``.
      fake_features: ``[M, D]`` with ``M > k``.
      k: the neighbour that sets the radii.
      batch_size: rows of distances computed at a time (memory: about three
        ``batch_size x max(N, M)`` float64 arrays).

    Returns:
      ``{"precision": float, "recall": float}``.
    """
    k = _check_k(k)
    batch_size = _check_batch_size(batch_size)
    real = _features(real_features, "real_features", min_rows=k + 1)
    fake = _features(fake_features, "fake_features", min_rows=k + 1, dim=real.shape[1])
    real_radii = _knn_squared_radii(real, k, batch_size)
    fake_radii = _knn_squared_radii(fake, k, batch_size)
    fake_in_real, _ = _ball_counts(fake, real, real_radii, batch_size)
    real_in_fake, _ = _ball_counts(real, fake, fake_radii, batch_size)
    return {"precision": float(np.mean(fake_in_real > 0)),
            "recall": float(np.mean(real_in_fake > 0))}


def density_coverage(real_features, fake_features, k=5, batch_size=DEFAULT_BATCH_SIZE):
    """Density and coverage (Naeem et al. 2020, arXiv 2002.09797, sec. 3).

    With ``B_i`` the closed ball around real point ``X_i`` whose radius is the
    distance to its ``k``-th nearest real neighbour (``NND_k``, itself excluded),
    ``N`` real and ``M`` fake points ``Y_j``:

    * ``density = 1 / (k M) * sum_j sum_i 1[Y_j in B_i]``: how many real balls
      hold a sample, on average, divided by ``k``. About 1 when the samples are
      distributed like the data (its expected value then tends to 1); above 1
      when they crowd into dense regions of the data, below 1 when they fall
      outside it. It is not capped at 1; nearer 1 is better.
    * ``coverage = 1 / N * sum_i 1[exists j: Y_j in B_i]``: the share of real
      points with a sample in their neighbourhood, in [0, 1], higher is better.
      Only real points are the ball centres, so outlying samples cannot
      inflate it the way they inflate recall.

    The paper recommends ``k = 5`` with 10,000 points in each set.

    Args:
      real_features: ``[N, D]`` with ``N > k``.
      fake_features: ``[M, D]`` with ``M >= 1``.
      k: the neighbour that sets the radii.
      batch_size: rows of distances computed at a time.

    Returns:
      ``{"density": float, "coverage": float}``.
    """
    k = _check_k(k)
    batch_size = _check_batch_size(batch_size)
    real = _features(real_features, "real_features", min_rows=k + 1)
    fake = _features(fake_features, "fake_features", dim=real.shape[1])
    radii = _knn_squared_radii(real, k, batch_size)
    counts, covered = _ball_counts(fake, real, radii, batch_size)
    return {"density": float(counts.sum(dtype=np.float64) / (k * len(fake))),
            "coverage": float(covered.mean())}


def copy_share(train_features, held_out_features, sample_features, quantile=0.01,
               batch_size=DEFAULT_BATCH_SIZE):
    """Memorisation: the share of samples nearer to the training set than fresh real images.

    Definition. Let ``d(x)`` be the Euclidean distance from ``x`` to its nearest
    training point. The threshold ``t`` is the ``quantile`` (linear
    interpolation) of ``d(h)`` over the held-out real images ``h`` (real
    images the generator never saw), and::

        copy_share = (1 / S) * #{samples s : d(s) <= t}

    Why this threshold. Held-out images are what fresh draws from the data
    distribution look like from the training set. A generator that makes fresh
    images, independent of the training set, gets ``copy_share`` close to
    ``quantile`` (a sample is then as likely as a held-out image to fall below
    the ``quantile`` of held-out distances); one that reproduces training
    images gets more, an exact copy having ``d = 0 <= t`` always. The default
    ``quantile = 0.01`` (the 1st percentile) rather than the minimum
    (``quantile = 0``): the minimum is set by a single held-out image, and
    data sets often have near-duplicates of training images among their test
    images, which would push ``t`` to about 0 and hide every copy short of an
    exact one. With ``<=``, ``t = 0`` (over 1% of held-out images are exact
    copies of training images) still counts exact copies. Read the result
    against ``quantile``: 0.01 is the level of a model that copies nothing;
    lower is better down to that level. Use at least ``1 / quantile``
    (preferably ten times that) held-out images.

    Args:
      train_features: ``[T, D]`` features of the generator's training images.
      held_out_features: ``[H, D]`` features of real images not trained on, ``H >= 2``.
      sample_features: ``[S, D]`` features of generated samples.
      quantile: in [0, 1); 0 makes the threshold the minimum held-out distance.
      batch_size: rows of distances computed at a time.

    Returns:
      ``{"copy_share": float, "threshold": t}``.
    """
    if isinstance(quantile, bool) or not isinstance(quantile, (int, float, np.floating)) \
            or not 0.0 <= quantile < 1.0:
        raise ValueError(f"quantile must be a number in [0, 1), got {quantile!r}")
    batch_size = _check_batch_size(batch_size)
    train = _features(train_features, "train_features")
    held_out = _features(held_out_features, "held_out_features", min_rows=2,
                         dim=train.shape[1])
    samples = _features(sample_features, "sample_features", dim=train.shape[1])
    threshold = float(np.quantile(_nearest_distances(held_out, train, batch_size), quantile))
    sample_distances = _nearest_distances(samples, train, batch_size)
    return {"copy_share": float(np.mean(sample_distances <= threshold)),
            "threshold": threshold}


def _labels(value, name, count=None):
    array = np.asarray(value)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels, got shape {array.shape}")
    if count is not None and len(array) != count:
        raise ValueError(f"{name} has {len(array)} labels for {count} samples")
    return array


def _integer_labels(value, name, count=None):
    array = _labels(value, name, count)
    if array.dtype.kind not in "iub":
        if array.dtype.kind != "f" or not np.all(np.isfinite(array)) \
                or not np.all(array == np.round(array)):
            raise ValueError(f"{name} must hold integer class labels, got dtype {array.dtype}")
    return array.astype(np.int64)


def conditional_accuracy(predicted_labels_or_logits, requested_labels):
    """The share of samples a classifier puts in the class they were generated for.

    For a class-conditional generator: sample ``requested_labels``, classify
    the samples, and count agreement. 1.0 is best; chance is ``1 / classes``
    for a generator that ignores its label. Only as good as the classifier:
    read it beside the classifier's accuracy on real held-out images.

    Args:
      predicted_labels_or_logits: ``[N]`` predicted labels, or ``[N, C]`` logits
        or probabilities (the argmax is the prediction).
      requested_labels: ``[N]`` integer labels the samples were asked for.

    Returns:
      A float in [0, 1].
    """
    predicted = np.asarray(predicted_labels_or_logits)
    if predicted.ndim == 2:
        if predicted.shape[1] < 1 or not np.all(np.isfinite(predicted)):
            raise ValueError("predicted_labels_or_logits: logits must be [N, C] finite values, "
                             f"got shape {predicted.shape}")
        predicted = predicted.argmax(axis=1)
    elif predicted.ndim != 1:
        raise ValueError("predicted_labels_or_logits must be [N] labels or [N, C] logits, got "
                         f"shape {predicted.shape}")
    predicted = _integer_labels(predicted, "predicted_labels_or_logits")
    requested = _integer_labels(requested_labels, "requested_labels", len(predicted))
    if len(requested) == 0:
        raise ValueError("requested_labels is empty")
    return float(np.mean(predicted == requested))


def classifier_conditional_accuracy(classifier, images, requested_labels, batch_size=256):
    """:func:`conditional_accuracy` of ``classifier``'s predictions on ``images``.

    ``classifier`` is a callable (a Keras model) mapping a batch of images to
    ``[B, C]`` logits, e.g. :func:`~tfgan_stable.metrics.labelled_classifier`'s;
    it is called ``batch_size`` images at a time with ``training=False``.
    """
    batch_size = _check_batch_size(batch_size)
    if len(images) == 0:
        raise ValueError("images is empty")
    _integer_labels(requested_labels, "requested_labels", len(images))
    logits = np.concatenate([np.asarray(classifier(images[i:i + batch_size], training=False))
                             for i in range(0, len(images), batch_size)])
    return conditional_accuracy(logits.reshape(len(logits), -1), requested_labels)


def per_class_frechet(real_features, real_labels, fake_features, fake_labels,
                      class_names=None, min_count=None):
    """The Fréchet distance (:func:`~tfgan_stable.metrics.frechet_distance`) class by class.

    Real and fake features of each class are compared on their own: a low
    overall Fréchet distance can hide a class drawn badly, or classes swapped.
    For a conditional generator ``fake_labels`` are the requested classes;
    for an unconditional one, a classifier's predictions. Lower is better.

    A class is reported as NaN when either set has fewer than ``min_count``
    of its points. By default ``min_count = D + 1`` (``D`` the feature size),
    the fewest points whose sample covariance can have full rank: with fewer,
    the covariance is singular and the distance is dominated by the
    estimator's small-sample bias (which grows as ``D^2 / n``), so it would
    not be comparable across classes or runs. Even above it the bias remains:
    compare classes only at similar counts.

    Args:
      real_features, fake_features: ``[N, D]`` and ``[M, D]``.
      real_labels, fake_labels: ``[N]`` and ``[M]`` class labels.
      class_names: names of the classes ``0 .. C-1`` (labels must then be
        integers in that range); by default the classes are the labels that
        occur in either set, named ``str(label)``.
      min_count: the fewest points per class and set for a value (>= 2).

    Returns:
      ``{name: distance or NaN, ..., "mean": mean over the classes with a
      value (NaN when none has)}``.
    """
    real = _features(real_features, "real_features")
    fake = _features(fake_features, "fake_features", dim=real.shape[1])
    if min_count is None:
        min_count = max(2, real.shape[1] + 1)
    if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) \
            or min_count < 2:
        raise ValueError(f"min_count must be an int >= 2, got {min_count!r}")
    if class_names is None:
        real_y = _labels(real_labels, "real_labels", len(real))
        fake_y = _labels(fake_labels, "fake_labels", len(fake))
        classes = [(str(label), label) for label in np.unique(np.concatenate([real_y, fake_y]))]
    else:
        names = [str(name) for name in class_names]
        if len(set(names)) != len(names) or "mean" in names:
            raise ValueError(f"class_names must be distinct and not 'mean', got {names}")
        real_y = _integer_labels(real_labels, "real_labels", len(real))
        fake_y = _integer_labels(fake_labels, "fake_labels", len(fake))
        for labels, name in ((real_y, "real_labels"), (fake_y, "fake_labels")):
            if len(labels) and (labels.min() < 0 or labels.max() >= len(names)):
                raise ValueError(f"{name} must lie in [0, {len(names) - 1}] to index "
                                 f"class_names, got {labels.min()} .. {labels.max()}")
        classes = list(zip(names, range(len(names))))
    result = {}
    for name, label in classes:
        real_class, fake_class = real[real_y == label], fake[fake_y == label]
        if min(len(real_class), len(fake_class)) < min_count:
            result[name] = math.nan
        else:
            result[name] = frechet_distance(real_class, fake_class)
    if "mean" in result:
        raise ValueError("a class label named 'mean' clashes with the result's 'mean' key")
    values = [value for value in result.values() if not math.isnan(value)]
    result["mean"] = float(np.mean(values)) if values else math.nan
    return result
