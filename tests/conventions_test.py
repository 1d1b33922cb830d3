"""Keras' conventions hold for a GAN, or are refused in words (compile, fit, make_dataset)."""

import os
import textwrap
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfgan_stable as tg
from helpers import run_python


def wgan_gp(critic=None):
    critic = critic or tg.build_dcgan_discriminator(8, 1, filters=4, normalization="layer")
    return tg.WGANGP(tg.build_dcgan_generator(8, 8, 1, filters=4), critic, seed=0)


def images(count=64, low=-1.0, high=1.0, dtype="float32"):
    return np.random.default_rng(0).uniform(low, high, (count, 8, 8, 1)).astype(dtype)


@pytest.mark.parametrize("kwargs, words", [
    (dict(optimizer=keras.optimizers.Adam(0.5)), "d_optimizer= for the discriminator"),
    (dict(optimizer="adam"), "g_optimizer= for the generator"),
    (dict(loss="binary_crossentropy"), "compile takes no loss"),
    (dict(metrics=["accuracy"]), "compile takes no metrics"),
    (dict(loss_weights=[1.0]), "no loss_weights"),
    (dict(d_optimizer=3), "d_optimizer must be a keras.optimizers.Optimizer"),
    (dict(g_optimizer="no_such_optimizer"), "g_optimizer must be"),
])
def test_compile_refuses_single_network_arguments_saying_what_to_pass(kwargs, words):
    gan = wgan_gp()
    with pytest.raises(ValueError, match=words):
        gan.compile(**kwargs)


def test_compile_takes_each_networks_optimizer_by_name_or_instance():
    gan = wgan_gp()
    gan.compile(d_optimizer="rmsprop", g_optimizer=keras.optimizers.Adam(3e-4))
    assert isinstance(gan.d_optimizer, keras.optimizers.RMSprop)
    assert float(gan.g_optimizer.learning_rate.numpy()) == pytest.approx(3e-4)


@pytest.mark.parametrize("data, words", [
    (images(dtype="uint8", high=255), "got dtype uint8"),
    (images(high=255), r"values in \[.*\]. Scale them: images / 127.5 - 1"),
    (images(low=-1000, high=0), "must lie in \\[-1, 1\\]"),
    (np.full((64, 8, 8, 1), np.nan, "float32"), "NaN or infinite"),
])
def test_make_dataset_refuses_unscaled_images_from_arrays_and_datasets(data, words):
    with pytest.raises(ValueError, match=words):
        tg.make_dataset(data, 8)
    with pytest.raises(ValueError, match=words):
        tg.make_dataset(tf.data.Dataset.from_tensor_slices(data), 8, n_critic=2)


def test_make_dataset_takes_numpy_arrays_and_keeps_labels():
    grouped = tg.make_dataset(images(), 8, n_critic=5)
    assert tuple(grouped.element_spec.shape)[1:] == (5, 8, 8, 1)
    labelled = tg.make_dataset(tf.data.Dataset.from_tensor_slices(
        (images(), np.arange(64, dtype="int32"))), 8, n_critic=5)
    samples, labels = next(iter(labelled))
    assert samples.shape == (8, 5, 8, 8, 1) and labels.shape == (8, 5)
    with pytest.raises(ValueError, match="NumPy array of examples"):
        tg.make_dataset(np.zeros(5, "float32"), 8)


def test_load_examples_takes_any_resolution():
    examples = tg.load_examples("digits", resolution=28)
    assert examples.shape == (28, 28, 1)
    assert next(iter(examples.dataset)).shape == (28, 28, 1)
    with pytest.raises(ValueError, match="resolution must be an int >= 1"):
        tg.load_examples("digits", resolution=0)


def test_a_critic_that_does_not_score_each_sample_is_refused():
    feature_map = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(8, 3)])
    with pytest.raises(ValueError, match=r"one score per sample.*\[None, 6, 6, 8\]"):
        wgan_gp(feature_map)


@pytest.mark.slow
def test_fit_checks_the_first_batch_of_a_users_dataset():
    gan = wgan_gp()
    gan.compile()
    raw = tf.data.Dataset.from_tensor_slices(images(high=255)).batch(8)
    with pytest.raises(ValueError, match=r"WGANGP.fit: real images must lie in \[-1, 1\]"):
        gan.fit(raw, steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError, match="unconditional: fit takes real samples"):
        gan.fit(images(), np.zeros(64), verbose=0)
    wrong_size = tf.data.Dataset.from_tensor_slices(
        np.zeros((64, 16, 16, 1), "float32")).batch(8)
    dcgan = tg.DCGAN(tg.build_dcgan_generator(8, 8, 1, filters=4),
                     tg.build_dcgan_discriminator(8, 1, filters=4))
    dcgan.compile()
    with pytest.raises(ValueError, match=r"samples of shape \[8, 8, 1\].*\[16, 16, 1\]"):
        dcgan.fit(wrong_size, steps_per_epoch=1, verbose=0)


@pytest.mark.slow
def test_labels_in_an_unconditional_gans_data_are_announced_once():
    gan = tg.DCGAN(tg.build_dcgan_generator(8, 8, 1, filters=4),
                   tg.build_dcgan_discriminator(8, 1, filters=4), seed=0)
    gan.compile()
    data = tg.make_dataset(tf.data.Dataset.from_tensor_slices(
        (images(), np.zeros(64, "int32"))), 8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gan.fit(data, steps_per_epoch=2, epochs=2, verbose=0)
    told = [w for w in caught if "unconditional" in str(w.message)]
    assert len(told) == 1 and "only the first, the samples, is used" in str(told[0].message)
    assert int(gan.generator_steps.numpy()) == 4


USER_BATCH_NORM_ON_TWO_REPLICAS = textwrap.dedent("""
    import warnings
    import keras
    import numpy as np
    import tensorflow as tf
    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    import tfgan_stable as tg

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        z = keras.Input((8,))
        x = keras.layers.Reshape((2, 2, 2))(keras.layers.Dense(8)(z))
        x = keras.layers.BatchNormalization(name="users_norm")(x)
        x = keras.layers.Conv2DTranspose(1, 4, strides=4, padding="same",
                                         activation="tanh")(x)
        generator = keras.Model(z, x)
        gan = tg.DCGAN(generator, tg.build_dcgan_discriminator(8, 1, filters=4), seed=0)
        gan.compile()
    data = tg.make_dataset(np.zeros((64, 8, 8, 1), "float32"), 8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gan.fit(data, steps_per_epoch=1, epochs=2, verbose=0)
    told = [str(w.message) for w in caught if "per replica" in str(w.message)]
    print(len(told), told[0] if told else "")
""")


@pytest.mark.slow
def test_unsynchronised_user_batch_norm_under_two_replicas_is_told_once():
    result = run_python(USER_BATCH_NORM_ON_TWO_REPLICAS)
    assert result.returncode == 0, result.stderr[-3000:]
    count, message = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert count == "1", result.stdout
    assert "generator/users_norm" in message and "synchronized=True" in message
    # the library's own (synchronised) batch norm in the critic is not named
    assert "discriminator/" not in message


@pytest.mark.slow
def test_a_28x28_network_of_your_own_trains_exports_and_is_scored(tmp_path):
    """Any resolution works for a user's networks, load_examples and tfgan-eval."""
    import json

    z = keras.Input((8,))
    x = keras.layers.Reshape((7, 7, 4))(keras.layers.Dense(7 * 7 * 4)(z))
    x = keras.layers.Conv2DTranspose(4, 4, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")(x)
    critic = keras.Sequential([keras.Input((28, 28, 1)),
                               keras.layers.Conv2D(4, 4, strides=2, padding="same"),
                               keras.layers.Flatten(), keras.layers.Dense(1)])
    gan = tg.DCGAN(keras.Model(z, x), critic, seed=0)
    gan.compile()
    examples = tg.load_examples("digits", resolution=28)
    gan.fit(tg.make_dataset(examples, 8), steps_per_epoch=2, epochs=1, verbose=0)
    path = gan.export(str(tmp_path / "digits28" / "1"), verbose=False)
    with open(os.path.join(path, "tfgan_stable.json")) as f:
        metadata = json.load(f)
    assert metadata["sample_shape"] == [28, 28, 1] and metadata["data"] == "digits"
    result = run_python(["-m", "tfgan_stable.eval_main", f"--model={path}",
                         "--num_samples=64", "--metrics=swd,diversity"])
    assert result.returncode == 0, result.stderr[-2000:]
    scores = json.loads(result.stdout)
    assert scores["data"] == "digits" and np.isfinite(scores["metrics"]["swd"])
