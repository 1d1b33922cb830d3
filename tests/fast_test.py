"""The speed wing's one switch: where the library's layers are built, and what families ask."""

import keras
import numpy as np
import pytest
import yaml

import tfgan_stable as tg
from tfgan_stable import build, fast, train_lib
from tfgan_stable import config as config_lib
from tfgan_stable.data import Examples
from tfgan_stable.fast import small_conv

CPU = ["/job:localhost/replica:0/task:0/device:CPU:0"]
GPU = ["/job:localhost/replica:0/task:0/device:GPU:0"]
AMX = {"amx_bf16", "avx512f"}


@pytest.mark.parametrize("setting, policy, devices, features, expected", [
    ("auto", "mixed_bfloat16", CPU, AMX, True),
    ("auto", "mixed_bfloat16", CPU, {"avx512_bf16"}, True),
    ("auto", "mixed_bfloat16", CPU, {"avx2"}, False),     # bfloat16 emulated: slower
    ("auto", "float32", CPU, AMX, False),                 # measured to pay in bfloat16 only
    ("auto", "mixed_bfloat16", GPU, AMX, False),          # cuDNN is the fast path
    ("auto", "mixed_bfloat16", CPU + GPU, AMX, False),
    ("auto", "mixed_bfloat16", ["/device:TPU:0"], AMX, False),
    ("on", "float32", GPU, set(), True),
    ("off", "mixed_bfloat16", CPU, AMX, False),
    (True, "float32", CPU, set(), True),
])
def test_resolve_takes_the_fast_layers_only_where_they_pay(setting, policy, devices, features,
                                                           expected):
    assert fast.resolve(setting, policy, devices, cpu_features=features) is expected


def test_an_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="fast_layers must be one of"):
        fast.resolve("fast")
    with pytest.raises(ValueError, match="model.fast_layers must be one of"):
        config_lib.from_dict({"model": {"fast_layers": "yes"}})


def test_networks_built_for_a_gpu_get_keras_layers():
    on_gpu = fast.resolve("auto", "mixed_bfloat16", GPU, cpu_features=AMX)
    generator = tg.build_dcgan_generator(8, 8, 1, filters=4, fast_layers=on_gpu)
    critic = tg.build_dcgan_discriminator(8, 1, filters=4, fast_layers=on_gpu)
    assert not fast.library_layers(generator) and not fast.library_layers(critic)
    kinds = {type(layer) for layer in generator.layers}
    assert {keras.layers.Conv2DTranspose, keras.layers.BatchNormalization} <= kinds
    fast_generator = tg.build_dcgan_generator(8, 8, 1, filters=4, fast_layers="on")
    assert {type(layer) for layer in fast.library_layers(fast_generator)} == {
        small_conv.Conv2D, small_conv.Conv2DTranspose, tg.FusedBatchNormalization}


def test_the_run_writes_its_choice_into_the_config():
    config = config_lib.from_dict({"model": {"family": "dcgan"},
                                   "train": {"mixed_precision": "float32"}})
    assert config.model.fast_layers == "auto"
    assert train_lib.resolve_fast_layers(config).model.fast_layers == "off"
    on = config_lib.from_dict({"model": {"family": "dcgan", "fast_layers": "on"}})
    assert train_lib.resolve_fast_layers(on).model.fast_layers == "on"


def convolutions_of(gan):
    return [layer for network in (gan.generator, gan.discriminator)
            for layer in fast.library_layers(network)
            if isinstance(layer, (small_conv.Conv2D, small_conv.Conv2DTranspose))]


@pytest.mark.parametrize("family, matrix_path", [("wgan_gp", False), ("dcgan", True),
                                                 ("wgan", True)])
def test_each_family_sets_what_it_asks_of_the_fast_layers(family, matrix_path):
    """WGAN-GP keeps Keras' convolution forward (its bfloat16 quality held only so),
    whoever builds its networks; the kernel gradients as products stay on."""
    config = config_lib.from_dict({"data": {"name": "digits", "resolution": 8},
                                   "model": {"family": family, "g_filters": 4, "d_filters": 4,
                                             "fast_layers": "on"}})
    gan = build.build_gan(config, Examples(None, "image", (8, 8, 1), 64, "test"))
    convolutions = convolutions_of(gan)
    assert len(convolutions) >= 3
    assert all(c.matrix_path is matrix_path for c in convolutions)
    assert all(c.matrix_filter_gradient for c in convolutions)
    # a Python user's networks, built without a word about the family, get the same
    python = tg.WGANGP if family == "wgan_gp" else (tg.DCGAN if family == "dcgan" else tg.WGAN)
    gan = python(tg.build_dcgan_generator(8, 8, 1, filters=4, fast_layers="on"),
                 tg.build_dcgan_discriminator(8, 1, filters=4, normalization="layer",
                                              fast_layers="on"))
    assert all(c.matrix_path is matrix_path for c in convolutions_of(gan))


def test_a_familys_fast_layer_options_reach_every_convolution():
    class NoFilterGradient(tg.WGANGP):
        fast_layer_options = {"matrix_path": False, "matrix_filter_gradient": False}

    gan = NoFilterGradient(tg.build_dcgan_generator(8, 8, 1, filters=4, fast_layers="on"),
                           tg.build_dcgan_discriminator(8, 1, filters=4, normalization="layer",
                                                        fast_layers="on"))
    convolutions = convolutions_of(gan)
    assert len(convolutions) >= 3
    assert not any(c.matrix_filter_gradient or c.matrix_path for c in convolutions)
    with pytest.raises(ValueError, match="fast layer option 'matrix_speed'"):
        fast.configure(gan.generator, matrix_speed=True)


def test_exports_hold_keras_layers_whatever_trained(tmp_path):
    generator = tg.build_dcgan_generator(8, 8, 1, filters=4, fast_layers="on")
    plain = fast.with_keras_layers(generator)
    assert fast.library_layers(generator) and not fast.library_layers(plain)
    z = np.random.default_rng(0).normal(size=(2, 8)).astype("float32")
    np.testing.assert_allclose(plain(z, training=False), generator(z, training=False),
                               atol=1e-5)


def test_the_devices_of_the_default_and_a_mirrored_strategy():
    import tensorflow as tf

    assert fast.devices_of(tf.distribute.get_strategy()) == ["/device:CPU:0"]
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0"])
    assert [fast._device_type(d) for d in fast.devices_of(mirrored)] == ["CPU"]


def test_a_resumed_run_builds_the_layers_it_started_with(tmp_path):
    """A backup names its layers by class: auto keeps the stored run's choice, a
    workdir from before the key existed built the fast layers, and another explicit
    setting is refused like any weight-shaping change."""
    from tfgan_stable import workdir as workdir_lib

    config = config_lib.from_dict({"model": {"family": "dcgan"},
                                   "train": {"mixed_precision": "float32"}})
    stored = config_lib.from_dict({"model": {"family": "dcgan", "fast_layers": "on"},
                                   "train": {"mixed_precision": "float32"}})
    config_lib.save(stored, str(tmp_path / "config.yaml"))
    assert train_lib.resolve_fast_layers(config, workdir=str(tmp_path)).model.fast_layers == "on"
    before_the_key = stored.to_dict()
    del before_the_key["model"]["fast_layers"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(before_the_key))
    assert train_lib.resolve_fast_layers(config, workdir=str(tmp_path)).model.fast_layers == "on"
    off = config_lib.from_dict({"model": {"family": "dcgan", "fast_layers": "off"},
                                "train": {"mixed_precision": "float32"}})
    assert workdir_lib.fingerprint_differences(before_the_key, off.to_dict()) == [
        "model.fast_layers: 'on' -> 'off'"]


def test_a_backup_restored_into_networks_built_otherwise_is_named(tmp_path):
    """Weights files name layers by class: fast layers on and off do not mix."""
    def gan(setting):
        built = tg.DCGAN(tg.build_dcgan_generator(8, 8, 1, filters=4, fast_layers=setting),
                         tg.build_dcgan_discriminator(8, 1, filters=4, fast_layers=setting))
        built.compile()
        return built

    backup = tg.Backup(str(tmp_path))
    backup.set_model(gan("on"))
    backup.on_epoch_end(0)
    with pytest.raises(ValueError, match=r"holds other networks than .*\(2 of its layers do "
                                         r"not match\).*fast_layers on or off"):
        tg.Backup.restore(gan("off"), str(tmp_path))
    assert tg.Backup.restore(gan("on"), str(tmp_path))
