"""The normalisation-free residual networks (R3GAN-style): shapes, identity blocks, gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_stable import fast
from tfgan_stable.networks import (
    build_dcgan_discriminator,
    build_resnet_discriminator,
    build_resnet_generator,
)

NORMALIZATION_LAYERS = (
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
    keras.layers.GroupNormalization,
    keras.layers.UnitNormalization,
    fast.FusedBatchNormalization,
)


def generator(resolution=16, channels=1, **kwargs):
    return build_resnet_generator(8, resolution, channels, filters=4, max_filters=8, **kwargs)


def discriminator(resolution=16, channels=1, **kwargs):
    return build_resnet_discriminator(resolution, channels, filters=4, max_filters=8, **kwargs)


def latents(count=3, scale=1.0):
    return (scale * np.random.default_rng(0).normal(size=(count, 8))).astype("float32")


def images(resolution=16, channels=1, count=3):
    rng = np.random.default_rng(1)
    return rng.uniform(-1, 1, (count, resolution, resolution, channels)).astype("float32")


def residual_sums(model):
    """The Add layers that close the residual blocks (named ``s{res}_res{j}``)."""
    return [layer for layer in model.layers
            if isinstance(layer, keras.layers.Add) and "_res" in layer.name]


@pytest.mark.parametrize("resolution", [4, 8, 16])
@pytest.mark.parametrize("channels", [1, 3])
def test_generator_gives_images_of_the_resolution_in_minus_one_to_one(resolution, channels):
    g = generator(resolution, channels)
    # z scaled up drives the (at init linear) stream far past what only tanh bounds
    out = g(latents(scale=100.0))
    assert tuple(out.shape) == (3, resolution, resolution, channels)
    assert out.dtype == "float32"
    values = np.asarray(out)
    assert np.all(np.abs(values) <= 1.0) and np.abs(values).max() > 0.5


@pytest.mark.parametrize("resolution", [4, 8, 16])
@pytest.mark.parametrize("channels", [1, 3])
def test_discriminator_gives_one_float32_score_per_image(resolution, channels):
    d = discriminator(resolution, channels)
    score = d(images(resolution, channels))
    assert tuple(score.shape) == (3, 1) and score.dtype == "float32"
    assert np.all(np.isfinite(np.asarray(score)))


def normalization_layers(model):
    return [layer.name for layer in model._flatten_layers(include_self=False)
            if isinstance(layer, NORMALIZATION_LAYERS)]


@pytest.mark.parametrize("fast_layers", ["off", "on"])
def test_no_normalisation_layer_in_either_network(fast_layers):
    # the check sees the library's fused batch norm in a DCGAN critic
    dcgan = build_dcgan_discriminator(16, 1, filters=4, fast_layers=fast_layers)
    assert normalization_layers(dcgan)
    for model in (generator(fast_layers=fast_layers), discriminator(fast_layers=fast_layers)):
        assert normalization_layers(model) == []


@pytest.mark.parametrize("build", [generator, discriminator])
def test_each_residual_block_starts_as_the_identity(build):
    model = build(blocks_per_stage=2)
    sums = residual_sums(model)
    assert len(sums) == 3 * 2  # 16, 8 and 4 px, two blocks each
    inputs = latents() if build is generator else images()
    probe = keras.Model(model.input,
                        [out for add in sums for out in (add.input[0], add.output)])
    outputs = [np.asarray(value) for value in probe(inputs)]
    for add, block_in, block_out in zip(sums, outputs[::2], outputs[1::2]):
        assert np.abs(block_in).max() > 0, add.name
        np.testing.assert_array_equal(block_out, block_in, err_msg=add.name)
    # the probe does see the branch: a non-zero last convolution changes a block's output
    last = model.get_layer(f"{sums[0].name}_conv2")
    last.kernel.assign(tf.fill(last.kernel.shape, 0.1))
    block_in, block_out = (np.asarray(value) for value in probe(inputs)[:2])
    assert np.abs(block_out - block_in).max() > 1e-3


def gradients(model, inputs):
    with tf.GradientTape() as tape:
        out = model(inputs, training=True)
        loss = tf.reduce_mean(tf.square(out)) + tf.reduce_mean(out)
    return loss, tape.gradient(loss, model.trainable_variables)


@pytest.mark.parametrize("build", [generator, discriminator])
def test_gradients_reach_every_variable_and_are_non_zero_once_the_last_convs_move(build):
    model = build()
    inputs = latents() if build is generator else images()
    _, grads = gradients(model, inputs)
    names = [v.path for v in model.trainable_variables]
    assert all(g is not None for g in grads), [n for n, g in zip(names, grads) if g is None]
    # zero-initialised last convolutions block the first convolutions' gradients at init
    first = [g for n, g in zip(names, grads) if "_conv1/kernel" in n]
    assert first and all(np.abs(np.asarray(g)).max() == 0 for g in first)
    # one SGD step on the last convolutions opens every branch
    last = [(v, g) for v, g in zip(model.trainable_variables, grads) if "_conv2/kernel" in v.path]
    assert len(last) == len(first)
    keras.optimizers.SGD(0.1).apply([g for _, g in last], [v for v, _ in last])
    _, grads = gradients(model, inputs)
    silent = [n for n, g in zip(names, grads) if g is None or np.abs(np.asarray(g)).max() == 0]
    assert silent == []


@pytest.mark.parametrize("fast_layers", ["auto", "off", "on"])
def test_mixed_bfloat16_outputs_are_float32_and_finite(fast_layers):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        g = generator(fast_layers=fast_layers)
        d = discriminator(fast_layers=fast_layers)
        assert g.get_layer("s16_res0_conv1").compute_dtype == "bfloat16"
        fakes = g(latents())
        score = d(fakes)
        for out in (fakes, score):
            assert out.dtype == "float32" and np.all(np.isfinite(np.asarray(out)))
        assert tuple(score.shape) == (3, 1)
        _, grads = gradients(d, images())
        assert all(g is not None and np.all(np.isfinite(np.asarray(g))) for g in grads)
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("fast_layers", ["off", "on"])
def test_generator_round_trips_through_a_keras_file(tmp_path, fast_layers):
    g = generator(8, 3, fast_layers=fast_layers)
    # open the residual branches so the round trip carries them
    for layer in g.layers:
        if layer.name.endswith("_conv2"):
            layer.kernel.assign(tf.random.normal(layer.kernel.shape, stddev=0.1, seed=3))
    path = str(tmp_path / "generator.keras")
    g.save(path)
    loaded = keras.models.load_model(path)
    z = latents()
    np.testing.assert_allclose(np.asarray(loaded(z)), np.asarray(g(z)), rtol=1e-6, atol=1e-6)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in g.layers]


@pytest.mark.parametrize("build, kwargs, words", [
    (build_resnet_generator, dict(latent_dim=8, resolution=6, channels=1),
     "resolution must be a power of two >= 4, got 6"),
    (build_resnet_generator, dict(latent_dim=8, resolution=2, channels=1),
     "resolution must be a power of two >= 4, got 2"),
    (build_resnet_generator, dict(latent_dim=0, resolution=8, channels=1),
     "latent_dim must be an int >= 1, got 0"),
    (build_resnet_generator, dict(latent_dim=8, resolution=8, channels=1, blocks_per_stage=0),
     "blocks_per_stage must be an int >= 1, got 0"),
    (build_resnet_generator, dict(latent_dim=8, resolution=8, channels=0),
     "channels must be an int >= 1, got 0"),
    (build_resnet_discriminator, dict(resolution=12, channels=1),
     "resolution must be a power of two >= 4, got 12"),
    (build_resnet_discriminator, dict(resolution=8, channels=1, blocks_per_stage=0),
     "blocks_per_stage must be an int >= 1, got 0"),
    (build_resnet_discriminator, dict(resolution=8, channels=1, filters=0),
     "filters must be an int >= 1, got 0"),
    (build_resnet_discriminator, dict(resolution=8, channels=1, max_filters=-1),
     "max_filters must be an int >= 1, got -1"),
    (build_resnet_discriminator, dict(resolution=8, channels=1, fast_layers="fast"),
     "fast_layers"),
])
def test_bad_arguments_are_refused_by_name(build, kwargs, words):
    with pytest.raises(ValueError, match=words):
        build(**kwargs)
