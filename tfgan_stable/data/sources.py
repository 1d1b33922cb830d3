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

from tfgan_stable import log
from tfgan_stable.errors import ConfigError, MissingPathError

DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
MIXTURE_STD = {"ring8": 0.02, "grid25": 0.05}
BUILTIN_SOURCES = ("digits", "fashion_mnist", "grid25", "ring8", "stacked_digits")
PREFIXED_SOURCES = ("tfds:", "folder:", "npy:")


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
def ring_centers(count, radius):
    """``count`` mode centres evenly spaced on a circle of ``radius``, ``[count, 2]`` float32."""
    angles = 2.0 * np.pi * np.arange(count) / count  # not linspace(0, 2pi, count): count - 1
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], 1).astype(np.float32)


def grid_centers(side, spacing):
    """``side x side`` mode centres ``spacing`` apart, centred on 0, ``[side**2, 2]`` float32."""
    axis = spacing * (np.arange(side) - (side - 1) / 2.0)
    return np.array([(x, y) for x in axis for y in axis], dtype=np.float32)


def mixture_centers(name):
    """The mode centres of a toy mixture, ``[num_modes, 2]`` float32."""
    if name == "ring8":
        return ring_centers(8, 2.0)
    if name == "grid25":
        return grid_centers(5, 2.0)  # {-4, -2, 0, 2, 4}^2
    raise ConfigError(f"unknown toy mixture {name!r}; valid: {sorted(MIXTURE_STD)}")


def gaussian_mixture(centers, std, num_samples, seed=0):
    """``num_samples`` points from equal-weight Gaussians of spread ``std`` at ``centers``.

    Saved with ``np.save``, such points train as ``data.name: npy:<file>``.
    """
    centers = np.asarray(centers, np.float32)
    rng = np.random.default_rng(seed)
    modes = rng.integers(0, len(centers), size=num_samples)
    noise = rng.normal(0.0, std, size=(num_samples, centers.shape[1]))
    return (centers[modes] + noise).astype(np.float32)


def sample_mixture(name, num_samples, seed=0):
    """Draws points from a built-in toy mixture (``ring8``, ``grid25``)."""
    return gaussian_mixture(mixture_centers(name), MIXTURE_STD[name], num_samples, seed)


def stacked_digits(num_samples, resolution=16, seed=0):
    """``(images [N, r, r, 3] in [-1, 1], modes [N])``: three digits per image, one a channel.

    The mode of an image is ``100 * d_red + 10 * d_green + d_blue``.
    """
    examples, modes = _stacked_digit_examples(num_samples, resolution, seed)
    images = examples.dataset.batch(max(num_samples, 1)).get_single_element().numpy()
    return images, modes


def _stacked_digit_examples(num_samples, resolution, seed):
    """Stacked digits made one image at a time in the pipeline, and their modes."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(digits.images), size=(num_samples, 3))
    labels = digits.target[picks]
    modes = labels[:, 0] * 100 + labels[:, 1] * 10 + labels[:, 2]
    planes = tf.constant(digits.images.astype(np.float32) / 16.0)  # [1797, 8, 8] in [0, 1]

    def stack(pick):  # three digit indices -> [8, 8, 3]
        return tf.transpose(tf.gather(planes, pick), [1, 2, 0])

    dataset = tf.data.Dataset.from_tensor_slices(picks).map(
        lambda pick: _images_to_model_range(stack(pick), resolution),
        num_parallel_calls=tf.data.AUTOTUNE)
    return (Examples(dataset, "image", (resolution, resolution, 3), num_samples,
                     "stacked_digits"), modes)


# ---------------------------------------------------------------- images
def _check_resolution(resolution):
    """Any square side >= 1 (the library's own networks need powers of two; they say so)."""
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) \
            or resolution < 1:
        raise ConfigError(f"resolution must be an int >= 1. Received: resolution={resolution!r}")


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


def _convert_channels(image, channels):
    """``[H, W, C]`` with C in 1..4 (gray, gray + alpha, RGB, RGBA) -> ``channels`` (1 or 3).

    Alpha is dropped; gray becomes RGB by repetition, RGB becomes gray by
    luminance. Works on run-time channel counts (a folder of mixed files).
    """
    count = image.shape[-1]
    if count is not None:  # known when the graph is built
        image = image[..., :3 if count >= 3 else 1]
        if channels == 3 and image.shape[-1] == 1:
            return tf.tile(image, [1, 1, 3])
        if channels == 1 and image.shape[-1] == 3:
            return tf.image.rgb_to_grayscale(image)
        return image
    count = tf.shape(image)[-1]
    image = image[..., :tf.where(count >= 3, 3, 1)]
    if channels == 3:
        image = tf.cond(tf.shape(image)[-1] == 1, lambda: tf.tile(image, [1, 1, 3]),
                        lambda: image)
    else:
        image = tf.cond(tf.shape(image)[-1] == 3, lambda: tf.image.rgb_to_grayscale(image),
                        lambda: image)
    image.set_shape([None, None, channels])
    return image


def _effective_channels(count):
    """What ``data.channels=auto`` keeps of an image with ``count`` channels."""
    return 1 if count <= 2 else 3


def _array_images(array, source):
    """uint8 [0, 255] or float [0, 1] arrays, ``[N, H, W(, C)]`` -> NHWC, checked.

    The values are checked here, once: NaN or infinity, and floats outside [0, 1].
    """
    array = np.asarray(array)
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4:
        raise ConfigError(f"data.name={source!r}: images must be [N, H, W] or [N, H, W, C], "
                          f"got shape {array.shape}")
    if array.shape[-1] not in (1, 2, 3, 4):
        raise ConfigError(f"data.name={source!r}: images need 1 to 4 channels (gray, gray + "
                          f"alpha, RGB, RGBA), got shape {array.shape}")
    if array.dtype == np.uint8:
        return array
    array = array.astype(np.float32)
    _check_finite(array, source)
    low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
    if low < 0.0 or high > 1.0:
        raise ConfigError(f"data.name={source!r}: float images must lie in [0, 1], "
                          f"got values in [{low}, {high}]; store uint8 or rescale")
    return array


def _check_finite(array, source):
    bad = ~np.isfinite(array)
    count = int(bad.sum())
    if count:
        first = int(np.argmax(bad.reshape(len(array), -1).any(axis=1)))
        raise ConfigError(
            f"data.name={source!r}: {count} values are NaN or infinite, the first in example "
            f"{first}; drop or repair those examples (e.g. numpy.nan_to_num)")


def _announce_non_square(source, non_square, total):
    if non_square:
        log.info(f"data.name={source!r}: {non_square} of {total} images are not square; "
                 "centre-cropping them to squares")


def _from_image_array(array, resolution, name, channels="auto"):
    """Examples from a checked ``[N, H, W, C]`` array, resized one image at a time.

    Only the array itself is held in memory; each image is scaled, converted,
    cropped and resized in the pipeline, so the resolution costs memory per
    batch, not per data set.
    """
    if len(array) == 0:
        raise ConfigError(f"data.name={name!r} has no examples")
    height, width, count = array.shape[1:]
    if height != width:
        _announce_non_square(name, len(array), len(array))
    target = _effective_channels(count) if channels == "auto" else channels
    scale = 1.0 / 255.0 if array.dtype == np.uint8 else 1.0

    def prepare(image):
        image = _convert_channels(tf.cast(image, tf.float32) * scale, target)
        return _images_to_model_range(image, resolution)

    dataset = tf.data.Dataset.from_tensor_slices(array).map(
        prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return Examples(dataset, "image", (resolution, resolution, target), len(array), name)


def read_idx(path):
    """Reads an IDX file (optionally gzip-compressed) into a NumPy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ConfigError(f"{path!r} is not an IDX file (bad magic number)")
    dtype_code, ndim = data[2], data[3]
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if dtype_code not in dtypes:
        raise ConfigError(f"{path!r}: unknown IDX data type 0x{dtype_code:02x}")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    array = np.frombuffer(data, dtype=dtypes[dtype_code], offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ConfigError(f"{path!r}: header says shape {shape}, file holds {array.size} values")
    return array.reshape(shape).astype(dtypes[dtype_code][1:])


def find_idx(folder, stem):
    for candidate in (stem, stem + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None


def _fashion_mnist(path, resolution, channels="auto"):
    folder = path or (DEBIAN_FASHION_MNIST if os.path.isdir(DEBIAN_FASHION_MNIST) else "")
    if folder:
        if not os.path.isdir(folder):
            raise MissingPathError(f"data.path={folder!r} does not exist")
        images_file = find_idx(folder, "train-images-idx3-ubyte")
        if images_file is None:
            raise MissingPathError(
                f"data.path={folder!r} holds no train-images-idx3-ubyte[.gz] file"
            )
        return _from_image_array(_array_images(read_idx(images_file), "fashion_mnist"),
                                 resolution, "fashion_mnist", channels)
    return _tfds_images("fashion_mnist", resolution, channels)


def _tfds_images(dataset_name, resolution, channels="auto"):
    source = f"tfds:{dataset_name}"
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:
        raise ConfigError(f"data.name={source!r} needs tensorflow-datasets, which does not "
                          f"import ({error}); reinstall tfgan_stable's dependencies") from None
    known = tfds.list_builders(with_community_datasets=False)
    base = dataset_name.split("/")[0].split(":")[0]  # name[/config][:version]
    if base not in known:
        import difflib

        close = difflib.get_close_matches(base, known, n=3, cutoff=0.6)
        hint = (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close
                else "; tensorflow_datasets.list_builders() lists them")
        raise ConfigError(f"data.name={source!r}: TensorFlow Datasets has no data set "
                          f"{base!r}{hint}")
    try:
        builder = tfds.builder(dataset_name)
    except Exception as e:  # tfds raises its own errors (an unknown config or version)
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConfigError(f"data.name={source!r}: {first}") from None
    try:
        builder.download_and_prepare()
    except OSError as error:  # no network, a full or read-only data folder
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ConfigError(f"data.name={source!r} could not be downloaded or prepared "
                          f"({first}); check the network, or point TFDS_DATA_DIR at a "
                          "prepared copy") from None
    dataset = builder.as_dataset(split="train", shuffle_files=True)
    features = builder.info.features
    if "image" not in features:
        raise ConfigError(f"data.name='tfds:{dataset_name}' has no 'image' feature; "
                          f"features: {sorted(features.keys())}")
    if channels == "auto":
        channels = _effective_channels(features["image"].shape[-1] or 3)
    dataset = dataset.map(
        lambda ex: _images_to_model_range(
            _convert_channels(tf.cast(ex["image"], tf.float32) / 255.0, channels), resolution),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    try:
        num = builder.info.splits["train"].num_examples
    except KeyError:  # split sizes unknown (e.g. tfds.testing.mock_data)
        num = None
    return Examples(dataset, "image", (resolution, resolution, channels), num,
                    f"tfds:{dataset_name}")


def _image_files(folder):
    """The image files below ``folder``, sorted; a link to nothing is an error naming it."""
    files = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder)
        for name in names
        if name.lower().endswith(IMAGE_EXTENSIONS)
    )
    for path in files:
        if not os.path.exists(path):  # exists() follows links: a dangling one is False
            target = os.readlink(path) if os.path.islink(path) else "?"
            raise MissingPathError(
                f"data.name='folder:{folder}': {path!r} is a symbolic link to {target!r}, "
                "which does not exist; remove the link or restore its target")
    return files


def _image_header(path):
    """``(height, width, channels)`` of an image file, decoding all of it; ConfigError if not."""
    try:
        image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
    except (tf.errors.OpError, OSError) as error:
        reason = getattr(error, "message", None) or str(error)
        reason = reason.strip().splitlines()[0] if reason.strip() else type(error).__name__
        raise ConfigError(f"image file {path!r} cannot be decoded: {reason}") from None
    return tuple(int(d) for d in image.shape)


def scan_images(files, cache_path=None):
    """Decodes every file (on all cores); returns their ``(height, width, channels)``.

    With ``cache_path`` (a JSON file) a file whose size and modification time
    match the cache's record is not decoded again, so rerunning on a large
    folder checks only what changed; the cache is rewritten afterwards.

    Raises:
      ConfigError: naming the first file that does not decode, and why.
    """
    import json
    from concurrent.futures import ThreadPoolExecutor

    known = {}
    if cache_path and os.path.isfile(cache_path):
        try:
            with open(cache_path) as f:
                known = json.load(f)
        except (OSError, ValueError):
            known = {}
    stats = {path: os.stat(path) for path in files}
    stamps = {path: [stat.st_size, stat.st_mtime_ns] for path, stat in stats.items()}
    todo = [path for path in files if known.get(path, [None, None])[:2] != stamps[path]]
    if len(todo) > 10_000:
        log.info(f"checking that {len(todo)} images decode (once: the result is cached)")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        decoded = dict(zip(todo, pool.map(_image_header, todo)))
    headers = [tuple(decoded[path]) if path in decoded else tuple(known[path][2:])
               for path in files]
    if cache_path and todo:
        from tfgan_stable.utils import files as files_lib

        try:
            files_lib.write_json(cache_path, {path: stamps[path] + list(header)
                                              for path, header in zip(files, headers)})
        except OSError:
            pass  # a cache we cannot write only costs time
    return headers


def _folder_images(folder, resolution, channels="auto"):
    source = f"folder:{folder}"
    if not os.path.isdir(folder):
        raise MissingPathError(f"data.name={source!r}: no such folder")
    files = _image_files(folder)
    if not files:
        raise ConfigError(f"data.name={source!r} holds no image files "
                          f"({', '.join(IMAGE_EXTENSIONS)})")
    import hashlib

    from tfgan_stable.utils.files import cache_dir

    key = hashlib.sha1(os.path.abspath(folder).encode()).hexdigest()[:16]
    headers = scan_images(files, os.path.join(cache_dir(), "image_scans", f"{key}.json"))
    counts = {}
    for _, _, count in headers:
        effective = _effective_channels(count)
        counts[effective] = counts.get(effective, 0) + 1
    if channels == "auto":
        channels = max(sorted(counts, reverse=True), key=counts.get)  # a tie goes to RGB
        if len(counts) > 1:
            found = " and ".join(f"{n} with {c} channel{'s' * (c > 1)}"
                                 for c, n in sorted(counts.items()))
            log.info(f"data.name={source!r}: mixed images ({found}); converting all to "
                     f"{channels} channel{'s' * (channels > 1)} (data.channels=auto; set "
                     "data.channels to choose)")
    _announce_non_square(source, sum(h != w for h, w, _ in headers), len(files))

    def load(path):
        image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
        image = _convert_channels(tf.cast(image, tf.float32) / 255.0, channels)
        return _images_to_model_range(image, resolution)

    dataset = tf.data.Dataset.from_tensor_slices(files).map(
        load, num_parallel_calls=tf.data.AUTOTUNE)
    return Examples(dataset, "image", (resolution, resolution, channels), len(files), source)


def _npy(path, resolution, channels="auto"):
    name = f"npy:{path}"
    if not os.path.isfile(path):
        raise MissingPathError(f"data.name={name!r}: no such file")
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r")  # header only, for now
    except (ValueError, OSError) as error:
        raise ConfigError(f"data.name={name!r} is not a NumPy .npy array ({error})") from None
    if not isinstance(array, np.ndarray):  # an .npz archive
        raise ConfigError(f"data.name={name!r} is not a NumPy .npy array (an .npz archive "
                          "of several?); save one array with numpy.save")
    if np.iscomplexobj(array):
        raise ConfigError(f"data.name={name!r} holds complex numbers ({array.dtype}); the "
                          "GANs train on real values: save the real and imaginary parts as "
                          "separate columns or channels (e.g. numpy.stack([a.real, a.imag], "
                          "-1))")
    from tfgan_stable import memory

    # the array, its float32 copy and the pipeline's tensor of it
    memory.check_bytes(2 * array.nbytes + 4 * array.size,
                       f"data.name={name!r} ({array.shape} {array.dtype}, held in memory)")
    array = np.array(array)
    if array.ndim == 2:
        if len(array) == 0:
            raise ConfigError(f"data.name={name!r} has no examples")
        if not np.issubdtype(array.dtype, np.number):
            raise ConfigError(f"data.name={name!r}: vectors must be numbers, got {array.dtype}")
        vectors = array.astype(np.float32)
        _check_finite(vectors, name)
        return Examples(tf.data.Dataset.from_tensor_slices(vectors), "vector",
                        (vectors.shape[1],), len(vectors), name)
    return _from_image_array(_array_images(array, name), resolution, name, channels)


# Peak bytes per generated example while a source is made: a toy point's mode index,
# float64 noise and sums, float32 result and its tensor copy; stacked digits' three
# picks, their labels and modes, and the picks' tensor copy.
_TOY_BYTES_PER_SAMPLE = 64
_STACKED_BYTES_PER_SAMPLE = 80


def _check_generated_size(name, num_samples, bytes_per_sample):
    """ConfigError naming data.num_samples when generating it would not fit in memory."""
    from tfgan_stable import memory

    memory.check_bytes(num_samples * bytes_per_sample,
                       f"data.num_samples={num_samples} ({name!r} is generated in memory)")


def load_examples(name, path="", resolution=16, num_samples=100_000, seed=0, channels="auto"):
    """Loads the data source ``name`` (see the module docstring).

    Every example is checked before this returns (a folder's files all
    decode, arrays hold finite values); images are resized one at a time in
    the pipeline. ``channels``: 1, 3 or ``"auto"`` (see ``DataConfig``).

    Raises:
      ConfigError: unknown name, empty source, bad resolution or bad values.
      MissingPathError: a path that does not exist (also a FileNotFoundError).
    """
    if channels not in ("auto", 1, 3):
        raise ConfigError(f"channels must be 'auto', 1 or 3. Received: channels={channels!r}")
    if name in ("ring8", "grid25"):
        if num_samples < 1:
            raise ConfigError(f"num_samples must be >= 1. Received: num_samples={num_samples}")
        _check_generated_size(name, num_samples, _TOY_BYTES_PER_SAMPLE)
        points = sample_mixture(name, num_samples, seed)
        return Examples(tf.data.Dataset.from_tensor_slices(points), "vector", (2,),
                        num_samples, name)
    _check_resolution(resolution)
    if name == "stacked_digits":
        if channels == 1:
            raise ConfigError("data.name='stacked_digits' needs 3 channels (one digit each), "
                              "got data.channels=1")
        _check_generated_size(name, num_samples, _STACKED_BYTES_PER_SAMPLE)
        return _stacked_digit_examples(num_samples, resolution, seed)[0]
    if name == "digits":
        from sklearn.datasets import load_digits

        images = load_digits().images.astype(np.float32) / 16.0
        return _from_image_array(images[..., None], resolution, "digits", channels)
    if name == "fashion_mnist":
        return _fashion_mnist(path, resolution, channels)
    for prefix, loader in (("tfds:", _tfds_images), ("folder:", _folder_images),
                           ("npy:", _npy)):
        if name.startswith(prefix):
            argument = name[len(prefix):]
            if not argument:
                raise ConfigError(f"data.name={name!r} needs a value after {prefix!r}")
            return loader(argument, resolution, channels)
    raise ConfigError(
        f"unknown data.name {name!r}; valid: {list(BUILTIN_SOURCES)} or a name starting "
        f"with one of {list(PREFIXED_SOURCES)}"
    )


def sample_examples(examples, count, seed=0):
    """Up to ``count`` examples drawn at random (10,000-example shuffle buffer), as NumPy."""
    batches = examples.dataset.shuffle(10_000, seed=seed).batch(count)
    return next(iter(batches)).numpy()
