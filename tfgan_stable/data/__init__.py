"""Real samples: named data sources (:mod:`.sources`), the training pipeline
(:mod:`.pipeline`) and the checks of what a user hands to ``fit`` (:mod:`.checks`).

Sources (``data.name`` in configs): ``digits``, ``fashion_mnist``,
``tfds:<name>``, ``folder:<path>``, ``npy:<path>``, ``stacked_digits``,
``ring8`` and ``grid25`` (see :mod:`.sources`).
"""

from tfgan_stable.data import checks  # noqa: F401
from tfgan_stable.data.pipeline import (  # noqa: F401
    CACHE_LIMIT_BYTES,
    IN_MEMORY_BYTES,
    critic_batches,
    drop_labels,
    make_dataset,
)
from tfgan_stable.data.sources import (  # noqa: F401
    BUILTIN_SOURCES,
    DEBIAN_FASHION_MNIST,
    Examples,
    IMAGE_EXTENSIONS,
    MIXTURE_STD,
    PREFIXED_SOURCES,
    find_idx,
    gaussian_mixture,
    grid_centers,
    labelled_arrays,
    load_examples,
    mixture_centers,
    read_idx,
    ring_centers,
    sample_examples,
    sample_mixture,
    scan_images,
    stacked_digits,
    without_labels,
)
