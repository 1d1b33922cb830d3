"""Class conditioning: a label input for generators, a projection for critics.

* Generators take ``[z, label]``: the class's learned embedding is joined to
  ``z`` before the first layer (the conditional GAN of Mirza & Osindero 2014,
  arXiv 1411.1784, as the Keras examples and BigGAN's shared embedding feed it).
* Critics take ``[images, label]`` and score them with the projection
  discriminator of Miyato & Koyama 2018 (arXiv 1802.05637, eq. 3):
  ``D(x, y) = psi(phi(x)) + <V_y, phi(x)>``, ``phi`` the critic's features
  before its score layer ``psi`` and ``V`` a learned matrix with a row per
  class (spectrally normalised with the rest of an SNGAN critic, as in the paper).

A label is an int32 scalar per sample in ``[0, num_classes)``; networks with a
label input carry a :class:`ClassEmbedding` layer from which
:func:`class_count` reads their number of classes.
"""

import numbers

import keras
from keras import layers, ops

from tfgan_stable.networks.spectral_norm import maybe_spectral_norm


@keras.saving.register_keras_serializable(package="tfgan_stable")
class ClassEmbedding(keras.layers.Layer):
    """Integer labels ``[B]`` -> rows of a learned ``[num_classes, units]`` matrix.

    Keras' ``Embedding`` with its matrix kept as ``kernel`` (``units`` output
    channels), so that :class:`~tfgan_stable.networks.SpectralNorm` can wrap it
    like a Dense layer: the projection's ``V`` is normalised as the paper does.
    """

    def __init__(self, num_classes, units, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        for key, value in (("num_classes", num_classes), ("units", units)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"ClassEmbedding.{key} must be an int >= 1. "
                                 f"Received: {key}={value!r}")
        self.num_classes = int(num_classes)
        self.units = int(units)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape=None):
        self.kernel = self.add_weight(name="kernel", shape=(self.num_classes, self.units),
                                      initializer=self.initializer)

    def call(self, labels):
        kernel = ops.convert_to_tensor(self.kernel)
        return ops.take(kernel, ops.cast(labels, "int32"), axis=0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "units": self.units,
                "initializer": keras.initializers.serialize(self.initializer)}


def check_num_classes(num_classes):
    """``num_classes`` as an int >= 0 (0: unconditional); ValueError naming it otherwise."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) \
            or num_classes < 0:
        raise ValueError(f"num_classes must be an int >= 0 (0: unconditional). "
                         f"Received: num_classes={num_classes!r}")
    return int(num_classes)


def label_input():
    """The ``label`` input of a conditional network: int32 ``[B]``."""
    return keras.Input((), dtype="int32", name="label")


def generator_inputs(latent_dim, num_classes, embedding_dim=None):
    """``(inputs, x)`` for a generator's first layer.

    Unconditional (``num_classes`` 0): the ``z`` input and ``z``. Conditional:
    ``[z, label]`` and ``z`` joined to the class embedding (``embedding_dim``
    wide, default ``latent_dim``).
    """
    z = keras.Input((latent_dim,), name="z")
    if not check_num_classes(num_classes):
        return z, z
    label = label_input()
    width = latent_dim if embedding_dim is None else embedding_dim
    embedded = ClassEmbedding(num_classes, width, name="class_embedding")(label)
    return [z, label], layers.Concatenate(name="z_and_class")([z, embedded])


def projection_score(features, score_layer, num_classes, spectral_norm=False):
    """``(extra_inputs, score)``: ``score_layer(features)``, plus the projection term.

    ``features``: the critic's ``[B, F]`` features ``phi(x)``. Unconditional:
    ``([], psi(phi(x)))``. Conditional: ``([label], psi(phi(x)) + <V_y, phi(x)>)``
    with ``V`` a :class:`ClassEmbedding` named ``class_projection`` (wrapped in
    SpectralNorm when ``spectral_norm``).
    """
    score = score_layer(features)
    if not check_num_classes(num_classes):
        return [], score
    label = label_input()
    projection = maybe_spectral_norm(
        ClassEmbedding(num_classes, int(features.shape[-1]), name="class_projection"),
        spectral_norm)(label)
    agreement = layers.Dot(axes=1, name="class_agreement", dtype="float32")(
        [projection, features])
    return [label], layers.Add(name="projected_score", dtype="float32")([score, agreement])


def class_count(network):
    """The number of classes ``network`` is conditioned on (0: none).

    Read from its label input's :class:`ClassEmbedding` (any depth).

    Raises:
      ValueError: ``network`` has several ClassEmbedding layers of different sizes.
    """
    counts = {layer.num_classes for layer in network._flatten_layers(include_self=True)
              if isinstance(layer, ClassEmbedding)}
    if len(counts) > 1:
        raise ValueError(f"network {network.name!r} holds class embeddings of different "
                         f"sizes {sorted(counts)}; one label input, one class count")
    return counts.pop() if counts else 0


def input_count(network):
    """How many inputs a functional network declares (1 for a subclassed one)."""
    inputs = getattr(network, "inputs", None)
    return len(inputs) if isinstance(inputs, (list, tuple)) and inputs else 1
