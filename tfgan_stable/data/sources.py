"""Input pipelines: named data sources -> tf.data of real samples.

Sources (``data.name`` in configs):

* ``digits``: scikit-learn's bundled 8x8 digits (1,797 images), resized.
* ``fashion_mnist``: IDX files from a folder (Debian's ``dataset-fashion-mnist``
  puts them in ``/usr/share/datasets/fashion-mnist``), else TensorFlow Datasets.
* ``tfds:<name>``: the ``image`` feature of any TFDS data set (train split).
* ``folder:<path>``: every PNG / JPEG / BMP / GIF below a folder; with
  ``labels="inferred"`` each subfolder is a class. Decoded and resized once,
  then kept as uint8 in the cache folder (while it fits in memory).
* ``npy:<path>``: an ``.npy`` array of vectors ``[N, D]`` or images
  ``[N, H, W]`` / ``[N, H, W, C]`` (uint8 in [0, 255] or floats in [0, 1]).
* ``stacked_digits``: three random bundled digits as the R, G, B channels
  (1,000 modes), the offline counterpart of Stacked MNIST (VEEGAN, PacGAN).
* ``ring8`` / ``grid25``: the 2-D Gaussian mixtures of the WGAN-GP, VEEGAN
  and PacGAN toy experiments (Gulrajani 2017, arXiv 1704.00028; Srivastava
  2017, arXiv 1705.07761): 8 modes on a circle of radius 2 at angles
  2*pi*k/8 with std 0.02, and 25 modes on {-4, -2, 0, 2, 4}^2 with std 0.05.

Images are scaled to [-1, 1] (the generator's tanh range) and resized to the
configured square resolution; images with alpha are composited over the
``background``; vectors stay in data units. Labelled sources give
``(image, label)`` pairs, the label an int32 scalar. Training pipelines
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
from tfgan_stable.config.schema import background_rgb, check_data_labels
from tfgan_stable.errors import ConfigError, MissingPathError

DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
MIXTURE_STD = {"ring8": 0.02, "grid25": 0.05}
BUILTIN_SOURCES = ("digits", "fashion_mnist", "grid25", "ring8", "stacked_digits")
PREFIXED_SOURCES = ("tfds:", "folder:", "npy:")
DIGIT_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")


@dataclasses.dataclass(frozen=True)
class Examples:
    """A data source, loaded: unbatched float32 examples and what they are.

    Attributes:
      dataset: ``tf.data.Dataset`` of single examples.
      kind: ``"image"`` (values in [-1, 1], NHWC) or ``"vector"`` (data units).
      shape: the shape of one example.
      num_examples: the number of examples when known.
      name: the ``data.name`` it came from.
      class_names: the classes, in label order; empty: unlabelled. When
        labelled, ``dataset`` yields ``(example, label)``, the label an int32
        scalar in ``[0, len(class_names))``.
      class_counts: examples per class, when known.
    """

    dataset: tf.data.Dataset
    kind: str
    shape: tuple
    num_examples: Optional[int]
    name: str
    class_names: tuple = ()
    class_counts: tuple = ()

    @property
    def num_classes(self):
        """How many classes the labels take (0: unlabelled)."""
        return len(self.class_names)


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


def _convert_channels(image, channels, background=None):
    """``[H, W, C]`` with C in 1..4 (gray, gray + alpha, RGB, RGBA) -> ``channels`` (1 or 3).

    Values in [0, 1]. Alpha is composited over ``background`` (``(r, g, b)``
    ints in 0..255): ``colour * alpha + background * (1 - alpha)``; with no
    background it is dropped. Gray becomes RGB by repetition, RGB becomes
    gray by luminance. Works on run-time channel counts (a folder of mixed files).
    """
    count = image.shape[-1]
    if count is not None:  # known when the graph is built
        colour = image[..., :3 if count >= 3 else 1]
        if channels == 3 and colour.shape[-1] == 1:
            colour = tf.tile(colour, [1, 1, 3])
        elif channels == 1 and colour.shape[-1] == 3:
            colour = tf.image.rgb_to_grayscale(colour)
        if background is None or count not in (2, 4):
            return colour
        return _composite(colour, image[..., count - 1:], channels, background)
    count = tf.shape(image)[-1]
    colour = image[..., :tf.where(count >= 3, 3, 1)]
    if channels == 3:
        colour = tf.cond(tf.shape(colour)[-1] == 1, lambda: tf.tile(colour, [1, 1, 3]),
                         lambda: colour)
    else:
        colour = tf.cond(tf.shape(colour)[-1] == 3, lambda: tf.image.rgb_to_grayscale(colour),
                         lambda: colour)
    colour.set_shape([None, None, channels])
    if background is None:
        return colour
    alpha = tf.cond((count == 2) | (count == 4), lambda: image[..., -1:],
                    lambda: tf.ones_like(colour[..., :1]))
    return _composite(colour, alpha, channels, background)


def _composite(colour, alpha, channels, background):
    """``colour * alpha + background * (1 - alpha)``; alpha 0 gives the background exactly.

    A gray output takes the background's luminance (a gray background: its value).
    """
    red, green, blue = (v / 255.0 for v in background)
    if channels == 3:
        fill = tf.constant([red, green, blue], tf.float32)
    elif red == green == blue:
        fill = tf.constant([red], tf.float32)
    else:
        fill = tf.image.rgb_to_grayscale(tf.constant([[red, green, blue]], tf.float32))[0]
    alpha = tf.cast(alpha, colour.dtype)
    return colour * alpha + fill * (1.0 - alpha)


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


def _from_image_array(array, resolution, name, channels="auto", background=None,
                      labels=None, class_names=()):
    """Examples from a checked ``[N, H, W, C]`` array, resized one image at a time.

    Only the array itself is held in memory; each image is scaled, converted,
    cropped and resized in the pipeline, so the resolution costs memory per
    batch, not per data set. ``labels`` (``[N]`` ints) with ``class_names``
    give ``(image, label)`` pairs.
    """
    if len(array) == 0:
        raise ConfigError(f"data.name={name!r} has no examples")
    height, width, count = array.shape[1:]
    if height != width:
        _announce_non_square(name, len(array), len(array))
    target = _effective_channels(count) if channels == "auto" else channels
    scale = 1.0 / 255.0 if array.dtype == np.uint8 else 1.0

    def prepare(image):
        image = _convert_channels(tf.cast(image, tf.float32) * scale, target, background)
        return _images_to_model_range(image, resolution)

    return _labelled(tf.data.Dataset.from_tensor_slices(array), prepare, labels, class_names,
                     "image", (resolution, resolution, target), len(array), name)


def _labelled(dataset, prepare, labels, class_names, kind, shape, num, name):
    """Examples of ``dataset.map(prepare)``, paired with ``labels`` when there are any."""
    if labels is None:
        dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
        return Examples(dataset, kind, shape, num, name)
    labels = np.asarray(labels, np.int32)
    counts = tuple(int(c) for c in np.bincount(labels, minlength=len(class_names)))
    dataset = tf.data.Dataset.zip((dataset, tf.data.Dataset.from_tensor_slices(labels))).map(
        lambda example, label: (prepare(example), label), num_parallel_calls=tf.data.AUTOTUNE)
    return Examples(dataset, kind, shape, num, name, tuple(class_names), counts)


def _check_label_values(labels, count, source):
    """ConfigError unless every label lies in ``[0, count)``."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= count):
        raise ConfigError(f"data.name={source!r}: labels must lie in [0, {count}), got "
                          f"values in [{labels.min()}, {labels.max()}] (data.labels=inferred)")


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


def _fashion_mnist(path, resolution, channels="auto", background=None, labels="none"):
    folder = path or (DEBIAN_FASHION_MNIST if os.path.isdir(DEBIAN_FASHION_MNIST) else "")
    if folder:
        if not os.path.isdir(folder):
            raise MissingPathError(f"data.path={folder!r} does not exist")
        images_file = find_idx(folder, "train-images-idx3-ubyte")
        if images_file is None:
            raise MissingPathError(
                f"data.path={folder!r} holds no train-images-idx3-ubyte[.gz] file"
            )
        images = _array_images(read_idx(images_file), "fashion_mnist")
        targets = None
        if labels == "inferred":
            labels_file = find_idx(folder, "train-labels-idx1-ubyte")
            if labels_file is None:
                raise MissingPathError(
                    f"data.path={folder!r} holds no train-labels-idx1-ubyte[.gz] file, which "
                    "data.labels=inferred reads; add it or set data.labels: none")
            targets = read_idx(labels_file).reshape(-1)
            if len(targets) != len(images):
                raise ConfigError(f"data.path={folder!r}: {labels_file!r} holds {len(targets)} "
                                  f"labels for {len(images)} images")
            _check_label_values(targets, len(FASHION_MNIST_CLASSES), "fashion_mnist")
        return _from_image_array(images, resolution, "fashion_mnist", channels, background,
                                 targets, FASHION_MNIST_CLASSES if targets is not None else ())
    return _tfds_images("fashion_mnist", resolution, channels, background, labels)


def _tfds_images(dataset_name, resolution, channels="auto", background=None, labels="none"):
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
    features = builder.info.features
    class_names = ()
    if labels == "inferred":
        label = features["label"] if "label" in features else None
        if not isinstance(label, tfds.features.ClassLabel):
            raise ConfigError(f"data.labels='inferred': data.name={source!r} has no 'label' "
                              f"class feature; features: {sorted(features.keys())}; use "
                              "data.labels: none")
        class_names = tuple(label.names)
    try:
        builder.download_and_prepare()
    except OSError as error:  # no network, a full or read-only data folder
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ConfigError(f"data.name={source!r} could not be downloaded or prepared "
                          f"({first}); check the network, or point TFDS_DATA_DIR at a "
                          "prepared copy") from None
    dataset = builder.as_dataset(split="train", shuffle_files=True)
    if "image" not in features:
        raise ConfigError(f"data.name='tfds:{dataset_name}' has no 'image' feature; "
                          f"features: {sorted(features.keys())}")
    if channels == "auto":
        channels = _effective_channels(features["image"].shape[-1] or 3)

    def image(ex):
        return _images_to_model_range(_convert_channels(
            tf.cast(ex["image"], tf.float32) / 255.0, channels, background), resolution)

    if class_names:
        dataset = dataset.map(lambda ex: (image(ex), tf.cast(ex["label"], tf.int32)),
                              num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = dataset.map(image, num_parallel_calls=tf.data.AUTOTUNE)
    try:
        num = builder.info.splits["train"].num_examples
    except KeyError:  # split sizes unknown (e.g. tfds.testing.mock_data)
        num = None
    return Examples(dataset, "image", (resolution, resolution, channels), num,
                    f"tfds:{dataset_name}", class_names)


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


def _decode_image(path):
    """An image file's pixels, ``[H, W, C]`` uint8 (the first frame of a GIF)."""
    return tf.io.decode_image(tf.io.read_file(path), expand_animations=False)


def _image_header(path):
    """``(height, width, channels)`` of an image file, decoding all of it; ConfigError if not."""
    try:
        image = _decode_image(path)
    except (tf.errors.OpError, OSError) as error:
        reason = getattr(error, "message", None) or str(error)
        reason = reason.strip().splitlines()[0] if reason.strip() else type(error).__name__
        raise ConfigError(f"image file {path!r} cannot be decoded: {reason}") from None
    return tuple(int(d) for d in image.shape)


def _file_stamps(files):
    """``{path: [size, modification time in ns]}``: what tells a changed file."""
    stats = {path: os.stat(path) for path in files}
    return {path: [stat.st_size, stat.st_mtime_ns] for path, stat in stats.items()}


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
    stamps = _file_stamps(files)
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


def _class_files(folder, source):
    """``(files, labels, class names)`` of a folder whose immediate subfolders are classes.

    Names sorted as Python sorts str; every image below a subfolder, at any
    depth, is of its class. Images directly in the folder, and subfolders
    without any, are left out (and said so).
    """
    with os.scandir(folder) as entries:
        entries = sorted(entries, key=lambda entry: entry.name)
    subfolders = [entry.name for entry in entries if entry.is_dir()]
    at_root = sum(not entry.is_dir() and entry.name.lower().endswith(IMAGE_EXTENSIONS)
                  for entry in entries)
    if at_root:
        log.info(f"data.name={source!r}: leaving out the {at_root} image file"
                 f"{'s' * (at_root > 1)} directly in the folder (data.labels=inferred takes "
                 "the class of an image from its subfolder; move them into one)")
    files, labels, names, empty = [], [], [], []
    for name in subfolders:
        found = _image_files(os.path.join(folder, name))
        if not found:
            empty.append(name)
            continue
        files += found
        labels += [len(names)] * len(found)
        names.append(name)
    if empty:
        log.info(f"data.name={source!r}: leaving out {len(empty)} class folder"
                 f"{'s' * (len(empty) > 1)} without images: "
                 f"{', '.join(repr(name) for name in empty)}")
    if not names:
        raise ConfigError(f"data.labels='inferred': data.name={source!r} has no subfolder "
                          "holding images (each subfolder is a class: "
                          "<folder>/<class>/<image>); use data.labels: none to train on "
                          "every image below it unlabelled")
    return files, np.asarray(labels, np.int32), tuple(names)


def _announce_classes(source, names, counts, limit=50):
    listed = ", ".join(f"{name} {count}" for name, count in list(zip(names, counts))[:limit])
    more = f", and {len(names) - limit} more" if len(names) > limit else ""
    log.info(f"data.name={source!r}: {len(names)} class{'es' * (len(names) > 1)} from its "
             f"subfolders: {listed}{more}")


def _decoded_cache_path(folder, files, resolution, channels, background, labels):
    """Where a folder's decoded images are cached: a file per folder and settings, named
    also by every file's size and modification time (a changed file: another name)."""
    import hashlib
    import json

    from tfgan_stable.utils.files import cache_dir

    def digest(value):
        return hashlib.sha1(json.dumps(value).encode()).hexdigest()[:16]

    slot = digest([os.path.abspath(folder), resolution, channels, list(background), labels])
    stamps = _file_stamps(files)
    content = digest([[os.path.abspath(path)] + stamps[path] for path in files])
    return os.path.join(cache_dir(), "decoded_images", f"{slot}_{content}.npy")


def _load_decoded(cache_path, shape):
    """The cached uint8 array when it is there, whole and of ``shape``; else None."""
    if not os.path.isfile(cache_path):
        return None
    try:
        array = np.load(cache_path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if array.dtype != np.uint8 or array.shape != shape:
        return None
    return array


def _save_decoded(cache_path, array):
    """Writes the cache (atomically) and removes the same slot's older versions; an
    unwritable cache only costs time."""
    from tfgan_stable.utils import files as files_lib

    folder, name = os.path.split(cache_path)
    slot = name.split("_")[0]
    try:
        with files_lib.atomic_path(cache_path, suffix=".npy") as tmp:
            np.save(tmp, array)
        for other in os.listdir(folder):
            if other.startswith(slot + "_") and other.endswith(".npy") and other != name:
                os.remove(os.path.join(folder, other))
    except OSError:
        pass


def _decode_all(files, resolution, channels, background):
    """Every file decoded, converted and resized: ``[N, r, r, channels]`` uint8."""
    def load(path):
        image = _convert_channels(tf.cast(_decode_image(path), tf.float32) / 255.0, channels,
                                  background)
        image = _images_to_model_range(image, resolution)
        return tf.cast(tf.round((image + 1.0) * 127.5), tf.uint8)

    array = np.empty((len(files), resolution, resolution, channels), np.uint8)
    batches = tf.data.Dataset.from_tensor_slices(files).map(
        load, num_parallel_calls=tf.data.AUTOTUNE).batch(256)
    offset = 0
    for batch in batches:
        array[offset:offset + len(batch)] = batch.numpy()
        offset += len(batch)
    return array


def _from_decoded(array, labels, class_names, source):
    """Examples of a decoded uint8 array at the final size: only scaled in the pipeline."""
    def prepare(image):
        return tf.cast(image, tf.float32) / 127.5 - 1.0  # 0 and 255: -1 and 1 exactly

    return _labelled(tf.data.Dataset.from_tensor_slices(array), prepare, labels, class_names,
                     "image", array.shape[1:], len(array), source)


def _folder_images(folder, resolution, channels="auto", background=None, labels="none"):
    source = f"folder:{folder}"
    if not os.path.isdir(folder):
        raise MissingPathError(f"data.name={source!r}: no such folder")
    file_labels, class_names = None, ()
    if labels == "inferred":
        files, file_labels, class_names = _class_files(folder, source)
    else:
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
    if class_names:
        _announce_classes(source, class_names,
                          np.bincount(file_labels, minlength=len(class_names)))
    shape = (len(files), resolution, resolution, channels)
    from tfgan_stable import memory

    try:  # the decoded array, and its float32 copy in the pipeline
        memory.check_bytes(5 * int(np.prod(shape)),
                           f"data.name={source!r} ({shape[0]} images decoded at "
                           f"{resolution}x{resolution}, held in memory)")
    except ConfigError:
        log.info(f"data.name={source!r}: too large to hold decoded in memory; decoding each "
                 "image as it is read")
    else:
        cache_path = _decoded_cache_path(folder, files, resolution, channels,
                                         background or (), labels)
        array = _load_decoded(cache_path, shape)
        if array is None:
            if len(files) > 10_000:
                log.info(f"decoding {len(files)} images at {resolution}x{resolution} (once: "
                         "they are cached)")
            array = _decode_all(files, resolution, channels, background)
            _save_decoded(cache_path, array)
        return _from_decoded(array, file_labels, class_names, source)

    def load(path):
        image = _convert_channels(tf.cast(_decode_image(path), tf.float32) / 255.0, channels,
                                  background)
        return _images_to_model_range(image, resolution)

    return _labelled(tf.data.Dataset.from_tensor_slices(files), load, file_labels,
                     class_names, "image", (resolution, resolution, channels), len(files),
                     source)


def _npy(path, resolution, channels="auto", background=None, labels="none"):
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
    return _from_image_array(_array_images(array, name), resolution, name, channels, background)


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


def load_examples(name, path="", resolution=16, num_samples=100_000, seed=0, channels="auto",
                  labels="none", background="white"):
    """Loads the data source ``name`` (see the module docstring).

    Every example is checked before this returns (a folder's files all
    decode, arrays hold finite values); images are resized one at a time in
    the pipeline, or for a folder once, into the cache. ``channels``: 1, 3 or
    ``"auto"``; ``labels``: ``"none"`` or ``"inferred"`` (``(image, label)``
    pairs); ``background``: ``"white"``, ``"black"`` or three ints 0..255,
    under images with alpha (see ``DataConfig``).

    Raises:
      ConfigError: unknown name, empty source, bad resolution or bad values.
      MissingPathError: a path that does not exist (also a FileNotFoundError).
    """
    if channels not in ("auto", 1, 3):
        raise ConfigError(f"channels must be 'auto', 1 or 3. Received: channels={channels!r}")
    check_data_labels(name, labels)
    background = background_rgb(background)
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

        digits = load_digits()
        images = digits.images.astype(np.float32) / 16.0
        targets, names = ((digits.target, DIGIT_CLASSES) if labels == "inferred"
                          else (None, ()))
        return _from_image_array(images[..., None], resolution, "digits", channels, background,
                                 targets, names)
    if name == "fashion_mnist":
        return _fashion_mnist(path, resolution, channels, background, labels)
    for prefix, loader in (("tfds:", _tfds_images), ("folder:", _folder_images),
                           ("npy:", _npy)):
        if name.startswith(prefix):
            argument = name[len(prefix):]
            if not argument:
                raise ConfigError(f"data.name={name!r} needs a value after {prefix!r}")
            return loader(argument, resolution, channels, background, labels)
    raise ConfigError(
        f"unknown data.name {name!r}; valid: {list(BUILTIN_SOURCES)} or a name starting "
        f"with one of {list(PREFIXED_SOURCES)}"
    )


def without_labels(examples):
    """``examples`` with the labels left out of its dataset (class names and counts kept
    in the record, ``num_classes`` 0): for a family that trains on samples alone."""
    if not examples.num_classes:
        return examples
    return dataclasses.replace(examples, dataset=examples.dataset.map(lambda x, _: x),
                               class_names=())


def labelled_arrays(examples, limit=20_000, seed=0):
    """``(images, labels)`` of labelled examples as NumPy: all of them, or ``limit``
    drawn at random (10,000-example shuffle buffer) from a larger source."""
    if not examples.num_classes:
        raise ValueError(f"labelled_arrays: {examples.name!r} is unlabelled "
                         "(load it with labels='inferred')")
    dataset = examples.dataset
    if examples.num_examples is None or examples.num_examples > limit:
        dataset = dataset.shuffle(10_000, seed=seed).take(limit)
    images, labels = zip(*((x.numpy(), y.numpy()) for x, y in dataset.batch(1024)))
    return np.concatenate(images), np.concatenate(labels).astype(np.int32)


def sample_examples(examples, count, seed=0):
    """Up to ``count`` examples drawn at random (10,000-example shuffle buffer), as NumPy.

    Of labelled examples, only the examples (not their labels).
    """
    dataset = examples.dataset
    if isinstance(dataset.element_spec, tuple):
        dataset = dataset.map(lambda example, *_: example)
    batches = dataset.shuffle(10_000, seed=seed).batch(count)
    return next(iter(batches)).numpy()
