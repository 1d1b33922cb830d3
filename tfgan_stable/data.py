"""Input pipelines: named data sources -> tf.data of real samples.

Sources (``data.name`` in configs):

* ``digits``: scikit-learn's bundled 8x8 digits (1,797 images), resized.
* ``fashion_mnist``: IDX files from a folder (Debian's ``dataset-fashion-mnist``
  puts them in ``/usr/share/datasets/fashion-mnist``), else TensorFlow Datasets.
* ``tfds:<name>``: the ``image`` feature of any TFDS data set (train split).
* ``folder:<path>``: every PNG / JPEG / BMP / GIF below a folder.
* ``npy:<path>``: an ``.npy`` array of vectors ``[N, D]`` or images
  ``[N, H, W]`` / ``[N, H, W, C]`` (uint8 in [0, 255] or floats in [0, 1]).
* ``stacked_digits``: three random bundled digits as the R, G, B channels
  (1,000 modes), the offline counterpart of Stacked MNIST (VEEGAN, PacGAN).
* ``ring8`` / ``grid25``: the 2-D Gaussian mixtures of the WGAN-GP, VEEGAN
  and PacGAN toy experiments (Gulrajani 2017, arXiv 1704.00028; Srivastava
  2017, arXiv 1705.07761): 8 modes on a circle of radius 2 at angles
  2*pi*k/8 with std 0.02, and 25 modes on {-4, -2, 0, 2, 4}^2 with std 0.05.

Images are scaled to [-1, 1] (the generator's tanh range) and resized to the
configured square resolution; vectors stay in data units. Training pipelines
shuffle, repeat, batch with the global batch size, group ``n_critic`` batches
per element (a fresh real batch for each critic step; the batch axis stays
first for ``tf.distribute``) and prefetch.
"""

import dataclasses
import gzip
import os
import struct
from typing import Optional

import numpy as np
import tensorflow as tf

DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
MIXTURE_STD = {"ring8": 0.02, "grid25": 0.05}
BUILTIN_SOURCES = ("digits", "fashion_mnist", "grid25", "ring8", "stacked_digits")
PREFIXED_SOURCES = ("tfds:", "folder:", "npy:")
CACHE_LIMIT_BYTES = 2 * 1024**3  # cache decoded sources up to this size in memory
IN_MEMORY_BYTES = 256 * 1024**2  # hold sources up to this size as one tensor


@dataclasses.dataclass(frozen=True)
class Examples:
    """A data source, loaded: unbatched float32 examples and what they are.

    Attributes:
      dataset: ``tf.data.Dataset`` of single examples.
      kind: ``"image"`` (values in [-1, 1], NHWC) or ``"vector"`` (data units).
      shape: the shape of one example.
      num_examples: the number of examples when known.
      name: the ``data.name`` it came from.
    """

    dataset: tf.data.Dataset
    kind: str
    shape: tuple
    num_examples: Optional[int]
    name: str


# ------------------------------------------------------------------ toys
def mixture_centers(name):
    """The mode centres of a toy mixture, ``[num_modes, 2]`` float32."""
    if name == "ring8":
        angles = 2.0 * np.pi * np.arange(8) / 8.0  # not linspace(0, 2pi, 8): 7 modes
        return np.stack([2.0 * np.cos(angles), 2.0 * np.sin(angles)], 1).astype(np.float32)
    if name == "grid25":
        axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
        return np.array([(x, y) for x in axis for y in axis], dtype=np.float32)
    raise ValueError(f"unknown toy mixture {name!r}; valid: {sorted(MIXTURE_STD)}")


def sample_mixture(name, num_samples, seed=0):
    """Draws points from a toy mixture with equal mode weights."""
    centers = mixture_centers(name)
    rng = np.random.default_rng(seed)
    modes = rng.integers(0, len(centers), size=num_samples)
    noise = rng.normal(0.0, MIXTURE_STD[name], size=(num_samples, 2))
    return (centers[modes] + noise).astype(np.float32)


def stacked_digits(num_samples, resolution=16, seed=0):
    """``(images [N, r, r, 3] in [-1, 1], modes [N])``: three digits per image, one a channel.

    The mode of an image is ``100 * d_red + 10 * d_green + d_blue``.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(digits.images), size=(num_samples, 3))
    channels = digits.images.astype(np.float32)[picks] / 16.0  # [N, 3, 8, 8]
    images = np.transpose(channels, (0, 2, 3, 1))
    images = _images_to_model_range(images, resolution).numpy()
    labels = digits.target[picks]
    return images, labels[:, 0] * 100 + labels[:, 1] * 10 + labels[:, 2]


# ---------------------------------------------------------------- images
def _power_of_two(resolution):
    if resolution < 4 or resolution & (resolution - 1):
        raise ValueError(f"data.resolution must be a power of two >= 4, got {resolution}")


def _images_to_model_range(images, resolution):
    """Float images in [0, 1], ``[N, H, W, C]`` -> square ``resolution`` in [-1, 1]."""
    images = tf.convert_to_tensor(images, tf.float32)
    images = _center_crop_square(images)
    if images.shape[1] != resolution:
        images = tf.image.resize(images, (resolution, resolution), antialias=True)
    return tf.clip_by_value(images * 2.0 - 1.0, -1.0, 1.0)


def _center_crop_square(images):
    height, width = tf.shape(images)[-3], tf.shape(images)[-2]
    side = tf.minimum(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return images[..., top:top + side, left:left + side, :]


def _array_images(array, source):
    """uint8 [0, 255] or float [0, 1] arrays, ``[N, H, W(, C)]`` -> float [0, 1] NHWC."""
    array = np.asarray(array)
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4:
        raise ValueError(f"data.name={source!r}: images must be [N, H, W] or [N, H, W, C], "
                         f"got shape {array.shape}")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    array = array.astype(np.float32)
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(f"data.name={source!r}: float images must lie in [0, 1], "
                         f"got values in [{low}, {high}]; store uint8 or rescale")
    return array


def _from_image_array(array, resolution, name):
    if len(array) == 0:
        raise ValueError(f"data.name={name!r} has no examples")
    images = _images_to_model_range(array, resolution).numpy()
    return Examples(tf.data.Dataset.from_tensor_slices(images), "image",
                    tuple(images.shape[1:]), len(images), name)


def read_idx(path):
    """Reads an IDX file (optionally gzip-compressed) into a NumPy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path!r} is not an IDX file (bad magic number)")
    dtype_code, ndim = data[2], data[3]
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if dtype_code not in dtypes:
        raise ValueError(f"{path!r}: unknown IDX data type 0x{dtype_code:02x}")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    array = np.frombuffer(data, dtype=dtypes[dtype_code], offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path!r}: header says shape {shape}, file holds {array.size} values")
    return array.reshape(shape).astype(dtypes[dtype_code][1:])


def _find_idx(folder, stem):
    for candidate in (stem, stem + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None


def _fashion_mnist(path, resolution):
    folder = path or (DEBIAN_FASHION_MNIST if os.path.isdir(DEBIAN_FASHION_MNIST) else "")
    if folder:
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"data.path={folder!r} does not exist")
        images_file = _find_idx(folder, "train-images-idx3-ubyte")
        if images_file is None:
            raise FileNotFoundError(
                f"data.path={folder!r} holds no train-images-idx3-ubyte[.gz] file"
            )
        return _from_image_array(_array_images(read_idx(images_file), "fashion_mnist"), resolution,
                                "fashion_mnist")
    return _tfds_images("fashion_mnist", resolution)


def _tfds_images(dataset_name, resolution):
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(dataset_name)
    except Exception as e:  # tfds raises its own DatasetNotFoundError
        raise ValueError(f"data.name='tfds:{dataset_name}': {e}") from e
    builder.download_and_prepare()
    dataset = builder.as_dataset(split="train", shuffle_files=True)
    features = builder.info.features
    if "image" not in features:
        raise ValueError(f"data.name='tfds:{dataset_name}' has no 'image' feature; "
                         f"features: {sorted(features.keys())}")
    channels = features["image"].shape[-1] or 3
    dataset = dataset.map(
        lambda ex: _images_to_model_range(tf.cast(ex["image"], tf.float32) / 255.0, resolution),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    try:
        num = builder.info.splits["train"].num_examples
    except KeyError:  # split sizes unknown (e.g. tfds.testing.mock_data)
        num = None
    return Examples(dataset, "image", (resolution, resolution, channels), num,
                    f"tfds:{dataset_name}")


def _folder_images(folder, resolution):
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"data.name='folder:{folder}': no such folder")
    files = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder)
        for name in names
        if name.lower().endswith(IMAGE_EXTENSIONS)
    )
    if not files:
        raise ValueError(f"data.name='folder:{folder}' holds no image files "
                         f"({', '.join(IMAGE_EXTENSIONS)})")
    first = tf.io.decode_image(tf.io.read_file(files[0]), expand_animations=False)
    channels = int(first.shape[-1])

    def load(path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=channels,
                                   expand_animations=False)
        image.set_shape((None, None, channels))
        return _images_to_model_range(tf.cast(image, tf.float32) / 255.0, resolution)

    dataset = tf.data.Dataset.from_tensor_slices(files).map(
        load, num_parallel_calls=tf.data.AUTOTUNE)
    return Examples(dataset, "image", (resolution, resolution, channels), len(files),
                    f"folder:{folder}")


def _npy(path, resolution):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"data.name='npy:{path}': no such file")
    array = np.load(path, allow_pickle=False)
    name = f"npy:{path}"
    if array.ndim == 2:
        if len(array) == 0:
            raise ValueError(f"data.name={name!r} has no examples")
        vectors = array.astype(np.float32)
        return Examples(tf.data.Dataset.from_tensor_slices(vectors), "vector",
                        (vectors.shape[1],), len(vectors), name)
    return _from_image_array(_array_images(array, name), resolution, name)


def load_examples(name, path="", resolution=16, num_samples=100_000, seed=0):
    """Loads the data source ``name`` (see the module docstring).

    Raises:
      ValueError: unknown name, empty source, bad resolution or bad values.
      FileNotFoundError: a path that does not exist.
    """
    if name in ("ring8", "grid25"):
        if num_samples < 1:
            raise ValueError(f"data.num_samples must be >= 1, got {num_samples}")
        points = sample_mixture(name, num_samples, seed)
        return Examples(tf.data.Dataset.from_tensor_slices(points), "vector", (2,),
                        num_samples, name)
    _power_of_two(resolution)
    if name == "stacked_digits":
        images, _ = stacked_digits(num_samples, resolution, seed)
        return Examples(tf.data.Dataset.from_tensor_slices(images), "image",
                        tuple(images.shape[1:]), num_samples, name)
    if name == "digits":
        from sklearn.datasets import load_digits

        images = load_digits().images.astype(np.float32) / 16.0
        return _from_image_array(images[..., None], resolution, "digits")
    if name == "fashion_mnist":
        return _fashion_mnist(path, resolution)
    for prefix, loader in (("tfds:", _tfds_images), ("folder:", _folder_images),
                           ("npy:", _npy)):
        if name.startswith(prefix):
            argument = name[len(prefix):]
            if not argument:
                raise ValueError(f"data.name={name!r} needs a value after {prefix!r}")
            return loader(argument, resolution)
    raise ValueError(
        f"unknown data.name {name!r}; valid: {list(BUILTIN_SOURCES)} or a name starting "
        f"with one of {list(PREFIXED_SOURCES)}"
    )


def sample_examples(examples, count, seed=0):
    """Up to ``count`` examples drawn at random (10,000-example shuffle buffer), as NumPy."""
    batches = examples.dataset.shuffle(10_000, seed=seed).batch(count)
    return next(iter(batches)).numpy()


# -------------------------------------------------------------- pipelines
def critic_batches(dataset, n_critic):
    """Groups a batched dataset so each element holds ``n_critic`` batches.

    A GAN with ``n_critic > 1`` takes elements of shape
    ``[batch, n_critic, ...]``: slice ``[:, i]`` is the real batch of critic
    update ``i``, so each update sees fresh examples, as in Algorithm 1 of the
    WGAN and WGAN-GP papers. The batch axis stays first, which is the axis
    ``tf.distribute`` splits over replicas. With ``n_critic == 1`` the dataset
    is returned as it is.
    """
    if n_critic < 1:
        raise ValueError(f"n_critic must be >= 1, got {n_critic}")
    if n_critic == 1:
        return dataset

    def batch_major(batches):  # [n_critic, batch, ...] -> [batch, n_critic, ...]
        perm = [1, 0] + list(range(2, len(batches.shape)))
        return tf.transpose(batches, perm)

    return dataset.batch(n_critic, drop_remainder=True).map(batch_major)


def make_dataset(examples, batch_size, n_critic=1, seed=0, shuffle_buffer=10_000, start=0):
    """The infinite training pipeline for a GAN.

    A source that fits in memory (up to ``IN_MEMORY_BYTES``, with a known
    size) is held as one tensor and read in a fresh random permutation per
    pass, made by ``tf.random.experimental.index_shuffle`` from ``(seed,
    pass)``: the order does not depend on how many iterators Keras or a
    distribution strategy creates, and element ``start`` is reached without
    reading the ones before it (an exact resume). Larger sources stream
    through a shuffle buffer; there ``start`` skips elements.

    Args:
      examples: an :class:`Examples` or a ``tf.data.Dataset`` of single examples.
      batch_size: the global batch size (Keras splits it over replicas).
      n_critic: real batches per element (see :func:`critic_batches`).
      seed: shuffle seed.
      shuffle_buffer: shuffle buffer size of a streamed source.
      start: elements (train steps) to leave out at the beginning.

    Returns:
      A repeated, shuffled ``tf.data.Dataset`` with elements of shape
      ``[batch_size, n_critic, ...]`` (``[batch_size, ...]`` when n_critic is 1).
    """
    if batch_size < 1:
        raise ValueError(f"train.batch_size must be >= 1, got {batch_size}")
    dataset = examples.dataset if isinstance(examples, Examples) else examples
    num = examples.num_examples if isinstance(examples, Examples) else _known_size(dataset)
    if num == 0:
        raise ValueError(f"data.name={getattr(examples, 'name', 'dataset')!r} has no examples")
    if num is not None and num < batch_size:
        raise ValueError(
            f"train.batch_size={batch_size} is larger than the {num} examples of the data"
        )
    first_example = int(start) * batch_size * n_critic
    size_bytes = float("inf") if num is None else num * _example_bytes(dataset)
    if size_bytes <= IN_MEMORY_BYTES:
        batches = _permuted_batches(dataset, num, batch_size, seed, first_example)
    else:
        if size_bytes <= CACHE_LIMIT_BYTES:
            dataset = dataset.cache()  # decode / resize once, then only re-shuffle
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        batches = dataset.repeat().skip(first_example).batch(batch_size, drop_remainder=True)
    return critic_batches(batches, n_critic).prefetch(tf.data.AUTOTUNE)


def _known_size(dataset):
    size = int(dataset.cardinality())
    return size if size >= 0 else None


def _example_bytes(dataset):
    spec = dataset.element_spec
    if not isinstance(spec, tf.TensorSpec) or not spec.shape.is_fully_defined():
        return float("inf")
    return int(np.prod(spec.shape)) * spec.dtype.size


def _permuted_batches(dataset, num, batch_size, seed, first_example):
    """Batches of a permutation per pass over an in-memory source, from ``first_example``."""
    data = tf.constant(dataset.batch(num).get_single_element())
    seed = int(seed)

    def gather(positions):  # global example positions -> one batch
        passes, index = positions // num, positions % num
        last = tf.fill(tf.shape(index), tf.constant(num - 1, tf.int64))

        def permuted(pass_index):
            return tf.random.experimental.index_shuffle(
                index, tf.stack([tf.constant(seed, tf.int64), pass_index]), last)

        # batch_size <= num: a batch spans at most two passes
        shuffled = tf.where(tf.equal(passes, passes[0]), permuted(passes[0]),
                            permuted(passes[0] + 1))
        return tf.gather(data, shuffled)

    positions = tf.data.Dataset.counter(first_example).batch(batch_size)
    return positions.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
