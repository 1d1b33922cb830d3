"""ProGAN layers: numerics on hand-made inputs, and serialisation."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_stable.networks import progan_layers as layers
from tfgan_stable.fast.batch_norm import FusedBatchNormalization


def test_equalized_dense_scales_unit_normal_weights_at_run_time():
    layer = layers.EqualizedDense(256)
    x = np.random.default_rng(0).normal(size=(8, 64)).astype("float32")
    y = layer(x).numpy()
    kernel = layer.kernel.numpy()
    assert kernel.std() == pytest.approx(1.0, abs=0.05)  # stored as N(0, 1)
    assert layer.scale == pytest.approx(math.sqrt(2) / math.sqrt(64))
    np.testing.assert_allclose(y, x @ kernel * math.sqrt(2 / 64), rtol=1e-4, atol=1e-5)


def test_equalized_conv_matches_a_plain_convolution_with_the_scaled_kernel():
    layer = layers.EqualizedConv2D(5, kernel_size=3, gain=1.0)
    x = np.random.default_rng(1).normal(size=(2, 6, 6, 4)).astype("float32")
    y = layer(x).numpy()
    scale = 1.0 / math.sqrt(3 * 3 * 4)
    expected = tf.nn.conv2d(x, layer.kernel.numpy() * scale, 1, "SAME").numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = np.random.default_rng(2).normal(size=(3, 4, 4, 7)).astype("float32") * 5
    y = layers.PixelNorm()(x).numpy()
    np.testing.assert_allclose((y**2).mean(axis=-1), 1.0, rtol=1e-5)


def test_minibatch_stddev_on_a_hand_made_batch():
    # batch of 4, one pixel, 2 channels; group size 2 -> groups {0, 1} and {2, 3}
    x = np.array([[1.0, 2.0], [3.0, 6.0], [0.0, 0.0], [0.0, 4.0]], "float32").reshape(4, 1, 1, 2)
    y = layers.MinibatchStdDev(group_size=2, epsilon=0.0)(x).numpy()
    assert y.shape == (4, 1, 1, 3)
    np.testing.assert_array_equal(y[..., :2], x)  # the features pass through
    # group {0, 1}: std of (1, 3) = 1, of (2, 6) = 2 -> 1.5; group {2, 3}: 0 and 2 -> 1.0
    np.testing.assert_allclose(y[:, 0, 0, 2], [1.5, 1.5, 1.0, 1.0], rtol=1e-6)


def test_minibatch_stddev_uses_the_whole_batch_when_not_divisible():
    x = np.array([1.0, 2.0, 6.0], "float32").reshape(3, 1, 1, 1)
    y = layers.MinibatchStdDev(group_size=4, epsilon=0.0)(x).numpy()
    np.testing.assert_allclose(y[:, 0, 0, 1], [np.std([1.0, 2.0, 6.0])] * 3, rtol=1e-6)


def test_resampling_and_rgb_convolutions():
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    down = layers.downsample()(x).numpy()
    np.testing.assert_allclose(down[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])
    up = layers.upsample()(down).numpy()
    np.testing.assert_allclose(up[0, :2, :2, 0], 2.5)
    assert layers.to_rgb(3)(np.zeros((1, 4, 4, 8), "float32")).shape == (1, 4, 4, 3)
    assert layers.from_rgb(8)(np.zeros((1, 4, 4, 3), "float32")).shape == (1, 4, 4, 8)


@pytest.mark.parametrize("layer", [
    layers.EqualizedDense(3, gain=1.0), layers.EqualizedConv2D(2, 1),
    layers.PixelNorm(epsilon=1e-6), layers.MinibatchStdDev(group_size=2)])
def test_layers_serialise(layer):
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(restored) is type(layer)
    assert restored.get_config() == layer.get_config()


def test_normalization_layer_kinds_and_a_clear_error():
    from tfgan_stable import networks

    assert isinstance(networks.normalization_layer("batch", "b", fast_layers=True),
                      FusedBatchNormalization)
    keras_norm = networks.normalization_layer("batch", "b")
    assert type(keras_norm) is keras.layers.BatchNormalization and keras_norm.synchronized
    layer = networks.normalization_layer("layer", "l")
    assert isinstance(layer, keras.layers.LayerNormalization)
    x = np.random.default_rng(0).normal(3.0, 2.0, (2, 4, 4, 3)).astype("float32")
    y = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(y.reshape(2, -1).mean(1), 0.0, atol=1e-5)  # per image
    assert networks.normalization_layer("none", "n") is None
    assert networks.normalization_layer(None, "n") is None
    with pytest.raises(ValueError, match="normalization must be 'batch', 'layer' or 'none'"):
        networks.normalization_layer("spectral", "s")
