"""Every registered GAN family trained with the real ``model.fit`` on tiny data."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfgan_stable as tg
from tfgan_stable import registry
from tfgan_stable import families as family_lib

pytestmark = pytest.mark.slow  # trains, or runs the binaries

FAMILIES = family_lib.names()


def networks(family):
    """Tiny 8x8 networks of the kind each family trains."""
    if family == "progan":  # at its final stage (8x8) unless told otherwise
        return (tg.ProgressiveGenerator(4, 8, 1, fmap_base=16, fmap_max=4),
                tg.ProgressiveDiscriminator(8, 1, fmap_base=16, fmap_max=4))
    if family == "began":
        return (tg.build_began_generator(4, 8, 1, filters=4),
                tg.build_began_discriminator(8, 1, filters=4, bottleneck=4))
    if family == "r3gan":
        return (tg.build_resnet_generator(4, 8, 1, filters=4),
                tg.build_resnet_discriminator(8, 1, filters=4))
    normalization = {"wgan_gp": "layer", "sngan": "none"}.get(family, "batch")
    return (tg.build_dcgan_generator(4, 8, 1, filters=4),
            tg.build_dcgan_discriminator(8, 1, filters=4, normalization=normalization,
                                         spectral_norm=family == "sngan"))


# What the stabilisers' families run with here: R3GAN with adaptive augmentation
# (p moving every 2 updates) and lazy R1/R2 (every 2), so that every test of every
# family (replica equality included) covers them.
FAMILY_KWARGS = {"r3gan": {"augment": "color,translation,cutout", "augment_target": 0.6,
                           "augment_interval": 2, "augment_speed_images": 64, "r_every": 2}}


def build(family, g_ema_decay=None, seed=0, **kwargs):
    generator, critic = networks(family)
    if family == "progan":
        kwargs.setdefault("transition_images", 1)  # alpha 1 from the second step
    kwargs = {**FAMILY_KWARGS.get(family, {}), **kwargs}
    gan = registry.get_gan_class(family)(generator, critic, g_ema_decay=g_ema_decay,
                                         seed=seed, **kwargs)
    gan.compile()
    return gan


def dataset(images, n_critic, batch_size=4):
    return tg.make_dataset(tf.data.Dataset.from_tensor_slices(images), batch_size,
                           n_critic=n_critic, seed=0)


@pytest.mark.parametrize("family", FAMILIES)
def test_fit_gives_finite_losses_and_changes_both_networks(family, tiny_images):
    gan = build(family)
    g_before = [v.numpy().copy() for v in gan.generator.trainable_variables]
    d_before = [v.numpy().copy() for v in gan.discriminator.trainable_variables]
    history = gan.fit(dataset(tiny_images, gan.n_critic), steps_per_epoch=2, epochs=2,
                      verbose=0, callbacks=[keras.callbacks.TerminateOnNaN()])
    for name in ("d_loss", "g_loss", *gan.extra_metric_names):
        assert len(history.history[name]) == 2
        assert np.all(np.isfinite(history.history[name])), name
    assert int(gan.generator_steps.numpy()) == 4
    assert gan.d_optimizer.iterations.numpy() == 4 * gan.n_critic
    assert gan.g_optimizer.iterations.numpy() == 4
    for before, variables in ((g_before, gan.generator.trainable_variables),
                              (d_before, gan.discriminator.trainable_variables)):
        for old, variable in zip(before, variables):
            # (a Wasserstein critic's output bias cancels out of its loss, and ProGAN's
            # 4x4 toRGB / fromRGB only feed the faded-out path once alpha is 1)
            if "kernel" in variable.path and "s0_to_rgb" not in variable.path \
                    and "s0_from_rgb" not in variable.path:
                assert not np.array_equal(old, variable.numpy()), variable.path


@pytest.mark.parametrize("family", FAMILIES)
def test_call_returns_samples_and_config_round_trips(family):
    gan = build(family)
    z = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    samples = keras.ops.convert_to_numpy(gan(z))
    assert samples.shape == (3, 8, 8, 1)
    if family not in ("began", "progan"):  # their outputs are linear, as in the papers
        assert np.abs(samples).max() <= 1.0
    restored = type(gan).from_config(gan.get_config())
    assert type(restored) is type(gan)
    assert restored.n_critic == gan.n_critic and restored.latent_dim == 4
    restored.set_weights(gan.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored(z)), samples, atol=1e-6)


def test_generate_numpy_draws_from_the_seed_in_batches():
    gan = build("began")  # z ~ U[-1, 1]
    samples = gan.generate_numpy(5, seed=3, batch_size=2)
    z = gan.latent_numpy(np.random.default_rng(3), 5, gan.latent_dim)
    assert samples.shape == (5, 8, 8, 1) and np.abs(z).max() <= 1.0
    np.testing.assert_allclose(samples, keras.ops.convert_to_numpy(gan(z)), atol=1e-6)
    assert not np.allclose(gan.generate_numpy(5, seed=4), samples)


def test_paper_defaults():
    assert tg.DCGAN.default_n_critic == 1
    assert tg.WGAN.default_n_critic == 5 and tg.WGANGP.default_n_critic == 5
    d_opt, g_opt = tg.WGAN.default_optimizers()
    assert isinstance(d_opt, keras.optimizers.RMSprop)
    assert float(d_opt.learning_rate) == pytest.approx(5e-5)
    d_opt, g_opt = tg.WGANGP.default_optimizers()
    assert isinstance(g_opt, keras.optimizers.Adam)
    assert (float(g_opt.learning_rate), g_opt.beta_1, g_opt.beta_2) == pytest.approx(
        (1e-4, 0.5, 0.9))
    gan = build("wgan_gp")
    assert gan.gp_weight == 10.0


def test_each_critic_step_sees_a_fresh_real_batch(tiny_images):
    gan = build("wgan_gp", n_critic=3)
    seen = []
    original = gan.discriminator_loss

    def recording_loss(real, fake, real_output, fake_output):
        seen.append(real)
        return original(real, fake, real_output, fake_output)

    gan.discriminator_loss = recording_loss
    gan.run_eagerly = True
    element = next(iter(dataset(tiny_images, 3)))
    gan.train_on_batch(element)
    assert len(seen) == 3
    batches = [b.numpy() for b in seen]
    for i in range(3):
        np.testing.assert_array_equal(batches[i], element[:, i].numpy())
    assert not np.array_equal(batches[0], batches[1])


def test_single_batches_with_n_critic_above_one_raise_a_clear_error(tiny_images):
    gan = build("wgan", n_critic=5)
    flat = tf.data.Dataset.from_tensor_slices(tiny_images).batch(4).repeat()
    with pytest.raises(ValueError, match=r"n_critic=5 needs 5 fresh real batches.*critic_batches"):
        gan.fit(flat, steps_per_epoch=1, epochs=1, verbose=0)


def test_dcgan_accepts_plain_batches(tiny_images):
    gan = build("dcgan")
    flat = tf.data.Dataset.from_tensor_slices(tiny_images).batch(4, drop_remainder=True).repeat()
    history = gan.fit(flat, steps_per_epoch=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][0])


def test_generator_ema_follows_the_update_rule(tiny_images):
    gan = build("wgan_gp", g_ema_decay=0.9, n_critic=1)
    ema_before = [v.numpy().copy() for v in gan.generator_ema.weights]
    gan.fit(dataset(tiny_images, 1), steps_per_epoch=1, epochs=1, verbose=0)
    for ema, old, live in zip(gan.generator_ema.weights, ema_before, gan.generator.weights):
        expected = 0.9 * old + 0.1 * live.numpy() if live.trainable else live.numpy()
        np.testing.assert_allclose(ema.numpy(), expected, rtol=1e-5, atol=1e-6)
    # samples come from the EMA copy
    z = np.zeros((2, 4), np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(gan(z)),
                               keras.ops.convert_to_numpy(gan.generator_ema(z)))
    assert gan.sampler is gan.generator_ema


def test_wgan_warmup_delays_generator_updates(tiny_images):
    gan = build("wgan", n_critic=5, warmup=True)
    gan.fit(dataset(tiny_images, 5), steps_per_epoch=20, epochs=1, verbose=0)
    # 100 critic updates (20 train steps of 5) precede the first generator update
    assert int(gan.generator_steps.numpy()) == 1
    assert gan.d_optimizer.iterations.numpy() == 100
    gan.fit(dataset(tiny_images, 5), steps_per_epoch=19, epochs=1, verbose=0)
    assert int(gan.generator_steps.numpy()) == 1  # the second needs 100 more as well


def test_user_models_and_callbacks(tiny_images):
    """A user's own Keras networks and callbacks work with the library's GAN."""
    generator = keras.Sequential([
        keras.Input((6,)), keras.layers.Dense(8 * 8), keras.layers.Reshape((8, 8, 1)),
        keras.layers.Activation("tanh"),
    ])
    critic = keras.Sequential([
        keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(1),
    ])
    seen_steps = []

    class Recorder(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen_steps.append(int(self.model.generator_steps.numpy()))

    gan = tg.WGANGP(generator, critic, n_critic=2, seed=1)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    gan.fit(dataset(tiny_images, 2), steps_per_epoch=3, epochs=1, verbose=0,
            callbacks=[Recorder(), keras.callbacks.TerminateOnNaN()])
    assert seen_steps == [1, 2, 3]
    assert gan.latent_dim == 6


def test_constructor_errors_name_the_argument():
    generator = tg.build_dcgan_generator(4, 8, 1, filters=4)
    critic = tg.build_dcgan_discriminator(8, 1, filters=4, normalization="layer")
    with pytest.raises(ValueError, match="WGANGP.n_critic must be >= 1, got 0"):
        tg.WGANGP(generator, critic, n_critic=0)
    with pytest.raises(ValueError, match="g_ema_decay must be in"):
        tg.DCGAN(generator, critic, g_ema_decay=1.5)
    with pytest.raises(TypeError, match="DCGAN.generator must be a keras.Model"):
        tg.DCGAN(lambda z: z, critic)
    with pytest.warns(UserWarning, match="BatchNormalization"):
        tg.WGANGP(tg.build_dcgan_generator(4, 16, 1, filters=4),
                  tg.build_dcgan_discriminator(16, 1, filters=4))


def _trained_state(family, images, **compile_kwargs):
    keras.utils.set_random_seed(0)
    generator, critic = networks(family)
    gan = registry.get_gan_class(family)(generator, critic, seed=0, g_ema_decay=0.9,
                                         **({"transition_images": 8} if family == "progan"
                                            else {}))
    gan.compile(**compile_kwargs)
    history = gan.fit(dataset(images, gan.n_critic), steps_per_epoch=2, epochs=2, verbose=0)
    assert int(gan.generator_steps.numpy()) == 4
    return {v.path: np.asarray(v) for v in gan.weights}, history.history


# Training state that counts steps and images (not random): the same under XLA.
COUNTERS = ("generator_steps", "train_steps", "iteration", "alpha", "images_seen")


@pytest.mark.parametrize("family", FAMILIES)
def test_xla_and_steps_per_execution_train_like_single_steps(family, tiny_images):
    # 4 steps (ProGAN: the fade-in spans them), one per call / two per call /
    # two per call under XLA, same seed
    reference, reference_logs = _trained_state(family, tiny_images)
    batched, batched_logs = _trained_state(family, tiny_images, steps_per_execution=2)
    compiled, compiled_logs = _trained_state(family, tiny_images, jit_compile=True,
                                             steps_per_execution=2)
    assert reference.keys() == batched.keys() == compiled.keys()
    assert any("k_t" in path for path in reference) == (family == "began")
    for path, value in reference.items():
        # everything (weights, EMA, optimizer slots, k_t, alpha): the same steps
        np.testing.assert_allclose(batched[path], value, rtol=1e-5, atol=1e-6, err_msg=path)
        if any(name in path for name in COUNTERS):
            np.testing.assert_allclose(compiled[path], value, rtol=1e-6, err_msg=path)
    for name, values in reference_logs.items():
        np.testing.assert_allclose(batched_logs[name], values, rtol=1e-5, atol=1e-6,
                                   err_msg=name)
        # XLA draws other random numbers from the same seed (TensorFlow's
        # stateless RNG under XLA), so its losses are only checked to be finite
        assert np.all(np.isfinite(compiled_logs[name])), name


def test_lazy_gradient_penalty_applies_every_kth_critic_step_with_k_times_lambda(tiny_images):
    generator = tg.build_dcgan_generator(4, 8, 1, filters=4)
    critic = tg.build_dcgan_discriminator(8, 1, filters=4, normalization="layer")
    gan = tg.WGANGP(generator, critic, gp_weight=1e6, gp_every=2, n_critic=1, seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.0))
    batch = tiny_images[:8]
    logs = [gan.train_on_batch(batch, return_dict=True) for _ in range(4)]
    # critic updates 0 and 2 carry 2 * 1e6 * gp; updates 1 and 3 no penalty at all
    assert logs[0]["d_loss"] > 1e3 and logs[2]["d_loss"] > 1e3
    assert abs(logs[1]["d_loss"]) < 10 and abs(logs[3]["d_loss"]) < 10
    assert logs[1]["gp"] == logs[0]["gp"] > 0  # the last computed value is logged
    every = tg.WGANGP(generator, critic, gp_weight=1e6, n_critic=1, seed=0)
    every.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.0))
    first = every.train_on_batch(batch, return_dict=True)
    # same networks, seeds and data: the lazy step 0 is the critic loss plus 2 x the penalty
    np.testing.assert_allclose(logs[0]["gp"], first["gp"], rtol=1e-5)
    np.testing.assert_allclose(logs[0]["d_loss"], first["d_loss"] + 1e6 * first["gp"],
                               rtol=1e-4)
