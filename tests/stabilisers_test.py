"""Today's stabilisers inside the GANs: R1/R2, hinge and RpGAN, spectral norm once a
step, differentiable augmentation of every critic input, ADA's adaptive p."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfgan_stable as tg
from helpers import run_python, tiny_gan
from tfgan_stable import augment, penalties

POLICY = "color,translation,cutout"


def real_batch(count=8, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, 8, 8, 1)).astype("float32")


def dcgan(**kwargs):
    critic_channels = kwargs.get("pack", 1)  # PacGAN joins a pack along the channels
    gan = tg.DCGAN(tg.build_dcgan_generator(8, 8, 1, filters=4),
                   tg.build_dcgan_discriminator(8, critic_channels, filters=4,
                                                normalization="none"),
                   seed=3, **kwargs)
    gan.compile()
    return gan


# ------------------------------------------------------------------ R1 / R2
def test_zero_centered_penalty_of_a_linear_critic_is_the_squared_weight_norm():
    w = np.random.default_rng(0).normal(size=(12, 1)).astype("float32")
    critic = keras.Sequential([keras.Input((12,)), keras.layers.Dense(1)])
    critic.layers[0].set_weights([w, np.array([0.3], "float32")])
    samples = np.random.default_rng(1).normal(size=(5, 12)).astype("float32")
    got = float(penalties.zero_centered_penalty(critic, samples))
    assert got == pytest.approx(float(np.sum(w ** 2)), rel=1e-5)


def test_r1_r2_enter_the_critic_loss_with_half_gamma_and_are_logged():
    gan = dcgan(r1_gamma=2.0, r2_gamma=0.5)
    real, fake = real_batch(), real_batch(seed=1)
    r1 = float(penalties.zero_centered_penalty(gan.discriminator, real))
    r2 = float(penalties.zero_centered_penalty(gan.discriminator, fake))
    weighted, logs = gan.zero_centered_penalties(real, fake)
    assert float(weighted) == pytest.approx(0.5 * (2.0 * r1 + 0.5 * r2), rel=1e-5)
    assert float(logs["r1"]) == pytest.approx(r1, rel=1e-5)
    assert float(logs["r2"]) == pytest.approx(r2, rel=1e-5)
    logs = gan.train_on_batch(real, return_dict=True)
    assert {"r1", "r2"} <= set(logs) and logs["r1"] > 0


@pytest.mark.parametrize("every", [2, 3])
def test_lazy_penalty_is_every_times_the_eager_one_on_the_steps_it_runs(every):
    eager, lazy = dcgan(r1_gamma=1.0, r2_gamma=1.0), dcgan(r1_gamma=1.0, r2_gamma=1.0,
                                                            r_every=every)
    lazy.discriminator.set_weights(eager.discriminator.get_weights())
    real, fake = real_batch(), real_batch(seed=1)
    expected, _ = eager.zero_centered_penalties(real, fake)
    for iteration in range(2 * every):
        lazy.d_optimizer.iterations.assign(iteration)
        got, logs = lazy.zero_centered_penalties(real, fake)
        if iteration % every == 0:
            assert float(got) == pytest.approx(every * float(expected), rel=1e-5)
        else:  # skipped: nothing added, the last values logged
            assert float(got) == 0.0
        assert float(logs["r1"]) > 0


@pytest.mark.parametrize("options", [{}, {"augment": POLICY}, {"pack": 2}, {"r2_gamma": 0.0}])
def test_penalties_taken_on_the_losss_critic_pass_equal_a_second_pass(options):
    """R1/R2 differentiate the loss's own critic pass (no second pass; R3GAN's code
    does the same): the logs and the updated weights match a step that runs it again."""
    options = {"r1_gamma": 1.0, "r2_gamma": 0.5, **options}
    reused, separate = dcgan(**options), dcgan(**options)
    separate._penalised_samples = lambda real, fake: None  # the penalty's own pass
    for gan in (reused, separate):
        gan.discriminator.set_weights(reused.discriminator.get_weights())
        gan.generator.set_weights(reused.generator.get_weights())
    calls = {id(reused): 0, id(separate): 0}
    for gan in (reused, separate):
        def counted(*args, gan=gan, discriminate=gan.discriminate, **kwargs):
            calls[id(gan)] += 1  # counted while the step is traced
            return discriminate(*args, **kwargs)
        gan.discriminate = counted
    got = reused.train_on_batch(real_batch(), return_dict=True)
    expected = separate.train_on_batch(real_batch(), return_dict=True)
    for name in ("r1", "r2", "d_loss", "g_loss"):
        if name in expected:
            assert got[name] == pytest.approx(expected[name], rel=1e-5, abs=1e-7), name
    for mine, theirs in zip(reused.discriminator.get_weights(),
                            separate.discriminator.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    penalised = 1 + bool(options["r2_gamma"])
    assert calls[id(separate)] - calls[id(reused)] == penalised  # the passes saved


def test_r1_is_refused_where_the_critic_does_not_score():
    with pytest.raises(ValueError, match="BEGAN.r1_gamma"):
        tg.BEGAN(tg.build_began_generator(8, 8, 1, filters=4),
                 tg.build_began_discriminator(8, 1, filters=4, bottleneck=4), r1_gamma=1.0)
    with pytest.raises(ValueError, match="r_every must be an int >= 1"):
        dcgan(r_every=0)


# -------------------------------------------------------------- the losses
@pytest.mark.parametrize("loss", ["nonsaturating", "hinge", "rpgan"])
def test_each_critic_loss_trains_and_round_trips_its_config(loss):
    gan = dcgan(loss=loss)
    logs = gan.train_on_batch(real_batch(), return_dict=True)
    assert np.isfinite(logs["d_loss"]) and np.isfinite(logs["g_loss"])
    assert tg.DCGAN.from_config(gan.get_config()).loss_name == loss
    with pytest.raises(ValueError, match="DCGAN.loss must be one of"):
        dcgan(loss="least_squares")


def test_rpgan_losses_count_only_differences_and_train():
    gan = tiny_gan("r3gan")
    assert gan.loss_name == "rpgan" and gan.generator_sees_reals and gan.scores_are_relative
    real = real_batch()
    # shifting every critic output by a constant leaves both RpGAN losses unchanged
    out_real, out_fake = np.array([[1.0], [2.0]]), np.array([[0.5], [-1.0]])
    d1, _ = gan.discriminator_loss(None, None, out_real, out_fake)
    d2, _ = gan.discriminator_loss(None, None, out_real + 5, out_fake + 5)
    g1, _ = gan.generator_loss(out_fake, out_real)
    g2, _ = gan.generator_loss(out_fake + 5, out_real + 5)
    assert float(d1) == pytest.approx(float(d2)) and float(g1) == pytest.approx(float(g2))
    logs = gan.train_on_batch(real, return_dict=True)
    assert np.isfinite(logs["g_loss"])


def test_sngan_defaults_are_the_papers_and_a_critic_without_spectral_norm_is_named():
    gan = tiny_gan("sngan")
    assert (gan.loss_name, gan.n_critic) == ("hinge", 5)
    assert (float(gan.d_optimizer.beta_1), float(gan.d_optimizer.beta_2)) == (0.0, 0.9)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(2e-4)
    assert len(gan.spectral_norms) == 2  # the one convolution at 8x8 and the score
    with pytest.warns(UserWarning, match="no SpectralNorm layers"):
        tg.SNGAN(tg.build_dcgan_generator(8, 8, 1, filters=4),
                 tg.build_dcgan_discriminator(8, 1, filters=4, normalization="none"))


def test_spectral_norm_moves_u_once_per_critic_update_whatever_the_calls():
    gan = tg.SNGAN(tg.build_dcgan_generator(8, 8, 1, filters=4),
                   tg.build_dcgan_discriminator(8, 1, filters=4, normalization="none",
                                                spectral_norm=True), n_critic=1, seed=0)
    gan.compile()
    layers = gan.spectral_norms
    assert all(not layer.update_in_call for layer in layers)
    expected = []
    for layer in layers:  # one power iteration from the state before the step
        kernel = np.asarray(layer.layer.kernel)
        out_axis = -2 if isinstance(layer.layer, keras.layers.Conv2DTranspose) else -1
        w = np.moveaxis(kernel, out_axis, -1).reshape(-1, kernel.shape[out_axis])
        u = np.asarray(layer.u).reshape(-1)
        v = w @ u
        v /= np.linalg.norm(v)
        u = w.T @ v
        expected.append(u / np.linalg.norm(u))
    # the critic is called on reals, on fakes and in the generator's update
    gan.train_on_batch(real_batch(), return_dict=True)
    for layer, u in zip(layers, expected):
        np.testing.assert_allclose(np.asarray(layer.u).reshape(-1), u, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------ augmentation
class RecordingCritic(keras.Model):
    """A critic that keeps every batch it is given (run eagerly)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flatten = keras.layers.Flatten()
        self.score = keras.layers.Dense(1)
        self.seen = []

    def call(self, x, training=False):
        self.seen.append(np.asarray(x))
        return self.score(self.flatten(x))


def test_every_critic_input_is_augmented_in_both_updates_and_in_the_penalties():
    critic = RecordingCritic()
    critic(np.zeros((1, 8, 8, 1), "float32"))
    gan = tg.DCGAN(tg.build_dcgan_generator(8, 8, 1, filters=4, normalization="none"),
                   critic, augment="cutout", r1_gamma=1.0, r2_gamma=1.0, seed=0)
    gan.compile(run_eagerly=True)
    ones = np.ones((4, 8, 8, 1), "float32")
    critic.seen.clear()
    gan.train_on_batch(ones)
    # reals and fakes (whose scores R1 and R2 differentiate) and the generator's
    # update: three calls, every one cut out
    assert len(critic.seen) == 3
    for batch in critic.seen:
        for sample in batch:
            # a 4x4 square, partly outside the image at worst (DiffAugment centres it anywhere)
            assert np.sum(sample == 0.0) >= 4, "a critic input without its cutout square"
    # nothing of it reaches the samples: the generator's output is untouched
    z = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    np.testing.assert_array_equal(np.asarray(gan(z)), np.asarray(gan.generator(z)))


def test_augmentation_gradients_reach_the_generator():
    gan = dcgan(augment=POLICY)
    z = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    with tf.GradientTape() as tape:
        fake = gan.generator(z, training=True)
        score = tf.reduce_sum(gan.discriminator(gan.critic_view(fake), training=True))
    grads = tape.gradient(score, gan.generator.trainable_variables)
    assert all(g is not None for g in grads)
    assert sum(float(tf.reduce_sum(tf.abs(g))) for g in grads) > 0


def test_augmentation_leaves_samples_and_exports_alone(tmp_path):
    plain, augmented = dcgan(), dcgan(augment=POLICY, augment_probability=1.0)
    augmented.generator.set_weights(plain.generator.get_weights())
    np.testing.assert_array_equal(plain.generate_numpy(6), augmented.generate_numpy(6))
    path = augmented.export(str(tmp_path / "export"), verbose=False)
    served = tf.saved_model.load(path).signatures["serving_default"]
    z = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    images = served(z=tf.constant(z))["images"]  # the generator's [-1, 1] as [0, 1]
    expected = (np.asarray(plain.generator(z)) + 1) / 2
    np.testing.assert_allclose(np.asarray(images), expected, atol=1e-5)


def test_adaptive_p_follows_ada_s_rule():
    gan = dcgan(augment=POLICY, augment_target=0.6, augment_interval=2,
                augment_speed_images=80)
    assert float(gan.augment_p) == 0.0  # adaptive p starts at 0
    score = gan.discriminator.get_layer("score")
    kernel, _ = score.get_weights()
    score.set_weights([kernel * 0, np.array([50.0], "float32")])  # calls every real real
    gan.d_optimizer.learning_rate.assign(0.0)
    gan.g_optimizer.learning_rate.assign(0.0)
    logs = gan.train_on_batch(real_batch(), return_dict=True)
    assert float(gan.augment_p) == 0.0 and logs["augment_p"] == 0.0  # not due yet
    gan.train_on_batch(real_batch(), return_dict=True)
    # sign 1 > 0.6 for two updates of 8 images: p rises by 16 / 80
    assert float(gan.augment_p) == pytest.approx(0.2)
    score.set_weights([kernel * 0, np.array([-50.0], "float32")])
    for _ in range(2):
        gan.train_on_batch(real_batch(), return_dict=True)
    assert float(gan.augment_p) == pytest.approx(0.0)


def test_wasserstein_critics_signal_overfitting_relative_to_the_fakes():
    gan = tiny_gan("wgan_gp")
    real, fake = np.array([[10.0], [11.0]]), np.array([[12.0], [13.0]])
    # every real scores below every fake: no overfitting, whatever the offset
    assert float(gan.overfitting_signal(real, fake)) == -1.0
    assert float(tiny_gan("dcgan").overfitting_signal(real, fake)) == 1.0


def test_augmentation_settings_are_checked():
    with pytest.raises(ValueError, match="unknown operation 'colour'"):
        dcgan(augment="colour")
    with pytest.raises(ValueError, match="probability"):
        dcgan(augment=POLICY, augment_probability=1.5)
    with pytest.raises(ValueError, match="augment_target"):
        tg.BEGAN(tg.build_began_generator(8, 8, 1, filters=4),
                 tg.build_began_discriminator(8, 1, filters=4, bottleneck=4),
                 augment=POLICY, augment_target=0.6)
    with pytest.raises(ValueError, match="images"):
        tg.DCGAN(tg.build_mlp_generator(4, 2, hidden_units=(8,)),
                 tg.build_mlp_discriminator(2, hidden_units=(8,)), augment=POLICY)


def test_began_rebuilds_augmented_samples():
    gan = tg.BEGAN(tg.build_began_generator(8, 8, 1, filters=4),
                   tg.build_began_discriminator(8, 1, filters=4, bottleneck=4),
                   augment=POLICY, seed=0)
    gan.compile()
    logs = gan.train_on_batch(real_batch(), return_dict=True)
    assert np.isfinite(logs["d_loss"]) and logs["augment_p"] == 1.0


@pytest.mark.slow
def test_stabilisers_train_under_bfloat16():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        gan = tg.SNGAN(tg.build_dcgan_generator(8, 8, 1, filters=4),
                       tg.build_dcgan_discriminator(8, 1, filters=4, normalization="none",
                                                    spectral_norm=True),
                       n_critic=1, r1_gamma=1.0, r2_gamma=1.0, augment=POLICY,
                       augment_target=0.6, augment_interval=1, seed=0)
        gan.compile()
        for _ in range(2):
            logs = gan.train_on_batch(real_batch(), return_dict=True)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert all(np.isfinite(value) for value in logs.values()), logs
    assert gan.augment_p.dtype == "float32"


FRESH_LOAD = """
import sys, numpy as np, keras
import tfgan_stable  # registers the classes
gan = keras.models.load_model(sys.argv[1])
print("S", list(np.asarray(gan.augment_signal)))  # not in the config: from the weights
print("C", gan.get_config()["augment_probability"])  # the starting value; p is a weight
print("P", float(gan.augment_p), gan.loss_name, type(gan).__name__,
      [float(np.abs(np.asarray(layer.u)).sum()) for layer in gan.spectral_norms])
"""


@pytest.mark.slow
def test_p_and_u_survive_a_keras_file_in_a_fresh_process(tmp_path):
    gan = tg.SNGAN(tg.build_dcgan_generator(8, 8, 1, filters=4),
                   tg.build_dcgan_discriminator(8, 1, filters=4, normalization="none",
                                                spectral_norm=True),
                   n_critic=1, augment=POLICY, augment_target=0.6, augment_interval=2,
                   augment_speed_images=40, seed=0)
    gan.compile()
    score = gan.discriminator.get_layer("score_sn").layer  # the wrapped Dense
    kernel, _ = score.get_weights()
    score.set_weights([kernel * 0, np.array([50.0], "float32")])
    gan.d_optimizer.learning_rate.assign(0.0)
    for _ in range(3):  # p moves after the second; the third leaves a signal pending
        gan.train_on_batch(real_batch(), return_dict=True)
    p = float(gan.augment_p)
    assert p == pytest.approx(0.4)
    np.testing.assert_allclose(np.asarray(gan.augment_signal), [1.0, 1.0])
    path = str(tmp_path / "sngan.keras")
    gan.save(path)
    result = run_python(["-c", FRESH_LOAD, path])
    assert result.returncode == 0, result.stderr[-2000:]
    signal = [x for x in result.stdout.splitlines() if x.startswith("S ")][-1]
    assert eval(signal[2:]) == [1.0, 1.0]
    assert "C None" in result.stdout.splitlines()  # p is stored once: in the weights
    line = [x for x in result.stdout.splitlines() if x.startswith("P ")][-1]
    words = line.split(" ", 4)
    assert float(words[1]) == pytest.approx(p) and words[2] == "hinge" and words[3] == "SNGAN"
    expected = [float(np.abs(np.asarray(layer.u)).sum()) for layer in gan.spectral_norms]
    np.testing.assert_allclose(eval(words[4]), expected, rtol=1e-6)
    assert os.path.getsize(path) > 0


def test_r1_is_taken_through_the_augmentation_at_the_samples_themselves():
    """R1 of a linear critic seen through cutout: the gradient at x is w where the
    square left the pixels, 0 where it cut them (ADA's and R3GAN's R1)."""
    w = np.random.default_rng(0).normal(size=(64, 1)).astype("float32")
    critic = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                               keras.layers.Dense(1, use_bias=False)])
    critic.layers[-1].set_weights([w])
    gan = tg.DCGAN(tg.build_dcgan_generator(8, 8, 1, filters=4), critic, augment="cutout",
                   r1_gamma=2.0, seed=0)
    gan.compile()
    real = real_batch(4)
    uniforms = gan.augment_uniforms(4)
    mask = np.asarray(augment.diff_augment(np.ones_like(real), "cutout", 1.0, uniforms))
    expected = np.mean(np.sum((w.reshape(1, 8, 8, 1) * mask) ** 2, axis=(1, 2, 3)))
    weighted, logs = gan.zero_centered_penalties(real, real, uniforms, uniforms)
    assert float(logs["r1"]) == pytest.approx(expected, rel=1e-5)
    assert float(weighted) == pytest.approx(expected, rel=1e-5)  # gamma / 2 = 1
    assert expected < np.sum(w ** 2) * 0.95  # the cut pixels do count for nothing


def test_evaluate_scores_the_penalties_without_augmentation():
    gan = dcgan(r1_gamma=1.0, r2_gamma=1.0, augment=POLICY)
    scores = gan.evaluate(real_batch(), batch_size=8, return_dict=True, verbose=0)
    assert scores["r1"] > 0 and scores["r2"] > 0 and np.isfinite(scores["d_loss"])
    r1 = float(penalties.zero_centered_penalty(gan.discriminator, real_batch()))
    assert scores["r1"] == pytest.approx(r1, rel=1e-4)  # at the raw images


def test_r3gan_keeps_its_papers_generator_average_from_python():
    gan = tg.R3GAN(tg.build_dcgan_generator(8, 8, 1, filters=4),
                   tg.build_dcgan_discriminator(8, 1, filters=4, normalization="none"))
    assert gan.generator_ema is not None and gan.g_ema_decay == 0.999
    with pytest.raises(ValueError, match="augment_target adapts"):
        dcgan(augment_target=0.6)
