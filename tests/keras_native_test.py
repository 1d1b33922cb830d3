"""Keras-native use: .keras files that resume training, evaluate, predict, export."""

import os
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfgan_stable as tg
from helpers import run_python, state, tiny_gan

pytestmark = pytest.mark.slow  # trains, or runs the binaries

FAMILIES = ("dcgan", "wgan", "wgan_gp", "began", "progan")


def make_gan(family, optimistic=False):
    return tiny_gan(family, optimistic)


@pytest.fixture(scope="module")
def digits():
    return tg.load_examples("digits", resolution=8)


def data(gan, examples, start=0):
    return tg.make_dataset(examples, 8, n_critic=gan.n_critic, start=start)


@pytest.mark.parametrize("family", FAMILIES)
def test_keras_file_resumes_training_exactly(family, digits, tmp_path):
    gan = make_gan(family)
    gan.fit(data(gan, digits), steps_per_epoch=3, epochs=1, verbose=0)
    path = str(tmp_path / f"{family}.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(gan) and loaded.compiled
    assert int(loaded.d_optimizer.iterations.numpy()) == int(gan.d_optimizer.iterations.numpy())
    assert int(loaded.d_optimizer.iterations.numpy()) > 0
    if family == "progan":
        assert loaded.stage == 1 and float(loaded.generator.alpha.numpy()) > 0
        assert int(loaded.stage_images_seen.numpy()) == 24
    if family == "began":
        assert float(loaded.k_t.numpy()) == float(gan.k_t.numpy()) != 0.0
    for a, b in zip(state(gan), state(loaded)):
        np.testing.assert_array_equal(a, b)
    start = int(gan.train_steps.numpy())
    gan.fit(data(gan, digits, start), steps_per_epoch=3, epochs=1, verbose=0)
    loaded.fit(data(loaded, digits, start), steps_per_epoch=3, epochs=1, verbose=0)
    after, resumed = state(gan), state(loaded)
    assert len(after) == len(resumed)
    for a, b in zip(after, resumed):
        np.testing.assert_array_equal(a, b)


# What a user's second script does: nothing of the library touched but the import.
FRESH_PROCESS_RESUME = textwrap.dedent("""
    import sys
    import keras
    import numpy as np
    import tfgan_stable as tg

    folder, families = sys.argv[1], sys.argv[2:]
    digits = tg.load_examples("digits", resolution=8)
    for family in families:
        gan = keras.models.load_model(f"{folder}/{family}.keras")
        assert gan.compiled, family
        iterations = [int(o.iterations.numpy()) for o in (gan.d_optimizer, gan.g_optimizer)]
        start = int(gan.train_steps.numpy())
        gan.fit(tg.make_dataset(digits, 8, n_critic=gan.n_critic, start=start),
                steps_per_epoch=3, epochs=1, verbose=0)
        values = [np.asarray(w) for w in gan.get_weights()]
        for optimizer in (gan.d_optimizer, gan.g_optimizer):
            values += [np.asarray(v) for v in optimizer.variables]
        values.append(np.asarray(gan.seed_generator.state))
        np.savez(f"{folder}/{family}.npz", *values, iterations=iterations,
                 optimizer=type(gan.d_optimizer).__name__)
""")


def test_keras_files_load_in_a_fresh_process_and_fit_continues_exactly(digits, tmp_path):
    """``import tfgan_stable`` alone registers every class a .keras file names."""
    expected = {}
    for family in FAMILIES:
        gan = make_gan(family, optimistic=family == "dcgan")
        gan.fit(data(gan, digits), steps_per_epoch=3, epochs=1, verbose=0)
        gan.save(str(tmp_path / f"{family}.keras"))
        iterations = [int(o.iterations.numpy()) for o in (gan.d_optimizer, gan.g_optimizer)]
        gan.fit(data(gan, digits, int(gan.train_steps.numpy())), steps_per_epoch=3, epochs=1,
                verbose=0)
        expected[family] = (iterations, state(gan), type(gan.d_optimizer).__name__)
    result = run_python(["-c", FRESH_PROCESS_RESUME, str(tmp_path), *FAMILIES])
    assert result.returncode == 0, result.stderr[-3000:]
    for family, (iterations, values, optimizer) in expected.items():
        got = np.load(tmp_path / f"{family}.npz")
        assert list(got["iterations"]) == iterations and min(iterations) > 0, family
        assert str(got["optimizer"]) == optimizer
        assert len(got.files) == len(values) + 2, family
        for i, value in enumerate(values):
            np.testing.assert_array_equal(got[f"arr_{i}"], value, err_msg=family)
    assert expected["dcgan"][2] == "OptimisticAdam"


def test_model_checkpoint_writes_a_loadable_compiled_gan(digits, tmp_path):
    gan = make_gan("wgan_gp")
    path = str(tmp_path / "checkpoint.keras")
    gan.fit(data(gan, digits), steps_per_epoch=2, epochs=2, verbose=0,
            callbacks=[keras.callbacks.ModelCheckpoint(path)])
    loaded = keras.models.load_model(path)
    assert loaded.compiled and int(loaded.generator_steps.numpy()) == 4
    loaded.fit(data(loaded, digits, 4), steps_per_epoch=1, epochs=1, verbose=0)
    assert int(loaded.generator_steps.numpy()) == 5


@pytest.mark.parametrize("family, names", [
    ("dcgan", {"d_loss", "g_loss", "d_real", "d_fake"}),
    ("wgan", {"d_loss", "g_loss", "wasserstein_estimate"}),
    ("wgan_gp", {"d_loss", "g_loss", "gp", "grad_norm", "wasserstein_estimate"}),
    ("began", {"d_loss", "g_loss", "loss_real", "loss_fake", "m_global", "balance"}),
    ("progan", {"d_loss", "g_loss", "gp", "drift", "wasserstein_estimate"}),
])
def test_evaluate_scores_held_out_data_and_updates_nothing(family, names, digits):
    gan = make_gan(family)
    gan.fit(data(gan, digits), steps_per_epoch=2, epochs=1, verbose=0)
    before = state(gan)
    held_out = tg.make_dataset(digits, 8, seed=99).take(3)  # plain [batch, 8, 8, 1] batches
    scores = gan.evaluate(held_out, verbose=0, return_dict=True)
    assert set(scores) == names and all(np.isfinite(v) for v in scores.values())
    for a, b in zip(before, state(gan)):
        np.testing.assert_array_equal(a, b)
    # the same data grouped for training ([batch, n_critic, ...]) is accepted too
    assert set(gan.evaluate(data(gan, digits).take(1), verbose=0, return_dict=True)) == names


@pytest.mark.parametrize("family", FAMILIES)
def test_predict_and_keras_export_serve_the_generator(family, tmp_path):
    gan = make_gan(family)
    z = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    samples = gan.predict(z, verbose=0)  # at the current stage and alpha for ProGAN
    np.testing.assert_allclose(samples, gan(z).numpy(), atol=1e-6)
    expected = gan.export_network()(z, training=False).numpy()  # ProGAN: full resolution
    path = gan.export(str(tmp_path / "model" / "1"), verbose=False)
    loaded = tf.saved_model.load(path)
    assert set(loaded.signatures) == {"serving_default", "generate"}
    images = loaded.signatures["serving_default"](z=tf.constant(z))["images"].numpy()
    np.testing.assert_allclose(images, np.clip((expected + 1) / 2, 0, 1), atol=1e-5)
    assert os.path.isfile(os.path.join(path, "tfgan_stable.json"))
    # again: the next free version; a folder that is not a version needs overwrite=True
    assert gan.export(path, verbose=False) == str(tmp_path / "model" / "2")
    plain = gan.export(str(tmp_path / "plain"), verbose=False)
    with pytest.raises(ValueError, match="already exists; not overwriting it \\(pass overwrite"):
        gan.export(plain, verbose=False)
    assert gan.export(plain, verbose=False, overwrite=True) == plain


@pytest.mark.parametrize("family", FAMILIES)
def test_every_served_network_round_trips_through_a_keras_file(family, tmp_path):
    gan = make_gan(family)
    networks = {"sampler": gan.sampler, "export": gan.export_network()}
    if family == "progan":
        networks["4x4"] = gan.generator_at(0)
    z = np.random.default_rng(0).normal(size=(2, 8)).astype("float32")
    for name, network in networks.items():
        path = str(tmp_path / f"{name}.keras")
        network.save(path)
        loaded = keras.models.load_model(path)
        np.testing.assert_allclose(loaded(z, training=False).numpy(),
                                   network(z, training=False).numpy(), atol=1e-6)
