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
* :func:`precision_recall`, :func:`density_coverage`, :func:`copy_share`,
  :func:`conditional_accuracy` and :func:`per_class_frechet` (``fidelity``):
  how faithful, how diverse and how original samples are, on features of
  a classifier such as :func:`labelled_classifier`'s.
"""

from tfgan_stable.metrics.distances import (  # noqa: F401
    _blur,
    frechet_distance,
    kernel_distance,
    laplacian_pyramid,
    mean_pairwise_distance,
    mode_coverage,
    sliced_wasserstein,
    sliced_wasserstein_distance,
    wasserstein_1,
)
from tfgan_stable.metrics.features import (  # noqa: F401
    FASHION_MNIST_CLASSES,
    cache_dir,
    classifier_features,
    digit_classifier,
    digit_classifier_input,
    digit_features,
    extract_features,
    fashion_classifier,
    inception_feature_extractor,
    labelled_classifier,
    labelled_split,
    load_fashion_mnist_split,
    stacked_mode_count,
    train_digit_classifier,
    train_image_classifier,
)
from tfgan_stable.metrics.fidelity import (  # noqa: F401
    classifier_conditional_accuracy,
    conditional_accuracy,
    copy_share,
    density_coverage,
    per_class_frechet,
    precision_recall,
)
from tfgan_stable.metrics.suites import (  # noqa: F401
    IMAGE_METRICS,
    LABELLED_METRICS,
    STACKED_METRICS,
    VECTOR_METRICS,
    default_metric_names,
    evaluate,
    evaluation_suite,
    labelled_classifier_name,
    labelled_suite,
)
