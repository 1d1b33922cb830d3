"""with_fast_layers: a user's Keras network with the library's equivalent layers."""

import numpy as np
import pytest

import keras
import tfgan_stable as tg
from tfgan_stable.fast import small_conv


def keras_network():
    """A small generator written with Keras' layers, one nested block included."""
    z = keras.Input((8,))
    x = keras.layers.Dense(2 * 2 * 6, use_bias=False)(z)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Reshape((2, 2, 6))(x)
    x = keras.layers.Conv2DTranspose(5, 4, strides=2, padding="same")(x)
    block = keras.Sequential([keras.Input((4, 4, 5)), keras.layers.Conv2D(3, 3, padding="same"),
                              keras.layers.BatchNormalization(), keras.layers.LeakyReLU(0.2)])
    x = block(x)
    return keras.Model(z, keras.layers.Conv2D(1, 3, strides=2, padding="same")(x))


def all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from all_layers(layer)


def test_keras_layers_become_the_librarys_with_the_same_weights_and_outputs(monkeypatch):
    monkeypatch.setattr(small_conv, "MAX_GATHER_SHARE", 100.0)  # the matrix path, tiny channels
    model = keras_network()
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0.5, 0.3, w.shape).astype("float32")
                       for w in model.get_weights()])
    fast = tg.with_fast_layers(model)
    kinds = [type(layer) for layer in all_layers(fast)]
    assert kinds.count(tg.FusedBatchNormalization) == 2
    assert kinds.count(small_conv.Conv2D) == 2 and small_conv.Conv2DTranspose in kinds
    assert keras.layers.BatchNormalization not in kinds and keras.layers.Conv2D not in kinds
    assert not any(isinstance(layer, (tg.FusedBatchNormalization, small_conv.Conv2D))
                   for layer in all_layers(model))  # the original is untouched
    for ours, theirs in zip(fast.weights, model.weights):
        assert ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
    assert ours is not theirs
    z = rng.normal(size=(16, 8)).astype("float32")
    np.testing.assert_allclose(fast(z, training=False), model(z, training=False), atol=1e-5)
    np.testing.assert_allclose(fast(z, training=True), model(z, training=True), atol=1e-4)


def test_matrix_path_false_keeps_keras_convolutions_and_swaps_the_batch_norm():
    fast = tg.with_fast_layers(keras_network(), matrix_path=False)
    convolutions = [layer for layer in all_layers(fast)
                    if isinstance(layer, (small_conv.Conv2D, small_conv.Conv2DTranspose))]
    assert len(convolutions) == 3 and not any(c.matrix_path for c in convolutions)
    assert all(c.matrix_filter_gradient for c in convolutions)
    keras_convolutions = tg.with_fast_layers(keras_network(), matrix_path=False,
                                             matrix_filter_gradient=False)
    assert not any(getattr(c, "matrix_filter_gradient", False)
                   for c in all_layers(keras_convolutions))
    assert [type(layer) for layer in all_layers(fast)].count(tg.FusedBatchNormalization) == 2
    assert all(c.matrix_path for c in all_layers(tg.with_fast_layers(keras_network()))
               if isinstance(c, small_conv.Conv2D))


def test_subclassed_models_and_non_models_are_refused_by_name():
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__(name="mine")
            self.dense = keras.layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    with pytest.raises(ValueError, match="'mine' cannot have its layers swapped"):
        tg.with_fast_layers(Subclassed())
    with pytest.raises(ValueError, match="expected a Keras model, got Dense"):
        tg.with_fast_layers(keras.layers.Dense(2))
