"""Swapping Keras' layers for the library's faster equals, and back.

The library's networks are built from layers that compute what Keras' do,
faster in bfloat16 on CPUs with AMX (``bench/results/layer_speed*.md``):
``FusedBatchNormalization`` (one fused op per training step) and
``small_conv.Conv2D`` / ``Conv2DTranspose`` (small feature maps as matrix
products). ``with_fast_layers`` gives a network written with Keras' layers
the same: a copy of the model with every ``keras.layers.BatchNormalization``,
``Conv2D`` and ``Conv2DTranspose`` replaced by the library's, and the
original's weights. Same architecture, same variables, same results up to
float rounding; the original model is left as it is.

``with_keras_layers`` is the inverse: a copy with Keras' own layers in place
of the library's. Exports use it, so that a served graph holds plain
TensorFlow ops (the library's bfloat16 filter gradient is a
``tf.custom_gradient``, which a SavedModel cannot keep: every load would
warn about it).
"""

import keras

from tfgan_stable.fast import small_conv
from tfgan_stable.fast.batch_norm import FusedBatchNormalization

# Keras layer class -> the library's equivalent (exact classes: a user's
# subclass of a Keras layer may change what it computes, so it is kept).
REPLACEMENTS = {
    keras.layers.BatchNormalization: FusedBatchNormalization,
    keras.layers.Conv2D: small_conv.Conv2D,
    keras.layers.Conv2DTranspose: small_conv.Conv2DTranspose,
}
# The library's layer class -> Keras' (the inverse of REPLACEMENTS).
KERAS_EQUIVALENTS = {library: keras_class for keras_class, library in REPLACEMENTS.items()}
# Arguments of the library's layers that Keras' do not take.
LIBRARY_ONLY_ARGUMENTS = small_conv.OPTIONS


def with_fast_layers(model, matrix_path=True, matrix_filter_gradient=True):
    """A copy of the functional or sequential ``model`` with the library's layers.

    Args:
      model: a functional or sequential Keras model.
      matrix_path: whether the convolutions may compute small maps as matrix
        products. The batch norm is swapped either way. Pass False for
        WGAN-GP's networks, as the library's WGAN-GP configs build them: with
        it, bfloat16 trained worse there at 2 of 3 seeds (``docs/benchmarks.md``).
      matrix_filter_gradient: whether, where the whole matrix path is not
        taken, the convolutions' kernel gradients may be matrix products
        (Keras' forward and input gradient kept; ``small_conv``). WGAN-GP's
        quality held with it (8 bfloat16 seeds within float32's noise).

    Raises:
      ValueError: ``model`` is not a Keras model, or is a subclassed one (its
        layers cannot be swapped).
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"with_fast_layers: expected a Keras model, got {type(model).__name__}")

    def swap(layer):
        if isinstance(layer, keras.layers.Wrapper):  # e.g. SpectralNorm: swap what it wraps
            return rewrapped(layer, swap)
        cls = REPLACEMENTS.get(type(layer), layer.__class__)
        config = layer.get_config()
        if cls in (small_conv.Conv2D, small_conv.Conv2DTranspose):
            config.update(matrix_path=matrix_path, matrix_filter_gradient=matrix_filter_gradient)
        return cls.from_config(config)

    try:
        clone = keras.models.clone_model(model, clone_function=swap, recursive=True)
    except ValueError as error:
        raise ValueError(f"with_fast_layers: model {model.name!r} cannot have its layers "
                         f"swapped (only functional and sequential models can): {error}") from None
    clone.set_weights(model.get_weights())
    return clone


def rewrapped(wrapper, swap):
    """A new ``keras.layers.Wrapper`` like ``wrapper`` around ``swap(wrapper.layer)``.

    The wrapped layer comes first in the wrapper's config and its weights keep
    their order, so ``set_weights`` of the clone takes the original's.
    """
    config = wrapper.get_config()
    config["layer"] = keras.saving.serialize_keras_object(swap(wrapper.layer))
    return wrapper.__class__.from_config(config)


def library_layers(layer):
    """The library's fast layers inside ``layer`` (a model or layer), itself included."""
    return [inner for inner in layer._flatten_layers(include_self=True, recursive=True)
            if type(inner) in KERAS_EQUIVALENTS]


def with_keras_layers(model):
    """A copy of ``model`` with Keras' layers in place of the library's; ``model`` if none.

    The inverse of :func:`with_fast_layers`: every ``FusedBatchNormalization``,
    ``small_conv.Conv2D`` and ``small_conv.Conv2DTranspose`` becomes Keras'
    layer with the same configuration (dtype policy included) and weights, in
    nested functional and sequential models too. Same results up to float
    rounding. A model without the library's layers (e.g. ProGAN's, BEGAN's
    and the MLP networks) is returned as it is.

    Raises:
      ValueError: ``model`` is not a Keras model, or the library's layers sit
        inside a subclassed model or layer (its code creates them, so they
        cannot be swapped).
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"with_keras_layers: expected a Keras model, got {type(model).__name__}")
    if not library_layers(model):
        return model

    def swap(layer):
        if isinstance(layer, keras.layers.Wrapper):  # e.g. SpectralNorm: swap what it wraps
            return rewrapped(layer, swap)
        keras_class = KERAS_EQUIVALENTS.get(type(layer))
        if keras_class is None:
            inside = library_layers(layer)
            if inside:
                raise ValueError(
                    f"with_keras_layers: layer {layer.name!r} ({type(layer).__name__}) creates "
                    f"the library's layer {inside[0].name!r} ({type(inside[0]).__name__}) in "
                    "its own code; only the layers of functional and sequential models can "
                    "be swapped")
            return layer.__class__.from_config(layer.get_config())
        config = {key: value for key, value in layer.get_config().items()
                  if key not in LIBRARY_ONLY_ARGUMENTS}
        return keras_class.from_config(config)

    try:
        clone = keras.models.clone_model(model, clone_function=swap, recursive=True)
    except ValueError as error:
        if str(error).startswith("with_keras_layers"):
            raise
        raise ValueError(f"with_keras_layers: model {model.name!r} cannot have its layers "
                         f"swapped (only functional and sequential models can): {error}") from None
    clone.set_weights(model.get_weights())
    return clone
