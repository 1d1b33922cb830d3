"""Class-conditional GANs: label inputs, the projection critic, labels through fit,
the binary, ``.keras`` files, resume and both export signatures (issue #37)."""

import json
import os
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

import tfgan_stable as tg
from tfgan_stable import config as config_lib
from tfgan_stable import export as export_lib
from tfgan_stable import penalties, train_lib
from tfgan_stable.errors import ConfigError
from tfgan_stable.networks import conditional

from helpers import run_python, run_train, state

CLASSES = ("cat", "dog", "émoji")  # a non-ASCII name travels through configs and exports
CONDITIONAL_FAMILIES = ("dcgan", "wgan_gp", "sngan", "r3gan")


def make_gan(family, num_classes=3, seed=1, **kwargs):
    """A compiled conditional GAN of ``family`` on 8x8x3 images, 4-filter networks."""
    if family == "r3gan":
        generator = tg.build_resnet_generator(8, 8, 3, filters=4, num_classes=num_classes)
        discriminator = tg.build_resnet_discriminator(8, 3, filters=4, num_classes=num_classes)
        kwargs = {"augment": "color,translation,cutout", "r_every": 2, **kwargs}
    else:
        normalization = {"wgan_gp": "layer", "sngan": "none"}.get(family, "batch")
        generator = tg.build_dcgan_generator(8, 8, 3, filters=4, num_classes=num_classes)
        discriminator = tg.build_dcgan_discriminator(
            8, 3, filters=4, normalization=normalization, spectral_norm=family == "sngan",
            num_classes=num_classes)
    gan_class = {"dcgan": tg.DCGAN, "wgan_gp": tg.WGANGP, "sngan": tg.SNGAN,
                 "r3gan": tg.R3GAN}[family]
    gan = gan_class(generator, discriminator, seed=seed, g_ema_decay=0.9,
                    class_names=CLASSES[:num_classes], **kwargs)
    gan.compile()
    return gan


def labelled_data(count=48, num_classes=3, seed=0):
    """Images whose class sets their colour: class c is bright in channel c."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, count).astype("int32")
    images = np.full((count, 8, 8, 3), -0.8, "float32")
    images[np.arange(count), :, :, labels] = 0.8
    images += rng.normal(0, 0.05, images.shape).astype("float32")
    return np.clip(images, -1, 1), labels


def dataset(gan, start=0, seed=0):
    images, labels = labelled_data()
    return tg.make_dataset(tf.data.Dataset.from_tensor_slices((images, labels)), 8,
                           n_critic=gan.n_critic, seed=seed, start=start)


# ------------------------------------------------------------------ networks

def test_the_projection_critic_is_psi_of_phi_plus_the_class_row_dot_phi():
    """Miyato & Koyama 2018, eq. 3: D(x, y) = psi(phi(x)) + <V_y, phi(x)>."""
    critic = tg.build_dcgan_discriminator(8, 3, filters=4, normalization="none",
                                          num_classes=3, fast_layers="off")
    images = np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype("float32")
    labels = np.array([0, 1, 2, 1], "int32")
    flatten = next(layer for layer in critic.layers if isinstance(layer, keras.layers.Flatten))
    phi = keras.Model(critic.inputs[0], flatten.output)(images).numpy()
    score = critic.get_layer("score")
    V = critic.get_layer("class_projection").kernel.numpy()
    expected = (phi @ score.kernel.numpy() + score.bias.numpy())[:, 0] \
        + np.sum(V[labels] * phi, axis=1)
    got = critic([images, labels]).numpy()[:, 0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_the_generator_joins_the_class_embedding_to_z():
    generator = tg.build_dcgan_generator(8, 8, 3, filters=4, num_classes=3, fast_layers="off")
    assert [tuple(t.shape) for t in generator.inputs] == [(None, 8), (None,)]
    z = np.zeros((3, 8), "float32")
    out = generator([z, np.array([0, 1, 2])], training=False).numpy()
    assert out.shape == (3, 8, 8, 3)
    assert np.abs(out[0] - out[1]).max() > 0  # same z, other class: other sample
    assert conditional.class_count(generator) == 3


def test_a_spectral_norm_critic_normalises_the_class_projection_too():
    critic = tg.build_dcgan_discriminator(8, 3, filters=4, normalization="none",
                                          spectral_norm=True, num_classes=5)
    assert "class_projection_sn" in [layer.name for layer in critic.layers]
    projection = critic.get_layer("class_projection_sn")
    for _ in range(2000):  # random 5 x 32 matrices: close singular values, slow to converge
        projection.update_u()
    sigma = np.linalg.svd(projection.layer.kernel.numpy(), compute_uv=False)[0]
    np.testing.assert_allclose(projection.sigma().numpy(), sigma, rtol=1e-3)


# ------------------------------------------------------------ train steps

@pytest.mark.parametrize("family", CONDITIONAL_FAMILIES)
def test_conditional_fit_trains_every_family(family):
    gan = make_gan(family)
    before = [w.copy() for w in gan.discriminator.get_weights()]
    history = gan.fit(dataset(gan), steps_per_epoch=3, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert int(gan.generator_steps.numpy()) == 3
    projection = [layer for layer in gan.discriminator._flatten_layers()
                  if isinstance(layer, conditional.ClassEmbedding)][0]
    index = [id(w) for w in gan.discriminator.weights].index(id(projection.kernel))
    assert np.abs(gan.discriminator.get_weights()[index] - before[index]).max() > 0
    samples = gan.generate_numpy(6, labels=[0, 1, 2, 0, 1, 2])
    assert samples.shape == (6, 8, 8, 3) and np.isfinite(samples).all()


def test_fit_takes_labels_as_y_beside_an_array():
    gan = make_gan("dcgan")
    images, labels = labelled_data()
    gan.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    assert int(gan.generator_steps.numpy()) == 6


def test_wgan_gp_penalises_the_critic_at_the_labels_of_its_pairs():
    """The interpolates of a pair keep the pair's class: the penalty differs by label."""
    gan = make_gan("wgan_gp")
    real, labels = (tf.constant(a) for a in labelled_data(8))
    fake = tf.zeros_like(real)
    alpha = tf.fill([8], 0.5)
    gan.step_labels = labels
    gan.interpolation_alpha = lambda batch: alpha
    got = gan._penalty(real, fake)[0].numpy()
    critic = gan.critic_for(labels)
    expected = penalties.gradient_penalty(critic, real, fake, alpha=alpha)[0].numpy()
    other = penalties.gradient_penalty(gan.critic_for((labels + 1) % 3), real, fake,
                                          alpha=alpha)[0].numpy()
    assert got == pytest.approx(expected) and got != pytest.approx(other)


# -------------------------------------------------------------- bad input

def test_labels_out_of_range_fail_with_the_bound():
    gan = make_gan("dcgan")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[0, 3\)"):
        gan(np.zeros((2, 8), "float32"), np.array([0, 3]))
    images, labels = labelled_data()
    with pytest.raises(ValueError, match=r"must lie in \[0, 3\)"):
        gan.fit(images, labels + 1, batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="integer class indices"):
        gan.fit(images, labels.astype("float32"), batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"must lie in \[0, 3\)"):
        bad = tf.data.Dataset.from_tensor_slices((images, labels - 1)).batch(8)
        gan.fit(bad, epochs=1, verbose=0)


def test_a_conditional_gan_says_when_labels_are_missing():
    gan = make_gan("sngan")
    images, _ = labelled_data()
    with pytest.raises(ValueError, match=r"\(samples, labels\) pairs"):
        gan.fit(tg.make_dataset(images, 8, n_critic=gan.n_critic), steps_per_epoch=1,
                verbose=0)
    with pytest.raises(ValueError, match="pass labels"):
        gan(np.zeros((2, 8), "float32"))
    with pytest.raises(ValueError, match="pass labels"):
        gan.generate(np.zeros((2, 8), "float32"))


def test_an_unconditional_gan_refuses_labels():
    gan = tg.DCGAN(tg.build_dcgan_generator(8, 8, 3, filters=4),
                   tg.build_dcgan_discriminator(8, 3, filters=4))
    with pytest.raises(ValueError, match="unconditional"):
        gan(np.zeros((2, 8), "float32"), np.array([0, 1]))
    with pytest.raises(ValueError, match="unconditional"):
        gan.generate_numpy(2, labels=0)


def test_networks_conditioned_on_different_classes_are_refused():
    generator = tg.build_dcgan_generator(8, 8, 3, filters=4, num_classes=3)
    with pytest.raises(ValueError, match="same num_classes"):
        tg.DCGAN(generator, tg.build_dcgan_discriminator(8, 3, filters=4, num_classes=4))
    with pytest.raises(ValueError, match="same num_classes"):
        tg.DCGAN(generator, tg.build_dcgan_discriminator(8, 3, filters=4))
    with pytest.raises(ValueError, match="class_names must be 3 distinct"):
        tg.DCGAN(generator, tg.build_dcgan_discriminator(8, 3, filters=4, num_classes=3),
                 class_names=["a", "a", "b"])
    with pytest.raises(ValueError, match="packing"):
        tg.DCGAN(generator, tg.build_dcgan_discriminator(8, 6, filters=4, num_classes=3),
                 pack=2)


# ------------------------------------------------------- saving and resume

def test_keras_file_resumes_a_conditional_gan_exactly(tmp_path):
    gan = make_gan("sngan")
    gan.fit(dataset(gan), steps_per_epoch=2, epochs=1, verbose=0)
    path = str(tmp_path / "conditional.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.class_names == CLASSES and loaded.num_classes == 3
    start = int(gan.train_steps.numpy())
    gan.fit(dataset(gan, start), steps_per_epoch=2, epochs=1, verbose=0)
    loaded.fit(dataset(loaded, start), steps_per_epoch=2, epochs=1, verbose=0)
    for a, b in zip(state(gan), state(loaded)):
        np.testing.assert_array_equal(a, b)


FRESH_PROCESS = textwrap.dedent("""
    import sys
    import keras
    import numpy as np
    import tfgan_stable  # registers the classes a .keras file names

    gan = keras.models.load_model(sys.argv[1])
    z = np.random.default_rng(0).normal(size=(3, gan.latent_dim)).astype("float32")
    np.save(sys.argv[2], np.asarray(gan(z, np.array([2, 1, 0]))))
    print(list(gan.class_names))
""")


def test_keras_file_of_a_conditional_gan_loads_in_a_fresh_process(tmp_path):
    gan = make_gan("r3gan")
    gan.fit(dataset(gan), steps_per_epoch=2, epochs=1, verbose=0)
    gan.save(str(tmp_path / "gan.keras"))
    result = run_python(["-c", FRESH_PROCESS, str(tmp_path / "gan.keras"),
                         str(tmp_path / "out.npy")])
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == str(list(CLASSES))
    z = np.random.default_rng(0).normal(size=(3, gan.latent_dim)).astype("float32")
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"),
                               np.asarray(gan(z, np.array([2, 1, 0]))), atol=1e-6)


# ------------------------------------------------------------------ export

def test_both_export_signatures_take_a_label_and_check_it(tmp_path):
    gan = make_gan("wgan_gp")
    gan.fit(dataset(gan), steps_per_epoch=1, epochs=1, verbose=0)
    path = gan.export(str(tmp_path / "cond" / "1"), verbose=False)
    with open(os.path.join(path, export_lib.METADATA_FILE)) as f:
        metadata = json.load(f)
    assert metadata["class_names"] == list(CLASSES) and metadata["num_classes"] == 3
    served = tf.saved_model.load(path)
    serving = served.signatures["serving_default"]
    assert set(serving.structured_input_signature[1]) == {"z", "label"}
    z = np.random.default_rng(1).normal(size=(3, 8)).astype("float32")
    labels = np.array([2, 0, 1], "int32")
    np.testing.assert_allclose(serving(z=tf.constant(z), label=tf.constant(labels))["images"],
                               (np.asarray(gan(z, labels)) + 1) / 2, atol=1e-5)
    generate = served.signatures["generate"]
    one_class = generate(seed=tf.constant(3, tf.int64), num=tf.constant(4),
                         label=tf.constant(1))["images"]
    assert one_class.shape == (4, 8, 8, 3)
    # each many times: the network once raced the checks and named a bad input itself
    for bad in [{"z": z, "label": np.array([0, 1, 3], "int32")},
                {"z": z, "label": np.array([0, -1, 1], "int32")},
                {"z": z, "label": np.array([0, 1], "int32")}] * 10:
        with pytest.raises(tf.errors.InvalidArgumentError, match="serving_default input label"):
            serving(z=tf.constant(bad["z"]), label=tf.constant(bad["label"]))
    for _ in range(10):  # a bad z is named first, whatever the labels
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"input z must be float32"):
            serving(z=tf.constant(z[0]), label=tf.constant([0, 9], tf.int32))
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"generate input label .*\[0, 3\)"):
            generate(seed=tf.constant(3, tf.int64), num=tf.constant(2), label=tf.constant(3))
    loaded = export_lib.load_exported(path)
    assert loaded.num_classes == 3 and loaded.class_names == CLASSES
    assert loaded.generate(z, 1).shape == (3, 8, 8, 3)
    with pytest.raises(ValueError, match="pass labels"):
        loaded.generate(z)


# ------------------------------------------------------------------ binary

def conditional_config(tmp_path, **model):
    return {
        "data": {"name": "digits", "resolution": 8, "labels": "inferred",
                 "class_balanced": True},
        "model": {"family": "sngan", "conditional": True, "latent_dim": 8, "g_filters": 4,
                  "d_filters": 4, **model},
        "train": {"steps": 4, "steps_per_epoch": 2, "batch_size": 8, "sample_grid_size": 2,
                  "verbose": 0},
        "export": {"dir": str(tmp_path / "saved_models"), "name": "cond"},
    }


def test_the_binary_trains_exports_and_records_classes(tmp_path):
    path = tmp_path / "cond.yaml"
    path.write_text(yaml.safe_dump(conditional_config(tmp_path)))
    workdir = tmp_path / "run"
    result = run_train("--config", str(path), "--workdir", str(workdir))
    assert result.returncode == 0, result.stderr[-3000:]
    classes = json.loads((workdir / "classes.json").read_text())
    assert classes["class_names"] == [str(d) for d in range(10)]
    assert sum(classes["class_counts"]) == 1797
    with open(tmp_path / "saved_models" / "cond" / "1" / export_lib.METADATA_FILE) as f:
        assert json.load(f)["class_names"] == classes["class_names"]
    grid = tf.io.decode_png(tf.io.read_file(str(workdir / "samples" / "step_0000004.png")))
    height, width = grid.shape[:2]  # saved enlarged: a grid of 10 rows (classes) x 2
    assert height * 2 == width * 10 and height % 10 == 0


def test_a_resumed_conditional_run_ends_where_an_uninterrupted_one_does(tmp_path):
    config = config_lib.from_dict(conditional_config(tmp_path, family="dcgan"))
    whole = train_lib.run(config, str(tmp_path / "whole"))
    half = dataclasses_replace_steps(config, 2)
    train_lib.run(half, str(tmp_path / "halves"))
    resumed = train_lib.run(config, str(tmp_path / "halves"))
    assert resumed.resumed
    for a, b in zip(whole.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def dataclasses_replace_steps(config, steps):
    import dataclasses

    return dataclasses.replace(config, train=dataclasses.replace(config.train, steps=steps))


@pytest.mark.parametrize("changes, message", [
    ({"data": {"labels": "none", "class_balanced": False}}, "data.labels: inferred"),
    ({"model": {"family": "began"}}, "trains unconditionally"),
    ({"model": {"family": "dcgan", "pack": 2}}, "model.pack"),
    ({"model": {"architecture": "mlp"}}, "take no label"),
    ({"model": {"conditional": "yes"}}, "model.conditional must be of type bool"),
])
def test_config_refuses_what_cannot_condition(tmp_path, changes, message):
    raw = conditional_config(tmp_path)
    for section, values in changes.items():
        raw[section].update(values)
    with pytest.raises(ConfigError, match=message):
        config_lib.from_dict(raw)


# ------------------------------------------------------------- measuring

def test_a_labelled_run_is_scored_on_its_own_classifier_and_tfgan_eval_asks_for_classes(
        tmp_path):
    """During training and from the export: Frechet distance and KID on the features of a
    classifier of the data's own labels, fidelity, copy share and conditional accuracy."""
    from tfgan_stable.eval_main import evaluate_export

    raw = conditional_config(tmp_path, family="dcgan")
    raw["train"].update(eval_every=4, eval_samples=60)
    config = config_lib.from_dict(raw)
    result = train_lib.run(config, str(tmp_path / "run"))
    logs = result.history.history
    for name in ("eval_frechet_local", "eval_kid_local", "eval_fidelity/precision",
                 "eval_fidelity/coverage", "eval_copy_share", "eval_conditional/accuracy",
                 "eval_conditional/classifier_accuracy"):
        assert np.isfinite(logs[name][-1]), name
    assert 0.5 < logs["eval_conditional/classifier_accuracy"][-1] <= 1.0
    scores = evaluate_export(str(tmp_path / "run"), num_samples=60)
    assert scores["features"] == "local_classifier"
    metrics = scores["metrics"]
    assert {"frechet_local", "kid_local", "fidelity/recall", "fidelity/density", "copy_share",
            "conditional/accuracy", "conditional/accuracy_ratio",
            "conditional/per_class_frechet"} <= set(metrics)
    assert 0.0 <= metrics["conditional/accuracy"] <= 1.0
    assert metrics["copy_share"] >= 0.0


def test_tfgan_interpolate_walks_within_a_class_of_a_conditional_export(tmp_path):
    gan = make_gan("dcgan")
    path = gan.export(str(tmp_path / "cond" / "1"), verbose=False)
    out = tmp_path / "walk.png"
    done = run_python(["-m", "tfgan_stable.interpolate_main", f"--model={path}",
                       f"--output={out}", "--rows=3", "--steps=4"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.is_file()
    bad = run_python(["-m", "tfgan_stable.interpolate_main", f"--model={path}",
                      f"--output={tmp_path / 'bad.png'}", "--label=3"])
    assert bad.returncode == 2 and "--label=3" in bad.stderr and "3 classes" in bad.stderr
