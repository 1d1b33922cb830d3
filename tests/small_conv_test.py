"""small_conv: convolutions on small feature maps as matrix products, against Keras'."""

import numpy as np
import pytest
import tensorflow as tf

import keras
from tfgan_stable.fast import small_conv

CONV_CASES = [  # (input shape, layer arguments)
    ((3, 8, 8, 5), dict(filters=6, kernel_size=4, strides=2, padding="same")),
    ((3, 4, 4, 5), dict(filters=6, kernel_size=5, strides=2, padding="same")),
    ((3, 4, 4, 5), dict(filters=6, kernel_size=3, padding="valid")),
    ((3, 3, 4, 5), dict(filters=6, kernel_size=(2, 3), strides=(1, 2), padding="same")),
    ((3, 2, 2, 5), dict(filters=6, kernel_size=3, padding="same", use_bias=False)),
]
TRANSPOSE_CASES = [
    ((3, 4, 4, 5), dict(filters=6, kernel_size=4, strides=2, padding="same")),
    ((3, 2, 2, 5), dict(filters=6, kernel_size=3, strides=2, padding="valid")),
    ((3, 2, 4, 5), dict(filters=6, kernel_size=3, strides=1, padding="same", use_bias=False)),
]


def twins(keras_class, our_class, shape, policy, kwargs):
    """Keras' layer and ours under ``policy``, built, with the same random weights."""
    saved = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        pair = keras_class(**kwargs), our_class(**kwargs)
    finally:
        keras.config.set_dtype_policy(saved)
    rng = np.random.default_rng(0)
    for layer in pair:
        layer.build(shape)
    for theirs, ours in zip(*(layer.weights for layer in pair)):
        value = rng.normal(0.0, 0.2, theirs.shape).astype("float32")
        theirs.assign(value)
        ours.assign(value)
    return pair


@tf.function
def with_penalty_gradients(layer, x):
    """Output, input gradient, and the weights' gradients of a score and of the
    input gradient's square (a gradient penalty's double backward)."""
    with tf.GradientTape(persistent=True) as outer:
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = tf.cast(layer(x), tf.float32)
            score = tf.reduce_sum(y * tf.cos(y))
        gradient = inner.gradient(score, x)
        penalty = tf.reduce_sum(tf.square(tf.cast(gradient, tf.float32)))
    return (y, gradient, outer.gradient(score, layer.trainable_weights),
            outer.gradient(penalty, layer.trainable_weights))


def gradient_op_types(layer, x):
    graph = with_penalty_gradients.get_concrete_function(layer, x).graph
    return {op.type for op in graph.get_operations()}


def assert_close(ours, theirs, tolerance):
    scale = max(float(np.max(np.abs(theirs))), 1e-6)
    np.testing.assert_allclose(np.asarray(ours) / scale, np.asarray(theirs) / scale,
                               atol=tolerance)


def op_types(layer, x):
    graph = tf.function(layer).get_concrete_function(x).graph
    return {op.type for op in graph.get_operations()}


@pytest.mark.parametrize("classes, shape, kwargs",
                         [((keras.layers.Conv2D, small_conv.Conv2D), *case)
                          for case in CONV_CASES] +
                         [((keras.layers.Conv2DTranspose, small_conv.Conv2DTranspose), *case)
                          for case in TRANSPOSE_CASES])
def test_outputs_and_gradients_of_every_order_match_keras(classes, shape, kwargs, monkeypatch):
    # float32 for exact comparisons, its matmul limit raised to 8x8 to cover every case
    monkeypatch.setattr(small_conv, "MAX_MATMUL_PIXELS_FLOAT32", 64)
    x = tf.constant(np.random.default_rng(1).normal(size=shape), tf.float32)
    keras_layer, our_layer = twins(*classes, shape, "float32", kwargs)
    monkeypatch.setattr(small_conv, "MAX_GATHER_SHARE", 100.0)  # tiny test channels
    pixels = max(shape[1] * shape[2], small_conv.map_pixels(our_layer.compute_output_shape(shape)))
    assert small_conv.matmul_applies(x, pixels, 6)
    assert not {"Conv2D", "Conv2DBackpropInput"} & op_types(our_layer, x)
    assert_same_as_keras(our_layer, keras_layer, x)


def assert_same_as_keras(our_layer, keras_layer, x):
    (y_keras, dx_keras, *dw_keras), (y_ours, dx_ours, *dw_ours) = (
        with_penalty_gradients(layer, x) for layer in (keras_layer, our_layer))
    assert y_ours.shape == y_keras.shape
    assert_close(y_ours, y_keras, 1e-5)
    assert_close(dx_ours, dx_keras, 1e-5)
    for ours, theirs in zip(tf.nest.flatten(dw_ours), tf.nest.flatten(dw_keras)):
        assert_close(ours, theirs, 1e-5)


@pytest.mark.parametrize("classes, shape, kwargs",
                         [((keras.layers.Conv2D, small_conv.Conv2D), *case)
                          for case in CONV_CASES] +
                         [((keras.layers.Conv2DTranspose, small_conv.Conv2DTranspose), *case)
                          for case in TRANSPOSE_CASES])
@pytest.mark.parametrize("by_phase", [False, True])
def test_the_matrix_filter_gradient_matches_keras_at_every_order(classes, shape, kwargs,
                                                                 by_phase, monkeypatch):
    # float32 for exact comparisons; the rules (16-bit dtypes only) forced on. By
    # phase: every transposed convolution, the convolutions' input gradients too.
    monkeypatch.setattr(small_conv, "filter_gradient_applies", lambda *args: True)
    monkeypatch.setattr(small_conv, "phases_apply", lambda *args: by_phase)
    x = tf.constant(np.random.default_rng(1).normal(size=shape), tf.float32)
    keras_layer, our_layer = twins(*classes, shape, "float32", kwargs)
    our_layer.matrix_path = False
    assert our_layer.takes_matrix_filter_gradient(x)
    # Keras' (oneDNN's) convolution forward unless by phase; no filter gradient op
    transposed = isinstance(our_layer, small_conv.Conv2DTranspose)
    assert bool({"Conv2D", "Conv2DBackpropInput"} & op_types(our_layer, x)) is not (
        by_phase and transposed)
    assert ("Conv2DBackpropInput" in gradient_op_types(our_layer, x)) is not by_phase
    assert "Conv2DBackpropFilter" in gradient_op_types(keras_layer, x)
    assert "Conv2DBackpropFilter" not in gradient_op_types(our_layer, x)
    assert_same_as_keras(our_layer, keras_layer, x)


@pytest.mark.parametrize("matrix_path", [True, False])
def test_bfloat16_matches_float32_to_bfloat16_rounding(matrix_path, monkeypatch):
    monkeypatch.setattr(small_conv, "MAX_GATHER_SHARE", 100.0)  # tiny test channels
    shape, kwargs = CONV_CASES[0]
    x = tf.constant(np.random.default_rng(2).normal(size=shape), tf.float32)
    keras_layer, _ = twins(keras.layers.Conv2D, small_conv.Conv2D, shape, "float32", kwargs)
    _, our_layer = twins(keras.layers.Conv2D, small_conv.Conv2D, shape, "mixed_bfloat16", kwargs)
    our_layer.matrix_path = matrix_path
    assert our_layer(x).dtype == tf.bfloat16
    x16 = tf.cast(x, tf.bfloat16)
    assert our_layer.takes_matrix_path(x16) is matrix_path
    assert our_layer.takes_matrix_filter_gradient(x16) is not matrix_path
    assert "Conv2DBackpropFilter" not in gradient_op_types(our_layer, x)
    (y32, dx32, *dw32), (y16, dx16, *dw16) = (with_penalty_gradients(layer, x)
                                              for layer in (keras_layer, our_layer))
    assert dw16[0][0].dtype == tf.float32  # the variables' gradients stay float32
    assert_close(y16, y32, 0.02)
    assert_close(tf.cast(dx16, tf.float32), dx32, 0.03)
    for ours, theirs in zip(tf.nest.flatten(dw16), tf.nest.flatten(dw32)):
        assert_close(ours, theirs, 0.05)


def test_large_inputs_and_unsupported_arguments_keep_keras_convolution():
    conv = small_conv.Conv2D(256, 3, padding="same")
    big16 = tf.zeros((1, 16, 16, 2), tf.bfloat16)
    small32, small16 = tf.zeros((1, 8, 8, 2)), tf.zeros((1, 8, 8, 2), tf.bfloat16)
    assert not small_conv.matmul_applies(big16, 256, 4096)
    assert small_conv.matmul_applies(small16, 64, 256)
    assert not small_conv.matmul_applies(small16, 64, 128)  # the gather would cost half
    assert not small_conv.matmul_applies(small32, 64, 256)  # float32: only up to 4x4
    assert small_conv.matmul_applies(tf.zeros((1, 4, 4, 2)), 16, 64)
    assert not small_conv.matmul_applies(small16, None, 256)
    assert small_conv.keras_arguments_supported(conv)
    dilated = small_conv.Conv2D(4, 3, dilation_rate=2, padding="same")
    assert not small_conv.keras_arguments_supported(dilated)
    assert "Conv2D" in op_types(small_conv.Conv2D(4, 3, padding="same"), tf.zeros((1, 16, 16, 2)))
    # a transposed convolution counts its output: 8x8 -> 16x16 is not small
    up = small_conv.Conv2DTranspose(4, 4, strides=2, padding="same", dtype="mixed_bfloat16")
    assert "Conv2DBackpropInput" in op_types(up, tf.zeros((1, 8, 8, 256)))
    assert "Conv2DBackpropInput" not in op_types(up, tf.zeros((1, 4, 4, 256)))
    few = small_conv.Conv2DTranspose(4, 4, strides=2, padding="same", dtype="mixed_bfloat16")
    assert "Conv2DBackpropInput" in op_types(few, tf.zeros((1, 4, 4, 32)))  # few channels
    # matrix_path=False: Keras' convolution where the rule would take the products
    small = tf.zeros((1, 4, 4, 256), tf.bfloat16)
    off = small_conv.Conv2D(256, 3, padding="same", matrix_path=False, dtype="mixed_bfloat16")
    assert "Conv2D" in op_types(off, small) and not off.takes_matrix_path(small)
    off_up = small_conv.Conv2DTranspose(4, 4, strides=2, padding="same", matrix_path=False,
                                        dtype="mixed_bfloat16")
    assert "Conv2DBackpropInput" in op_types(off_up, small)


def test_the_filter_gradient_rule_takes_small_maps_with_many_channels_in_16_bits():
    small16, big16 = tf.zeros((1, 8, 8, 2), tf.bfloat16), tf.zeros((1, 32, 32, 2), tf.bfloat16)
    assert small_conv.filter_gradient_applies(small16, 64)
    assert small_conv.filter_gradient_applies(small16, 256)
    assert not small_conv.filter_gradient_applies(big16, 1024)  # over 16x16
    assert not small_conv.filter_gradient_applies(tf.zeros((1, 8, 8, 2)), 64)  # float32
    assert not small_conv.filter_gradient_applies(small16, None)
    # Keras' critic layer 8x8 128->256 (WGAN-GP's): only the filter gradient
    down = small_conv.Conv2D(256, 4, strides=2, padding="same", matrix_path=False,
                             dtype="mixed_bfloat16")
    x = tf.zeros((1, 8, 8, 128), tf.bfloat16)
    assert not down.takes_matrix_path(x) and down.takes_matrix_filter_gradient(x)
    # the whole matrix path, where it applies, comes first
    down.matrix_path = True
    assert down.takes_matrix_path(x) and not down.takes_matrix_filter_gradient(x)
    # a transposed convolution counts its output map and its input channels
    up = small_conv.Conv2DTranspose(128, 4, strides=2, padding="same", matrix_path=False,
                                    dtype="mixed_bfloat16")
    assert up.takes_matrix_filter_gradient(tf.zeros((1, 8, 8, 256), tf.bfloat16))
    assert not up.takes_matrix_filter_gradient(tf.zeros((1, 16, 16, 256), tf.bfloat16))
    off = small_conv.Conv2D(256, 4, strides=2, padding="same", matrix_path=False,
                            matrix_filter_gradient=False, dtype="mixed_bfloat16")
    assert not off.takes_matrix_filter_gradient(x)
    off.build(x.shape)
    assert "Conv2DBackpropFilter" in gradient_op_types(off, tf.zeros((1, 8, 8, 128)))


@pytest.mark.parametrize("input_shape, kernel, stride, padding, output_size", [
    ((3, 4, 4, 5), 4, 2, "same", (8, 8)),
    ((3, 4, 4, 5), 5, 2, "same", (8, 8)),  # phases of 3 and 2 taps
    ((3, 3, 3, 5), 3, 2, "valid", (7, 7)),
    ((3, 2, 3, 5), 3, 1, "same", (2, 3)),
    ((3, 4, 4, 5), 1, 2, "same", (8, 8)),  # phases with no tap: zeros
    ((3, 3, 3, 5), 4, 2, "same", (5, 5)),  # odd output
])
def test_transposed_convolution_by_phase_matches_tensorflow(input_shape, kernel, stride, padding,
                                                            output_size):
    rng = np.random.default_rng(5)
    x = tf.constant(rng.normal(size=input_shape))  # float64: exact to rounding
    w = tf.constant(rng.normal(size=(kernel, kernel, 6, input_shape[-1])))
    expected = tf.nn.conv2d_transpose(x, w, [3, *output_size, 6], stride, padding.upper())
    got = small_conv.conv2d_transpose_by_phase(x, w, (stride, stride), padding, output_size)
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_the_phase_rule_takes_small_maps_with_many_channels_in_16_bits():
    assert small_conv.phases_apply(tf.zeros((1, 4, 4, 512), tf.bfloat16), 256)
    assert small_conv.phases_apply(tf.zeros((1, 2, 2, 256), tf.bfloat16), 256)
    assert not small_conv.phases_apply(tf.zeros((1, 4, 4, 256), tf.bfloat16), 128)
    assert not small_conv.phases_apply(tf.zeros((1, 8, 8, 512), tf.bfloat16), 256)
    assert not small_conv.phases_apply(tf.zeros((1, 4, 4, 512)), 256)  # float32
    # a generator's first layer (WGAN-GP's): forward by phase, no oneDNN op
    up = small_conv.Conv2DTranspose(256, 4, strides=2, padding="same", use_bias=False,
                                    matrix_path=False, dtype="mixed_bfloat16")
    x = tf.zeros((2, 4, 4, 512))
    assert not {"Conv2DBackpropInput", "Conv2D"} & op_types(up, x)


def test_receptive_field_matrix_reads_same_padding_like_tensorflow():
    # 4 pixels, kernel 3, stride 2, same: 2 outputs, padding 0 before and 1 after
    matrix, out_h, out_w = small_conv.receptive_field_matrix(1, 4, (1, 3), (1, 2), "same")
    assert (out_h, out_w) == (1, 2)
    np.testing.assert_array_equal(matrix, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0],
                                           [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]])
    # 3 pixels, kernel 4, stride 1, same: padding 1 before and 2 after
    matrix, _, _ = small_conv.receptive_field_matrix(1, 3, (1, 4), (1, 1), "same")
    np.testing.assert_array_equal(matrix[:4], [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])


def test_a_model_with_them_saves_and_loads(tmp_path):
    inputs = keras.Input((4, 4, 2))
    x = small_conv.Conv2D(3, 3, strides=2, padding="same", name="down")(inputs)
    outputs = small_conv.Conv2DTranspose(2, 4, strides=2, padding="same", name="up")(x)
    off = small_conv.Conv2D(2, 1, matrix_path=False, matrix_filter_gradient=False,
                            name="off")(outputs)
    model = keras.Model(inputs, off)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.get_layer("down")) is small_conv.Conv2D
    assert type(loaded.get_layer("up")) is small_conv.Conv2DTranspose
    assert loaded.get_layer("down").matrix_path and not loaded.get_layer("off").matrix_path
    assert loaded.get_layer("up").matrix_filter_gradient
    assert not loaded.get_layer("off").matrix_filter_gradient
    x = np.random.default_rng(3).normal(size=(2, 4, 4, 2)).astype("float32")
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)



@pytest.mark.parametrize("classes, shape", [
    ((keras.layers.Conv2D, small_conv.Conv2D), (64, 8, 8, 4)),
    ((keras.layers.Conv2DTranspose, small_conv.Conv2DTranspose), (64, 4, 4, 4)),
])
def test_bfloat16_bias_gradient_is_summed_in_float32(classes, shape, monkeypatch):
    # The bias gradient sums batch x height x width values (1,024 and 4,096 here);
    # summed with bfloat16 rounding on the way (tf.nn.bias_add's gradient on CPU) it
    # comes out percents short, where float32 accumulation leaves one final rounding.
    monkeypatch.setattr(small_conv, "MAX_GATHER_SHARE", 100.0)  # tiny test channels
    kwargs = dict(filters=8, kernel_size=4, strides=2, padding="same")
    keras_layer, _ = twins(*classes, shape, "float32", kwargs)
    _, our_layer = twins(*classes, shape, "mixed_bfloat16", kwargs)
    x = tf.constant(np.random.default_rng(3).normal(size=shape), tf.float32)
    assert not {"Conv2D", "Conv2DBackpropInput"} & op_types(our_layer, x)
    weights = tf.constant(np.random.default_rng(4).normal(
        1.0, 0.1, our_layer.compute_output_shape(shape)), tf.float32)

    @tf.function
    def bias_gradient(layer):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.cast(layer(x), tf.float32) * weights)
        return tape.gradient(loss, layer.bias)

    ours, theirs = bias_gradient(our_layer).numpy(), bias_gradient(keras_layer).numpy()
    assert np.linalg.norm(ours - theirs) / np.linalg.norm(theirs) < 0.005
