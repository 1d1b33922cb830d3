"""FusedBatchNormalization: Keras' batch norm, with its training step as one fused op."""

import numpy as np
import pytest
import tensorflow as tf

import keras
from tfgan_stable.fast.batch_norm import FusedBatchNormalization


def pair(shape, **kwargs):
    """A Keras batch norm and a fused one with the same (non-trivial) weights."""
    keras_layer = keras.layers.BatchNormalization(**kwargs)
    fused_layer = FusedBatchNormalization(**kwargs)
    for layer in (keras_layer, fused_layer):
        layer.build(shape)
        channels = shape[kwargs.get("axis", -1)]
        if layer.scale:
            layer.gamma.assign(np.linspace(0.5, 2.0, channels))
        if layer.center:
            layer.beta.assign(np.linspace(-1.0, 1.0, channels))
    return keras_layer, fused_layer


def train_call(layer, x):
    """Output and gradients (input, then the layer's weights) of a training-mode call."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * tf.sin(tf.cast(x, tf.float32)))
    return y, tape.gradient(loss, [x] + layer.trainable_variables)


def op_types(layer, x, training):
    graph = tf.function(lambda t: layer(t, training=training)).get_concrete_function(x).graph
    return {op.type for op in graph.get_operations()}


@pytest.mark.parametrize("shape", [(16, 4, 4, 8), (16, 12)])
@pytest.mark.parametrize("options", [{}, {"center": False, "scale": False},
                                     {"synchronized": True, "momentum": 0.8}])
def test_training_matches_keras_batch_norm(shape, options):
    x = tf.constant(np.random.default_rng(0).normal(1.0, 3.0, shape), tf.float32)
    keras_layer, fused_layer = pair(shape, **options)
    train = tf.function(train_call)
    for _ in range(3):  # three steps: the moving statistics compound
        (y_keras, grads_keras), (y_fused, grads_fused) = (train(layer, x) for layer in
                                                          (keras_layer, fused_layer))
        np.testing.assert_allclose(y_fused, y_keras, atol=1e-5)
        for g_fused, g_keras in zip(grads_fused, grads_keras):
            np.testing.assert_allclose(g_fused, g_keras, atol=5e-5)
    # the moving variance is the biased batch variance's average, as Keras'
    np.testing.assert_allclose(fused_layer.moving_mean, keras_layer.moving_mean, atol=1e-6)
    np.testing.assert_allclose(fused_layer.moving_variance, keras_layer.moving_variance,
                               rtol=1e-6)
    assert not np.allclose(fused_layer.moving_variance, 1.0)
    np.testing.assert_allclose(fused_layer(x, training=False), keras_layer(x, training=False),
                               atol=1e-5)


def test_the_training_step_is_one_fused_op_and_inference_is_keras():
    x = tf.zeros((8, 4, 4, 3))
    _, layer = pair(x.shape)
    assert "FusedBatchNormV3" in op_types(layer, x, training=True)
    assert "FusedBatchNormV3" not in op_types(layer, x, training=False)
    layer.trainable = False  # a frozen layer normalises with its moving statistics
    assert "FusedBatchNormV3" not in op_types(layer, x, training=True)


@pytest.mark.parametrize("kwargs, shape", [({"epsilon": 1e-6}, (8, 4, 4, 3)),
                                           ({"axis": 1}, (8, 4, 4, 3)),
                                           ({}, (8, 4, 3))])
def test_where_the_fused_op_does_not_apply_keras_computes_it(kwargs, shape):
    x = tf.constant(np.random.default_rng(1).normal(size=shape), tf.float32)
    keras_layer, fused_layer = pair(shape, **kwargs)
    assert "FusedBatchNormV3" not in op_types(fused_layer, x, training=True)
    np.testing.assert_allclose(fused_layer(x, training=True), keras_layer(x, training=True),
                               atol=1e-5)


def test_bfloat16_activations_stay_bfloat16_with_float32_weights():
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        shape = (16, 4, 4, 8)
        keras_layer, fused_layer = pair(shape)
    finally:
        keras.config.set_dtype_policy(policy)
    x = tf.cast(np.random.default_rng(2).normal(size=shape), tf.bfloat16)
    (y_keras, grads_keras), (y_fused, grads_fused) = (train_call(layer, x) for layer in
                                                      (keras_layer, fused_layer))
    assert y_fused.dtype == tf.bfloat16 and fused_layer.gamma.dtype == "float32"
    # both normalise in float32 and round once to bfloat16 (8 bits: ~0.4% of |y| <= 4)
    np.testing.assert_allclose(tf.cast(y_fused, tf.float32), tf.cast(y_keras, tf.float32),
                               atol=0.04)
    for g_fused, g_keras in zip(grads_fused[1:], grads_keras[1:]):
        assert g_fused.dtype == tf.float32
        np.testing.assert_allclose(g_fused, g_keras, rtol=0.02, atol=0.05)


def test_a_model_with_it_saves_and_loads(tmp_path):
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, FusedBatchNormalization(name="bn")(inputs))
    model.get_layer("bn").moving_mean.assign([0.5, -0.5, 1.0])
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.get_layer("bn")) is FusedBatchNormalization
    x = np.random.default_rng(3).normal(size=(2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)
