"""The training pipeline: examples -> shuffled batches, ``n_critic`` of them per element.

A fresh real batch for each critic step (Algorithm 1 of the WGAN and WGAN-GP
papers): each element holds ``[batch, n_critic, ...]``, the batch axis first
for ``tf.distribute``. Sources that fit in memory are read in a fresh
permutation per pass, reached at any element without reading the ones before
it (an exact resume); larger ones stream through a shuffle buffer.
"""

import numpy as np
import tensorflow as tf

from tfgan_stable.data import checks as data_checks
from tfgan_stable.data.sources import Examples
from tfgan_stable.errors import ConfigError

CACHE_LIMIT_BYTES = 2 * 1024**3  # cache decoded sources up to this size in memory
IN_MEMORY_BYTES = 256 * 1024**2  # hold sources up to this size as one tensor


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
        raise ValueError(f"n_critic must be >= 1. Received: n_critic={n_critic}")
    if n_critic == 1:
        return dataset

    def batch_major(tensor):  # [n_critic, batch, ...] -> [batch, n_critic, ...]
        perm = [1, 0] + list(range(2, len(tensor.shape)))
        return tf.transpose(tensor, perm)

    def group(*parts):  # samples, or (samples, labels)
        grouped = tuple(batch_major(part) for part in parts)
        return grouped if len(grouped) > 1 else grouped[0]

    return dataset.batch(n_critic, drop_remainder=True).map(group)


def make_dataset(examples, batch_size, n_critic=1, seed=0, shuffle_buffer=10_000, start=0,
                 class_balanced=False):
    """The infinite training pipeline for a GAN.

    A source that fits in memory (up to ``IN_MEMORY_BYTES``, with a known
    size) is held as one tensor and read in a fresh random permutation per
    pass, made by ``tf.random.experimental.index_shuffle`` from ``(seed,
    pass)``: the order does not depend on how many iterators Keras or a
    distribution strategy creates, and element ``start`` is reached without
    reading the ones before it (an exact resume). Larger sources stream
    through a shuffle buffer; there ``start`` skips elements.

    With ``class_balanced`` (labelled examples held in memory) each pass
    reads every class equally often: a table of every class's example indices,
    each cycled up to the largest class's count, permuted per pass the same way.

    Args:
      examples: an :class:`Examples`, a ``tf.data.Dataset`` of single examples
        (or of ``(example, label)`` pairs), or a NumPy array ``[N, ...]`` of
        them. Images must be floats in [-1, 1]: integer data, or values far
        outside that range, are refused with a message saying how to scale.
      batch_size: the global batch size (Keras splits it over replicas).
      n_critic: real batches per element (see :func:`critic_batches`).
      seed: shuffle seed.
      shuffle_buffer: shuffle buffer size of a streamed source.
      start: elements (train steps) to leave out at the beginning.
      class_balanced: sample the classes equally (``(example, label)`` pairs,
        e.g. ``load_examples(..., labels="inferred")``, that fit in memory).

    Returns:
      A repeated, shuffled ``tf.data.Dataset`` with elements of shape
      ``[batch_size, n_critic, ...]`` (``[batch_size, ...]`` when n_critic is 1).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1. Received: batch_size={batch_size!r}")
    source = "a tf.data.Dataset"
    if not isinstance(examples, (Examples, tf.data.Dataset)):
        source = f"an array of shape {list(np.shape(examples))}"
        examples = _dataset_from_array(examples)
    if isinstance(examples, Examples):
        dataset, num = examples.dataset, examples.num_examples  # checked when loaded
        source = examples.name
    else:
        dataset, num = examples, _known_size(examples)
        _check_user_examples(dataset)
    if num == 0:
        name = getattr(examples, "name", "the dataset")
        raise ValueError(f"make_dataset needs examples; {name!r} has none")
    if num is not None and num < batch_size:
        raise ValueError(f"batch_size must be <= the {num} examples of the data. "
                         f"Received: batch_size={batch_size}")
    first_example = int(start) * batch_size * n_critic
    size_bytes = float("inf") if num is None else num * _example_bytes(dataset)
    if class_balanced:
        _check_balanceable(examples, dataset, source, size_bytes)
    if size_bytes <= IN_MEMORY_BYTES:
        batches = _permuted_batches(dataset, num, batch_size, seed, first_example,
                                    bool(class_balanced))
    else:
        if size_bytes <= CACHE_LIMIT_BYTES:
            dataset = dataset.cache()  # decode / resize once, then only re-shuffle
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        batches = dataset.repeat().skip(first_example).batch(batch_size, drop_remainder=True)
    return data_checks.mark_checked(critic_batches(batches, n_critic).prefetch(tf.data.AUTOTUNE),
                                    source)


def drop_labels(dataset, source):
    """A training pipeline of ``(samples, labels)`` with the labels left out (an
    unconditional GAN on labelled data, e.g. class-balanced sampling); still checked."""
    return data_checks.mark_checked(dataset.map(lambda samples, _: samples), source)


def _dataset_from_array(array):
    """A dataset of the rows of a NumPy array (or anything ``np.asarray`` takes)."""
    try:
        array = np.asarray(array)
    except (TypeError, ValueError) as error:
        raise ValueError("make_dataset takes an Examples (tfgan_stable.load_examples), a "
                         "tf.data.Dataset of single examples or a NumPy array [N, ...]. "
                         f"Received: {type(array).__name__} ({error})") from None
    if array.ndim < 2 or array.dtype == object:
        raise ValueError("make_dataset takes a NumPy array of examples, [N, ...] with N "
                         f"examples. Received: an array of shape {array.shape}, dtype "
                         f"{array.dtype}")
    data_checks.check_real_samples(array, array.shape[1:], "make_dataset")
    return tf.data.Dataset.from_tensor_slices(array)


def _check_user_examples(dataset, count=64):
    """The dtype and range of a user dataset's first ``count`` examples (see data_checks)."""
    spec = dataset.element_spec
    samples = spec[0] if isinstance(spec, tuple) else spec
    if not isinstance(samples, tf.TensorSpec):
        return
    data_checks.check_dtype(samples.dtype, "make_dataset's examples")
    first = next(iter(dataset.take(count).batch(count)), None)
    if first is not None:
        data_checks.check_real_samples(first, tuple(samples.shape), "make_dataset")


def _known_size(dataset):
    size = int(dataset.cardinality())
    return size if size >= 0 else None


def _example_bytes(dataset):
    specs = tf.nest.flatten(dataset.element_spec)
    if not all(isinstance(spec, tf.TensorSpec) and spec.shape.is_fully_defined()
               for spec in specs):
        return float("inf")
    return sum(int(np.prod(spec.shape)) * spec.dtype.size for spec in specs)


def _check_balanceable(examples, dataset, source, size_bytes):
    """ConfigError naming class_balanced unless the examples are labelled and fit in memory."""
    spec = dataset.element_spec
    labelled = (examples.num_classes > 0 if isinstance(examples, Examples) else
                isinstance(spec, tuple) and len(spec) == 2
                and isinstance(spec[1], tf.TensorSpec) and spec[1].shape.rank == 0
                and spec[1].dtype.is_integer)
    if not labelled:
        raise ConfigError(f"class_balanced=True (data.class_balanced) needs labelled examples: "
                          f"(example, label) pairs (load_examples(..., labels='inferred')); "
                          f"{source!r} has no labels")
    if size_bytes > IN_MEMORY_BYTES:
        size = ("of unknown size" if size_bytes == float("inf")
                else f"about {size_bytes / 2**20:.0f} MiB as float32")
        raise ConfigError(f"class_balanced=True (data.class_balanced) needs examples held in "
                          f"memory (up to {IN_MEMORY_BYTES / 2**20:.0f} MiB); {source!r} is "
                          f"{size} and is streamed: lower data.resolution, or balance the "
                          "classes in the data itself")


def balanced_table(labels):
    """Example indices with every class's cycled up to the largest class's count.

    ``labels``: ``[N]`` ints. Returns ``[num_classes_present * largest]`` int64,
    class by class; a pass over it reads every class equally often.
    """
    labels = np.asarray(labels).reshape(-1)
    members = [np.flatnonzero(labels == label) for label in np.unique(labels)]
    largest = max(len(indices) for indices in members)
    return np.concatenate([np.resize(indices, largest) for indices in members]).astype(np.int64)


def _permuted_batches(dataset, num, batch_size, seed, first_example, balanced=False):
    """Batches of a permutation per pass over an in-memory source, from ``first_example``.

    ``balanced``: a pass permutes :func:`balanced_table` of the labels instead.
    """
    data = tf.nest.map_structure(tf.constant, dataset.batch(num).get_single_element())
    seed = int(seed)
    table = tf.constant(balanced_table(data[1].numpy())) if balanced else None
    size = num if table is None else int(table.shape[0])

    def gather(positions):  # global example positions -> one batch
        passes, index = positions // size, positions % size
        last = tf.fill(tf.shape(index), tf.constant(size - 1, tf.int64))

        def permuted(pass_index):
            return tf.random.experimental.index_shuffle(
                index, tf.stack([tf.constant(seed, tf.int64), pass_index]), last)

        # batch_size <= num <= size: a batch spans at most two passes
        shuffled = tf.where(tf.equal(passes, passes[0]), permuted(passes[0]),
                            permuted(passes[0] + 1))
        if table is not None:
            shuffled = tf.gather(table, shuffled)
        return tf.nest.map_structure(lambda part: tf.gather(part, shuffled), data)

    positions = tf.data.Dataset.counter(first_example).batch(batch_size)
    return positions.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
