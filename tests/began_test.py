"""BEGAN: the k_t controller against NumPy, its callback, networks and resume."""

import os

import keras
import numpy as np
import pytest

import tfgan_stable as tg
from helpers import CONFIGS
from tfgan_stable import config as config_lib
from tfgan_stable import networks, schedules, train_lib

pytestmark = pytest.mark.slow  # trains, or runs the binaries


def numpy_k_trajectory(loss_real, loss_fake, gamma, lambda_k, k0=0.0):
    """The paper's eq. 4, written independently of the library."""
    k, out = k0, []
    for real, fake, g, lam in zip(loss_real, loss_fake, gamma, lambda_k):
        k = min(max(k + lam * (g * real - fake), 0.0), 1.0)
        out.append(k)
    return np.array(out)


def tiny_began(seed=0, gamma=0.5, lambda_k=0.001):
    keras.utils.set_random_seed(seed)
    generator = tg.build_began_generator(4, 8, 1, filters=4)
    critic = tg.build_began_discriminator(8, 1, filters=4, bottleneck=4)
    gan = tg.BEGAN(generator, critic, gamma=gamma, lambda_k=lambda_k, seed=seed)
    return gan


def digits_dataset(seed=0):
    images = tg.load_examples("digits", resolution=8)
    return tg.make_dataset(images, batch_size=8, seed=seed)


class ControllerSchedule(keras.callbacks.Callback):
    """Drives gamma / lambda_k through BeganEquilibrium at given epochs; records logs."""

    def __init__(self, equilibrium, changes):
        super().__init__()
        self.equilibrium, self.changes, self.rows = equilibrium, changes, []

    def on_epoch_begin(self, epoch, logs=None):
        if epoch in self.changes:
            self.equilibrium.gamma, self.equilibrium.lambda_k = self.changes[epoch]
        self.used = (float(self.model.gamma.numpy()), float(self.model.lambda_k.numpy()))

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append((logs["loss_real"], logs["loss_fake"], *self.used, logs["k_t"],
                          logs["m_global"]))


# Keyed by step: gamma 50 drives k_t to its upper clip, gamma ~0 with a large gain to 0.
CHANGES = {0: (50.0, 0.1), 12: (1e-6, 3.0), 24: (0.5, 0.05)}


def run_controller(steps_per_execution, steps_per_epoch, epochs):
    gan = tiny_began()
    gan.compile(steps_per_execution=steps_per_execution)
    equilibrium = tg.BeganEquilibrium()
    schedule = ControllerSchedule(equilibrium, {step // steps_per_epoch: v
                                                for step, v in CHANGES.items()})
    gan.fit(digits_dataset(), steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=0,
            callbacks=[equilibrium, schedule])
    return gan, np.array(schedule.rows)


def test_k_recurrence_matches_numpy_over_60_steps_with_both_clips():
    gan, rows = run_controller(steps_per_execution=1, steps_per_epoch=1, epochs=60)
    loss_real, loss_fake, gamma, lambda_k, k_logged, m_logged = rows.T
    expected = numpy_k_trajectory(loss_real, loss_fake, gamma, lambda_k)
    np.testing.assert_allclose(k_logged, expected, atol=1e-5)
    np.testing.assert_allclose(m_logged, loss_real + np.abs(gamma * loss_real - loss_fake),
                               rtol=1e-5)
    assert k_logged.min() == 0.0 and k_logged.max() == 1.0  # both clips were exercised
    assert np.all((k_logged >= 0) & (k_logged <= 1))
    assert float(gan.k_t.numpy()) == pytest.approx(k_logged[-1])


def test_k_is_exact_per_step_with_steps_per_execution_4():
    _, per_step = run_controller(steps_per_execution=1, steps_per_epoch=1, epochs=48)
    gan, per_execution = run_controller(steps_per_execution=4, steps_per_epoch=4, epochs=12)
    # After every 4th step, k_t from 4 steps run in one execution equals the
    # trajectory of the step-by-step run (the update happens inside the step).
    np.testing.assert_allclose(per_execution[:, 4], per_step[3::4, 4], atol=1e-4)
    assert per_step[:, 4].max() == 1.0 and per_step[:, 4].min() == 0.0


def test_controller_function_golden_values():
    k, m = schedules.began_k_update(0.2, 0.4, 0.1, 0.5, 0.001)
    assert float(k) == pytest.approx(0.2 + 0.001 * (0.2 - 0.1))
    assert float(m) == pytest.approx(0.4 + 0.1)
    assert float(schedules.began_k_update(0.9995, 1.0, 0.0, 1.0, 0.001)[0]) == 1.0
    assert float(schedules.began_k_update(0.0, 0.0, 1.0, 1.0, 0.001)[0]) == 0.0


class StubOptimizer:
    def __init__(self, learning_rate):
        self.learning_rate = learning_rate


def decay_callback(**kwargs):
    gan = tiny_began()
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    callback = tg.BeganEquilibrium(**kwargs)
    callback.set_model(gan)
    return gan, callback


def test_learning_rate_decays_when_m_global_stalls():
    gan, callback = decay_callback(decay_patience=2, decay_factor=0.5, min_learning_rate=3e-4)
    rates = []
    for m in [1.0, 0.9, 0.95, 0.92, 0.91, 0.99, 0.98, 0.97]:
        logs = {"m_global": m}
        callback.on_epoch_end(0, logs)
        rates.append(logs["learning_rate"])
    # best 0.9 at epoch 2; epochs 3-4 stall -> halve; epochs 5-6 stall -> halve to the
    # floor 3e-4 (not 2.5e-4); epochs 7-8 stall -> stays at the floor.
    np.testing.assert_allclose(rates, [1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 3e-4, 3e-4, 3e-4])
    assert float(gan.d_optimizer.learning_rate.numpy()) == pytest.approx(3e-4)


def test_learning_rate_stays_while_m_global_improves():
    gan, callback = decay_callback(decay_patience=1)
    for m in [1.0, 0.9, 0.8, 0.7, 0.6]:
        callback.on_epoch_end(0, {"m_global": m})
    assert float(gan.g_optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
    assert [row[3] for row in callback.history] == pytest.approx([1e-3] * 5)


def test_callback_validates_its_knobs():
    with pytest.raises(ValueError, match="BEGAN.gamma must be > 0, got 0"):
        tg.BeganEquilibrium(gamma=0)
    with pytest.raises(ValueError, match="decay_factor must be in"):
        tg.BeganEquilibrium(decay_factor=2.0)
    with pytest.raises(ValueError, match="needs a BEGAN model"):
        callback = tg.BeganEquilibrium()
        callback.set_model(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
        callback.on_train_begin()


@pytest.mark.parametrize("resolution, scales", [(8, 1), (16, 2), (32, 3), (64, 4)])
def test_network_shapes(resolution, scales):
    generator = tg.build_began_generator(16, resolution, 3, filters=4)
    critic = tg.build_began_discriminator(resolution, 3, filters=4, bottleneck=8)
    assert generator.output_shape == (None, resolution, resolution, 3)
    assert critic.output_shape == (None, resolution, resolution, 3)
    encoder = critic.get_layer("encoder")
    assert encoder.output_shape == (None, 8)
    convs = [l for l in encoder.layers if isinstance(l, keras.layers.Conv2D)]
    # filters grow linearly with depth: n, then n*(s+1) per scale, down-sampling to n*(s+2)
    widths = sorted({c.filters for c in convs})
    assert widths == [4 * i for i in range(1, scales + 1)]
    assert all(c.activation is keras.activations.elu for c in convs)
    ups = [l for l in generator.layers if isinstance(l, keras.layers.UpSampling2D)]
    assert len(ups) == scales - 1 and all(u.interpolation == "nearest" for u in ups)
    assert encoder.get_layer("encoder_bottleneck").activation is keras.activations.linear
    with pytest.raises(ValueError, match="power of two >= 8, got 4"):
        tg.build_began_generator(16, 4, 3)


def test_began_rejects_a_scoring_discriminator():
    generator = tg.build_began_generator(4, 8, 1, filters=4)
    with pytest.raises(ValueError, match="must be an auto-encoder"):
        tg.BEGAN(generator, tg.build_dcgan_discriminator(8, 1, filters=4))


class Interrupt(Exception):
    pass


class InterruptAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.k_t = float(self.model.k_t.numpy())
        raise Interrupt()


class KAtStart(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):  # runs after the backup was restored
        self.k_t = float(self.model.k_t.numpy())


def test_resume_restores_k_t(tmp_path):
    raw = config_lib.apply_overrides(
        __import__("yaml").safe_load(open(os.path.join(CONFIGS, "smoke", "began.yaml"))),
        [f"export.dir={tmp_path / 'exports'}", "began.lambda_k=0.05"])
    config = config_lib.from_dict(raw)
    interrupt = InterruptAfterFirstEpoch()
    with pytest.raises(Interrupt):
        train_lib.run(config, str(tmp_path / "run"), extra_callbacks=[interrupt])
    assert interrupt.k_t > 0.0
    start = KAtStart()
    result = train_lib.run(config, str(tmp_path / "run"), extra_callbacks=[start])
    assert result.resumed and result.initial_epoch == 1
    assert start.k_t == pytest.approx(interrupt.k_t)
    assert result.export_path and os.path.isfile(os.path.join(result.export_path,
                                                              "saved_model.pb"))


MIRRORED_BEGAN = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import json, keras, numpy as np
import tfgan_stable as tg
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    keras.utils.set_random_seed(0)
    gan = tg.BEGAN(tg.build_began_generator(4, 8, 1, filters=4),
                   tg.build_began_discriminator(8, 1, filters=4, bottleneck=4),
                   gamma=0.9, lambda_k=0.05, seed=0)
    gan.compile()
rows = []
class Record(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs):
        per_replica = strategy.run(lambda: tf.identity(self.model.k_t.value))
        local = [float(v.numpy()) for v in strategy.experimental_local_results(per_replica)]
        rows.append([logs["loss_real"], logs["loss_fake"], logs["k_t"], local])
dataset = tg.make_dataset(tg.load_examples("digits", resolution=8), batch_size=8)
gan.fit(dataset, steps_per_epoch=1, epochs=12, verbose=0, callbacks=[Record()])
print("ROWS=" + json.dumps({"replicas": strategy.num_replicas_in_sync, "rows": rows}))
"""


def test_k_under_mirrored_strategy_uses_global_losses_and_agrees_on_replicas():
    import json

    from helpers import run_python

    result = run_python(MIRRORED_BEGAN)
    line = [l for l in result.stdout.splitlines() if l.startswith("ROWS=")]
    assert line, result.stderr[-3000:]
    out = json.loads(line[0][5:])
    assert out["replicas"] == 2
    loss_real, loss_fake, k_logged, local = zip(*out["rows"])
    expected = numpy_k_trajectory(loss_real, loss_fake, [0.9] * 12, [0.05] * 12)
    np.testing.assert_allclose(k_logged, expected, atol=1e-5)
    assert 0.0 < max(k_logged) < 1.0  # moved, and not pinned at a clip
    for per_replica, k in zip(local, k_logged):
        assert per_replica == [pytest.approx(k)] * 2


def test_began_on_vectors_uses_an_mlp_autoencoder(tmp_path):
    config = config_lib.load(os.path.join(CONFIGS, "began_ring8.yaml"), [
        "train.steps=4", "train.steps_per_epoch=2", "train.batch_size=16",
        "data.num_samples=256", "model.hidden_units=[8, 8]", "export.enabled=false",
        "train.verbose=0"])
    result = train_lib.run(config, str(tmp_path / "run"))
    critic = result.model.discriminator
    assert critic.output_shape == (None, 2)  # reconstructs its input
    assert critic.get_layer("bottleneck").units == 2  # the latent size: latent recovery
    assert critic.get_layer("bottleneck").activation is keras.activations.linear
    assert result.model.latent_recovery == pytest.approx(0.3)
    assert result.model.encoder is not None
    assert int(result.model.generator_steps.numpy()) == 4


def test_latent_recovery_loss_matches_numpy():
    keras.utils.set_random_seed(0)
    gan = tg.BEGAN(tg.build_began_generator(4, 8, 1, filters=4),
                   tg.build_began_discriminator(8, 1, filters=4, bottleneck=4),
                   latent_recovery=0.5)
    z = np.random.default_rng(0).uniform(-1, 1, (6, 4)).astype("float32")
    samples = np.random.default_rng(1).uniform(-1, 1, (6, 8, 8, 1)).astype("float32")
    encoder = gan.discriminator.get_layer("encoder")
    codes = keras.ops.convert_to_numpy(encoder(samples))
    expected = np.mean((z - codes) ** 2)
    got = float(gan.recovery_loss(z, samples, training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_latent_recovery_trains_the_encoder_to_invert_the_generator():
    def run(weight):
        keras.utils.set_random_seed(0)
        gan = tg.BEGAN(tg.build_began_generator(8, 8, 1, filters=8),
                       tg.build_began_discriminator(8, 1, filters=8, bottleneck=8),
                       latent_recovery=weight, seed=0)
        gan.compile()
        z = np.random.default_rng(5).uniform(-1, 1, (256, 8)).astype("float32")
        encoder = gan.discriminator.get_layer("encoder")

        def recovery():
            codes = keras.ops.convert_to_numpy(encoder(gan.generator(z)))
            return float(np.mean((z - codes) ** 2))

        before = recovery()
        history = gan.fit(digits_dataset(), steps_per_epoch=150, epochs=1, verbose=0)
        return before, recovery(), history.history

    before, after, logs = run(1.0)
    assert "latent_recovery" in logs
    assert after < 0.5 * before, (before, after)
    _, after_off, logs_off = run(0.0)  # the paper's BEGAN: nothing inverts the generator
    assert "latent_recovery" not in logs_off
    assert after < 0.5 * after_off, (after, after_off)


def test_latent_recovery_checks_its_networks_and_config():
    generator = tg.build_began_generator(4, 8, 1, filters=4)
    with pytest.raises(ValueError, match=r"bottleneck \(6\) to equal the generator's latent "
                                         r"size \(4\)"):
        tg.BEGAN(generator, tg.build_began_discriminator(8, 1, filters=4, bottleneck=6),
                 latent_recovery=1.0)
    inputs = keras.Input((8, 8, 1))
    plain = keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same")(inputs))
    with pytest.raises(ValueError, match="a layer named 'encoder' or ends in a layer named "
                                         "'bottleneck'"):
        tg.BEGAN(generator, plain, latent_recovery=1.0)
    with pytest.raises(ValueError, match="latent_recovery must be >= 0"):
        tg.BEGAN(generator, tg.build_began_discriminator(8, 1, filters=4, bottleneck=4),
                 latent_recovery=-1.0)
    flat = tg.BEGAN(tg.build_mlp_generator(4, 2, hidden_units=(8,)),
                    networks.build_mlp_autoencoder(2, hidden_units=(8,), bottleneck=4),
                    latent_recovery=1.0)
    assert flat.encoder.output_shape == (None, 4)
    config = os.path.join(CONFIGS, "began_digits.yaml")
    with pytest.raises(tg.ConfigError, match=r"began.bottleneck \(16\) equal to "
                                             r"model.latent_dim \(32\)"):
        config_lib.load(config, ["began.latent_recovery=1.0", "began.bottleneck=16"])
    with pytest.raises(tg.ConfigError, match="began.latent_recovery must be >= 0"):
        config_lib.load(config, ["began.latent_recovery=-0.5"])
    loaded = config_lib.load(config, ["began.latent_recovery=0.3"])
    assert loaded.family.gan_kwargs(loaded.family_options)["latent_recovery"] == 0.3


def test_latent_recovery_survives_a_keras_file(tmp_path):
    keras.utils.set_random_seed(0)
    gan = tg.BEGAN(tg.build_began_generator(4, 8, 1, filters=4),
                   tg.build_began_discriminator(8, 1, filters=4, bottleneck=4),
                   latent_recovery=0.25, seed=0)
    gan.compile()
    gan.fit(digits_dataset(), steps_per_epoch=2, epochs=1, verbose=0)
    gan.save(tmp_path / "began.keras")
    loaded = keras.models.load_model(tmp_path / "began.keras")
    assert loaded.latent_recovery == 0.25
    assert loaded.encoder is not None
    loaded.fit(digits_dataset(), steps_per_epoch=2, epochs=1, verbose=0)
