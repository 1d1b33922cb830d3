"""ProGAN: growth schedule, fade-in equivalences, shapes, growing run, resume, export."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

import tfgan_stable as tg
from helpers import CONFIGS
from tfgan_stable import config as config_lib
from tfgan_stable import progressive, schedules, train_lib
from tfgan_stable.networks import progan_layers as layers
from tfgan_stable import workdir as workdir_lib
from tfgan_stable.gans.progan import reset_optimizer_state
from tfgan_stable.networks.progan import feature_maps

pytestmark = pytest.mark.slow  # trains, or runs the binaries


def test_alpha_table():
    assert schedules.progan_alpha(0, 0, 100) == 1.0  # 4x4 has no fade-in
    assert [schedules.progan_alpha(n, 2, 100) for n in (0, 25, 50, 100, 150)] == [
        0.0, 0.25, 0.5, 1.0, 1.0]
    tensor = schedules.progan_alpha(tf.constant(30, tf.int64), 1, 120)
    assert float(tensor) == pytest.approx(0.25)


def test_stage_and_alpha_table():
    table = {0: (0, 1.0), 99: (0, 1.0), 100: (1, 0.0), 150: (1, 0.5), 200: (1, 1.0),
             299: (1, 1.0), 300: (2, 0.0), 375: (2, 0.75), 400: (2, 1.0), 10**6: (2, 1.0)}
    for images, expected in table.items():
        assert schedules.progan_stage_and_alpha(images, 3, 100, 100) == expected, images
    assert schedules.progan_stage_images(3, 100, 50) == [50, 150, 150]


def test_final_stable_phase_lengthens_only_the_last_stage():
    assert schedules.progan_stage_images(3, 100, 50, 400) == [50, 150, 500]
    assert schedules.progan_stage_images(1, 100, 50, 400) == [400]  # 4x4 only
    table = {299: (1, 1.0), 300: (2, 0.0), 350: (2, 0.5), 400: (2, 1.0), 799: (2, 1.0)}
    for images, expected in table.items():
        assert schedules.progan_stage_and_alpha(images, 3, 100, 100, 400) == expected, images


def test_feature_map_schedule_matches_the_paper():
    # fmap_base 8192, cap 512: 512 up to 32x32, then halving to 16 at 1024x1024
    assert [feature_maps(s) for s in range(9)] == [512, 512, 512, 512, 256, 128, 64, 32, 16]


def tiny_networks(resolution=16):
    generator = tg.ProgressiveGenerator(8, resolution, 1, fmap_base=32, fmap_max=8)
    discriminator = tg.ProgressiveDiscriminator(resolution, 1, fmap_base=32, fmap_max=8)
    return generator, discriminator


def test_shapes_at_every_stage():
    generator, discriminator = tiny_networks(32)
    z = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    for stage in range(4):
        generator.set_stage(stage)
        discriminator.set_stage(stage)
        r = 4 * 2**stage
        images = generator(z, alpha=0.5)
        assert images.shape == (3, r, r, 1)
        assert discriminator(images, alpha=0.5).shape == (3, 1)


def test_alpha_zero_after_growing_reproduces_the_previous_resolution():
    generator, discriminator = tiny_networks(16)
    z = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    generator.set_stage(1)
    previous = generator(z, alpha=1.0).numpy()
    generator.set_stage(2)
    grown = generator(z, alpha=0.0).numpy()
    np.testing.assert_allclose(grown, layers.upsample()(previous).numpy(), atol=1e-6)
    assert not np.allclose(generator(z, alpha=1.0).numpy(), grown)
    # the discriminator likewise sees the down-sampled image through the old path
    images = np.random.default_rng(1).normal(size=(4, 16, 16, 1)).astype("float32")
    discriminator.set_stage(2)
    grown_score = discriminator(images, alpha=0.0).numpy()
    discriminator.set_stage(1)
    old_score = discriminator(layers.downsample()(images), alpha=1.0).numpy()
    np.testing.assert_allclose(grown_score, old_score, rtol=1e-5, atol=1e-6)


def test_real_images_fade_like_the_generator():
    generator, discriminator = tiny_networks(16)
    gan = tg.ProGAN(generator, discriminator, transition_images=8)
    gan.compile()
    gan.start_stage(2)
    real = np.random.default_rng(2).normal(size=(2, 16, 16, 1)).astype("float32")
    low = layers.upsample()(layers.downsample()(real)).numpy()
    np.testing.assert_allclose(gan.fade_real(real, 0.0).numpy(), low, atol=1e-6)
    np.testing.assert_allclose(gan.fade_real(real, 1.0).numpy(), real, atol=1e-6)
    np.testing.assert_allclose(gan.fade_real(real, 0.25).numpy(), low + 0.25 * (real - low),
                               atol=1e-6)


def test_paper_defaults_and_optimizer_reset():
    generator, discriminator = tiny_networks(8)
    gan = tg.ProGAN(generator, discriminator)
    gan.compile()
    d_opt, g_opt = gan.d_optimizer, gan.g_optimizer
    assert (float(g_opt.learning_rate), g_opt.beta_1, g_opt.beta_2, g_opt.epsilon) == \
        pytest.approx((1e-3, 0.0, 0.99, 1e-8))
    assert (gan.gp_weight, gan.drift_weight, gan.g_ema_decay, gan.n_critic) == \
        (10.0, 0.001, 0.999, 1)
    for variable in d_opt.variables:
        if variable.name != "learning_rate":
            variable.assign(tf.ones(variable.shape, variable.dtype))
    reset_optimizer_state(d_opt)
    assert int(d_opt.iterations.numpy()) == 0
    assert all(not np.any(v.numpy()) for v in d_opt.variables if v.name != "learning_rate")
    assert float(d_opt.learning_rate) == pytest.approx(1e-3)


def test_alpha_is_exact_every_step_with_steps_per_execution(tiny_images=None):
    generator, discriminator = tiny_networks(8)
    gan = tg.ProGAN(generator, discriminator, transition_images=24, seed=0)
    gan.compile(steps_per_execution=3)
    gan.start_stage(1)
    images = np.random.default_rng(0).uniform(-1, 1, (32, 8, 8, 1)).astype("float32")
    dataset = tg.make_dataset(tf.data.Dataset.from_tensor_slices(images), 4)
    alphas = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            alphas.append(float(logs["alpha"]))

    gan.fit(dataset, steps_per_epoch=9, epochs=1, verbose=0, callbacks=[Record()])
    # callbacks see every 3rd step; alpha of steps 3, 6, 9 = (8, 20, 32 images) / 24
    assert alphas == pytest.approx([8 / 24, 20 / 24, 1.0])
    assert int(gan.stage_images_seen.numpy()) == 36


def test_half_life_average_restarts_each_new_block():
    """Under a half-life with ramp-up each block's average runs on its own images:
    a new block's average starts at its live weights, older blocks keep averaging."""
    generator, discriminator = tiny_networks(16)
    gan = tg.ProGAN(generator, discriminator, transition_images=8, seed=0,
                    g_ema_half_life_images=1000, g_ema_rampup=0.5)
    assert gan.g_ema_decay is None and gan.generator_ema is not None
    gan.compile()
    rng = np.random.default_rng(0)

    def dataset(resolution):
        images = rng.uniform(-1, 1, (32, resolution, resolution, 1)).astype("float32")
        return tg.make_dataset(tf.data.Dataset.from_tensor_slices(images), 4)

    gan.start_stage(0)
    gan.fit(dataset(4), steps_per_epoch=3, epochs=1, verbose=0)
    gan.start_stage(1)
    gan.fit(dataset(8), steps_per_epoch=1, epochs=1, verbose=0)  # alpha 0: block 1 idle
    assert gan.block_images_seen.numpy().tolist() == [16, 4, 0]
    blocks = gan._weight_blocks
    assert set(blocks) == {0, 1, 2}
    before = [w.numpy().copy() for w in gan.generator_ema.weights]
    gan.fit(dataset(8), steps_per_epoch=1, epochs=1, verbose=0)  # alpha 0.5
    # images each block had seen before this step: 16 and 4, so h = 0.5 x that
    decays = {0: 0.5 ** (4 / 8), 1: 0.5 ** (4 / 2)}
    for block, ema, live, old in zip(blocks, gan.generator_ema.weights,
                                     gan.generator.weights, before):
        if not live.trainable:  # alpha: follows the live generator
            continue
        if block == 2:  # not grown yet: untouched
            np.testing.assert_array_equal(ema.numpy(), old)
            continue
        np.testing.assert_allclose(
            ema.numpy(), decays[block] * old + (1 - decays[block]) * live.numpy(), atol=1e-6)
    new_block = [w for w, block in zip(gan.generator.weights, blocks) if block == 1]
    assert any(not np.array_equal(w.numpy(), old) for w, old in zip(
        new_block, [o for o, b in zip(before, blocks) if b == 1]))  # the new block trains
    # the setting survives get_config / from_config
    config = gan.get_config()
    assert (config["g_ema_half_life_images"], config["g_ema_rampup"]) == (1000, 0.5)


def test_ema_settings_in_configs_are_checked(tmp_path):
    with pytest.raises(config_lib.ConfigError, match="not both"):
        smoke_config(tmp_path, "model.g_ema_decay=0.99", "model.g_ema_half_life_images=1000")
    with pytest.raises(config_lib.ConfigError, match="needs model.g_ema_half_life_images"):
        smoke_config(tmp_path, "model.g_ema_rampup=0.05")
    config = smoke_config(tmp_path, "model.g_ema_half_life_images=1000", "model.g_ema_rampup=0.05")
    assert config.model.g_ema_half_life_images == 1000


def smoke_config(tmp_path, *overrides):
    raw = yaml.safe_load(open(os.path.join(CONFIGS, "smoke", "progan.yaml")))
    return config_lib.from_dict(config_lib.apply_overrides(
        raw, [f"export.dir={tmp_path / 'exports'}", *overrides]))


@pytest.mark.heavy
def test_smoke_config_grows_4_8_16_and_exports_the_final_resolution(tmp_path):
    # float32: the export is compared with the final generator to 1e-5 below
    config = smoke_config(tmp_path, "export.all_resolutions=true", "train.mixed_precision=float32")
    stages = []

    class Stages(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            stages.append((self.model.stage, self.model.generator.resolution))

    result = train_lib.run(config, str(tmp_path / "run"), extra_callbacks=[Stages()])
    assert [s for s, _ in stages] == [0, 1, 2]
    gan = result.model
    assert gan.stage == 2 and float(gan.generator.alpha.numpy()) == 1.0
    # batch sizes 8, 8, 4 -> 2 + 4 + 8 generator steps
    assert int(gan.generator_steps.numpy()) == 14
    record = workdir_lib.read_export_record(str(tmp_path / "run"))
    z = tf.constant(np.zeros((2, 8), np.float32))
    paths = {"path": record["path"], **record["resolutions"]}
    for key, resolution in (("path", 16), ("4x4", 4), ("8x8", 8)):
        out = tf.saved_model.load(paths[key]).signatures["serving_default"](z=z)["images"]
        assert out.shape == (2, resolution, resolution, 1)
    expected = (gan.final_generator()(z).numpy() + 1) / 2
    final = tf.saved_model.load(record["path"]).signatures["serving_default"](z=z)["images"]
    np.testing.assert_allclose(final.numpy(), np.clip(expected, 0, 1), atol=1e-5)


class Interrupt(Exception):
    pass


class InterruptMidTransition(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if self.model.stage == 1:
            self.state = (float(self.model.generator.alpha.numpy()),
                          int(self.model.stage_images_seen.numpy()),
                          [w.numpy().copy() for w in self.model.generator_ema.weights])
            raise Interrupt()


class StateAtStart(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):  # after the backup was restored
        if not hasattr(self, "state"):
            self.state = (self.model.stage, float(self.model.generator.alpha.numpy()),
                          int(self.model.stage_images_seen.numpy()),
                          [w.numpy().copy() for w in self.model.generator_ema.weights])


@pytest.mark.heavy
def test_resume_in_the_middle_of_a_transition(tmp_path):
    config = smoke_config(tmp_path)
    interrupt = InterruptMidTransition()
    with pytest.raises(Interrupt):
        train_lib.run(config, str(tmp_path / "run"), extra_callbacks=[interrupt])
    alpha, seen, ema = interrupt.state
    assert 0.0 < alpha < 1.0 and seen == 16  # stopped half-way through the 8x8 fade-in
    start = StateAtStart()
    result = train_lib.run(config, str(tmp_path / "run"), extra_callbacks=[start])
    stage, restored_alpha, restored_seen, restored_ema = start.state
    assert (stage, restored_alpha, restored_seen) == (1, alpha, seen)
    for before, after in zip(ema, restored_ema):
        np.testing.assert_array_equal(before, after)
    assert result.model.stage == 2 and int(result.model.generator_steps.numpy()) == 14


class LearningRates(keras.callbacks.Callback):
    """Records (stage, d learning rate, g learning rate) as each stage's fit begins."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_begin(self, logs=None):  # after start_stage and the backup's restore
        self.seen.append((self.model.stage, float(self.model.d_optimizer.learning_rate),
                          float(self.model.g_optimizer.learning_rate)))


def test_stage_learning_rates_takes_none_a_float_or_one_per_stage():
    assert progressive.stage_learning_rates(None, 3) is None
    assert progressive.stage_learning_rates(2e-3, 3) == [2e-3, 2e-3, 2e-3]
    assert progressive.stage_learning_rates([3e-3, 3e-3, 1e-3], 3) == [3e-3, 3e-3, 1e-3]
    with pytest.raises(ValueError, match=r"needs 3 positive learning rates"):
        progressive.stage_learning_rates([3e-3, 1e-3], 3)
    with pytest.raises(ValueError, match=r"needs 2 positive learning rates"):
        progressive.stage_learning_rates([3e-3, 0.0], 2)


@pytest.mark.heavy
def test_learning_rates_follow_the_stage_and_survive_a_mid_stage_resume(tmp_path):
    config = smoke_config(tmp_path, "progan.learning_rates=[0.004, 0.002, 0.001]")
    interrupt, first = InterruptMidTransition(), LearningRates()
    with pytest.raises(Interrupt):
        train_lib.run(config, str(tmp_path / "run"), extra_callbacks=[first, interrupt])
    resumed = LearningRates()
    train_lib.run(config, str(tmp_path / "run"), extra_callbacks=[resumed])
    expected = [(0, 0.004, 0.004), (1, 0.002, 0.002), (1, 0.002, 0.002), (2, 0.001, 0.001)]
    assert [stage for stage, _, _ in first.seen + resumed.seen] == [s for s, _, _ in expected]
    np.testing.assert_allclose([rates for _, *rates in first.seen + resumed.seen],
                               [rates for _, *rates in expected], rtol=1e-6)


def test_learning_rates_refuse_an_optimizer_on_a_schedule():
    keras.utils.set_random_seed(0)
    gan = tg.ProGAN(tg.ProgressiveGenerator(8, 8, 1, fmap_base=16, fmap_max=8),
                    tg.ProgressiveDiscriminator(8, 1, fmap_base=16, fmap_max=8), seed=0)
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5)
    gan.compile(d_optimizer=keras.optimizers.Adam(schedule),
                g_optimizer=keras.optimizers.Adam(1e-3))
    with pytest.raises(ValueError, match=r"follows a schedule; compile it with a float"):
        tg.fit_progressive(gan, tg.load_examples("digits", resolution=8), stable_images=8,
                           batch_sizes=8, learning_rates=[2e-3, 1e-3], verbose=0)


@pytest.mark.heavy
def test_fit_progressive_grows_in_one_call_and_resumes_mid_stage(tmp_path):
    examples = tg.load_examples("digits", resolution=8)

    def make():
        keras.utils.set_random_seed(0)
        generator = tg.ProgressiveGenerator(8, 8, 1, fmap_base=16, fmap_max=8)
        discriminator = tg.ProgressiveDiscriminator(8, 1, fmap_base=16, fmap_max=8)
        gan = tg.ProGAN(generator, discriminator, seed=0, transition_images=16)
        gan.compile()
        return gan

    class StopMidStage(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if self.model.stage == 1 and epoch == 1:
                raise Interrupt()

    # 4x4: 16 images; 8x8: 16 fading + 16 stable; batch 8, 1 step per epoch
    schedule = dict(stable_images=16, batch_sizes=[8, 8], steps_per_epoch=1, verbose=0)
    whole = make()
    histories = tg.fit_progressive(whole, examples, **schedule)
    assert [len(h.epoch) for h in histories] == [2, 4]
    assert whole.stage == 1 and float(whole.generator.alpha.numpy()) == 1.0
    longer = make()  # a final stable phase of 32 images: two more steps at 8x8
    histories = tg.fit_progressive(longer, examples, final_stable_images=32, **schedule)
    assert [len(h.epoch) for h in histories] == [2, 6]
    assert int(longer.stage_images_seen.numpy()) == 48

    interrupted = make()
    with pytest.raises(Interrupt):
        tg.fit_progressive(interrupted, examples, backup_dir=str(tmp_path),
                           callbacks=lambda stage: [StopMidStage()], **schedule)
    assert (tmp_path / "stage_0.weights.h5").is_file() and (tmp_path / "stage_1").is_dir()
    resumed = make()
    histories = tg.fit_progressive(resumed, examples, backup_dir=str(tmp_path), **schedule)
    assert [h.epoch for h in histories] == [[2, 3]]  # only the rest of stage 1
    assert int(resumed.generator_steps.numpy()) == int(whole.generator_steps.numpy()) == 6
    for a, b in zip(whole.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
