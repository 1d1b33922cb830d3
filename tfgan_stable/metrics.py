"""Sample-quality and diversity measures.

* :func:`mean_pairwise_distance`: a label-free diversity measure, used for
  BEGAN's gamma study (Berthelot 2017, sec. 4.1: lower gamma, less diversity).
* :func:`sliced_wasserstein_distance`: the multi-scale statistical similarity
  of the ProGAN paper (Karras 2018, arXiv 1710.10196, sec. 5 and appendix D):
  sliced Wasserstein distances between 7x7 neighbourhoods drawn from the
  Laplacian pyramids of real and generated images. Needs no pretrained network.
* :func:`wasserstein_1`: the exact empirical earth mover's distance between
  point sets, the quantity a WGAN critic estimates (Arjovsky 2017).
* :func:`mode_coverage` and :func:`stacked_mode_count`: modes captured on
  mixtures and stacked digits (VEEGAN, PacGAN); :func:`frechet_distance` and
  :func:`kernel_distance` on features of any Keras model (FID, KID).
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
    total = counts.sum()
    if total == 0:
        reverse_kl = float("inf")
    else:
        p = counts[counts > 0] / total
        reverse_kl = float(np.sum(p * np.log(p * len(centers))))
    return {"modes": int((counts >= min_count).sum()), "high_quality": float(good.mean()),
            "reverse_kl": reverse_kl, "counts": counts.tolist()}


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


def extract_features(model, images, batch_size=256):
    """Runs a Keras feature extractor over images in batches; returns ``[N, D]`` NumPy."""
    outputs = [np.asarray(model(images[i:i + batch_size], training=False))
               for i in range(0, len(images), batch_size)]
    features = np.concatenate(outputs)
    return features.reshape(len(features), -1)


def inception_feature_extractor(weights_path, input_range=(-1.0, 1.0)):
    """InceptionV3 pool features (2048-D) for FID / KID, from a local weights file.

    Images of any size and 1 or 3 channels are resized to 299x299 and mapped
    from ``input_range`` to Inception's [-1, 1]. ``weights_path`` is a Keras
    weights file of ``keras.applications.InceptionV3(include_top=False,
    pooling="avg")`` (nothing is downloaded).
    """
    import keras

    if not weights_path or not __import__("os").path.isfile(weights_path):
        raise FileNotFoundError(f"InceptionV3 weights file not found: {weights_path!r}")
    inception = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                               input_shape=(299, 299, 3))
    inception.load_weights(weights_path)
    low, high = input_range

    def features(images, training=False):
        x = keras.ops.convert_to_tensor(images, "float32")
        if x.shape[-1] == 1:
            x = keras.ops.repeat(x, 3, axis=-1)
        x = keras.ops.image.resize(x, (299, 299))
        x = (x - low) / (high - low) * 2.0 - 1.0
        return inception(x, training=False)

    return features


# ----------------------------------------------------------- stacked digits
def train_digit_classifier(seed=0, epochs=40, verbose=0):
    """A small CNN trained on the bundled 8x8 digits; returns ``(model, held_out_accuracy)``.

    Input: ``[N, 8, 8, 1]`` in [-1, 1] (the library's image range); output: 10
    logits. 25% of the 1,797 digits (stratified) are held out for the accuracy.
    The layer named ``features`` (64 units) serves as the feature space for
    :func:`frechet_distance` / :func:`kernel_distance` on digit-like data.
    """
    import keras
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images.astype("float32") / 8.0 - 1.0)[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=seed, stratify=digits.target)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu", name="features"),
        keras.layers.Dense(10, name="logits"),
    ], name="digit_classifier")
    model.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=verbose, shuffle=True)
    accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    return model, accuracy


def digit_features(classifier):
    """The 64-D ``features`` layer of :func:`train_digit_classifier`'s model."""
    import keras

    return keras.Model(classifier.inputs[0], classifier.get_layer("features").output)


def _to_digit_input(channel_images):
    """``[N, H, W]`` in [-1, 1] -> ``[N, 8, 8, 1]`` by area resizing."""
    import tensorflow as tf

    x = np.asarray(channel_images, np.float32)[..., None]
    if x.shape[1] != 8:
        x = tf.image.resize(x, (8, 8), method="area").numpy()
    return x


def stacked_mode_count(images, classifier, batch_size=1024):
    """Modes of stacked digits: each channel classified as a digit, 1,000 modes in all.

    The offline counterpart of Stacked MNIST (Srivastava 2017; Lin 2018).

    Args:
      images: ``[N, H, W, 3]`` in [-1, 1].
      classifier: :func:`train_digit_classifier`'s model.

    Returns:
      ``{"modes": captured modes (>= 1 sample), "reverse_kl": KL(p_gen || uniform
      over 1000)}``.
    """
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"stacked digits must be [N, H, W, 3], got {images.shape}")
    digits = []
    for channel in range(3):
        x = _to_digit_input(images[..., channel])
        logits = np.concatenate([np.asarray(classifier(x[i:i + batch_size], training=False))
                                 for i in range(0, len(x), batch_size)])
        digits.append(logits.argmax(-1))
    modes = digits[0] * 100 + digits[1] * 10 + digits[2]
    counts = np.bincount(modes, minlength=1000)
    p = counts[counts > 0] / len(modes)
    return {"modes": int((counts > 0).sum()),
            "reverse_kl": float(np.sum(p * np.log(p * 1000.0)))}


# ------------------------------------------------------------------ suites
IMAGE_METRICS = ("swd", "fid", "kid", "diversity")
VECTOR_METRICS = ("modes",)
STACKED_METRICS = ("stacked_modes", "swd", "diversity")


def default_metric_names(data_name, kind):
    """The metrics that fit a data source."""
    if data_name == "stacked_digits":
        return STACKED_METRICS
    return VECTOR_METRICS if kind == "vector" else IMAGE_METRICS


def evaluation_suite(data_name, real, names=None, classifier=None, inception_weights=None,
                     seed=0):
    """Metric functions for a data source: ``{name: fn(samples) -> float or dict}``.

    Samples and ``real`` are in the model's range ([-1, 1] images, or vectors
    in data units). Image FID / KID use InceptionV3 pool features when
    ``inception_weights`` names a local weights file, else the 64-D features of
    the locally trained digit classifier (images down-sampled to 8x8 grey).

    Args:
      data_name: ``data.name`` (toy mixtures get mode coverage).
      real: real samples to compare with.
      names: metric names (default: :func:`default_metric_names`).
      classifier: a :func:`train_digit_classifier` model (trained on demand).
    """
    real = np.asarray(real, np.float32)
    kind = "vector" if real.ndim == 2 else "image"
    names = tuple(names or default_metric_names(data_name, kind))
    valid = {"vector": VECTOR_METRICS, "image": IMAGE_METRICS + ("stacked_modes",)}[kind]
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"metrics {unknown} do not apply to {kind} data; valid: {list(valid)}")
    if "modes" in names:
        from tfgan_stable import data as data_lib

        if data_name not in data_lib.MIXTURE_STD:
            raise ValueError(f"metric 'modes' needs a toy mixture (ring8, grid25), "
                             f"got data.name={data_name!r}")
    needs_classifier = "stacked_modes" in names or (
        not inception_weights and ({"fid", "kid"} & set(names)))
    if needs_classifier and classifier is None:
        classifier, _ = train_digit_classifier(seed=seed)
    suite = {}
    if "modes" in names:
        from tfgan_stable import data as data_lib

        centers, std = data_lib.mixture_centers(data_name), data_lib.MIXTURE_STD[data_name]

        def modes(samples):
            result = mode_coverage(samples, centers, std)
            strict = mode_coverage(samples, centers, std, min_count=20)
            return {"modes": result["modes"], "modes_20": strict["modes"],
                    "high_quality": result["high_quality"], "reverse_kl": result["reverse_kl"]}
        suite["modes"] = modes
    if "stacked_modes" in names:
        suite["stacked_modes"] = lambda samples: stacked_mode_count(samples, classifier)
    if "swd" in names:
        suite["swd"] = lambda samples: sliced_wasserstein_distance(
            real[:len(samples)], samples[:len(real)], seed=seed, nhoods_per_image=32)["average"]
    if {"fid", "kid"} & set(names):
        if inception_weights:
            extractor = inception_feature_extractor(inception_weights)

            def featurize(images):
                return extract_features(extractor, images, batch_size=64)
        else:
            extractor = digit_features(classifier)

            def featurize(images):
                grey = images.mean(axis=-1)
                return extract_features(extractor, _to_digit_input(grey))
        real_features = featurize(real)
        if "fid" in names:
            suite["fid"] = lambda samples: frechet_distance(real_features, featurize(samples))
        if "kid" in names:
            suite["kid"] = lambda samples: kernel_distance(
                real_features, featurize(samples), seed=seed)[0]
    if "diversity" in names:
        real_diversity = mean_pairwise_distance(real, seed=seed)
        suite["diversity"] = lambda samples: (mean_pairwise_distance(samples, seed=seed)
                                              / real_diversity)
    return suite


def evaluate(suite, samples):
    """Runs a suite; returns a flat ``{name: float}`` (dict results as ``name/key``)."""
    results = {}
    for name, fn in suite.items():
        value = fn(samples)
        if isinstance(value, dict):
            results.update({f"{name}/{k}" if k != name else name: float(v)
                            for k, v in value.items()})
        else:
            results[name] = float(value)
    return results
