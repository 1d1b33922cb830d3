"""PacGAN packing (Lin 2018): the layout of packs, the critic's per-pack view, configs."""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfgan_stable as tg
from helpers import CONFIGS
from tfgan_stable import config as config_lib
from tfgan_stable import train_lib
from tfgan_stable.errors import ConfigError


def linear_critic(input_dim, kernel):
    """A critic ``x -> x . kernel`` (no bias) on ``[B, input_dim]``."""
    samples = keras.Input((input_dim,))
    dense = keras.layers.Dense(1, use_bias=False)
    critic = keras.Model(samples, dense(samples))
    dense.kernel.assign(np.asarray(kernel, "float32").reshape(input_dim, 1))
    return critic


def test_images_pack_consecutive_samples_along_the_channels():
    images = np.random.default_rng(0).normal(size=(6, 3, 3, 2)).astype("float32")
    packs = keras.ops.convert_to_numpy(tg.pack_samples(images, 3))
    assert packs.shape == (2, 3, 3, 6)
    for pack in range(2):
        for member in range(3):
            np.testing.assert_array_equal(packs[pack, ..., 2 * member:2 * member + 2],
                                          images[3 * pack + member])


def test_vectors_pack_into_rows_and_pack_1_is_the_identity():
    vectors = np.arange(12, dtype="float32").reshape(6, 2)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(tg.pack_samples(vectors, 2)),
                                  vectors.reshape(3, 4))
    assert tg.pack_samples(vectors, 1) is vectors


def test_a_batch_that_does_not_split_names_the_pack():
    with pytest.raises(ValueError, match="model.pack=4.*batch of 6"):
        tg.pack_samples(np.zeros((6, 2), "float32"), 4)


def test_the_critic_sees_real_samples_in_consecutive_pairs():
    # D(pack) = first member's x - second member's x: 0 for every pack of equal
    # neighbours, so D's probability on real data is exactly sigmoid(0)
    gan = tg.DCGAN(tg.build_mlp_generator(3, 2, hidden_units=(8,)),
                   linear_critic(4, [1.0, 0.0, -1.0, 0.0]), pack=2, seed=0)
    gan.compile()
    points = np.random.default_rng(1).normal(size=(4, 2)).astype("float32")
    real = np.repeat(points, 2, axis=0)  # a, a, b, b, ...
    values = gan.evaluation_losses(tf.constant(real))
    assert float(values["d_real"]) == pytest.approx(0.5, abs=1e-7)


def test_the_gradient_penalty_takes_one_norm_per_pack():
    # a linear critic on packs of two 2-D points: the gradient of every pack is
    # the whole kernel, norm 5; per sample it would be 3 and 4
    gan = tg.WGANGP(tg.build_mlp_generator(3, 2, hidden_units=(8,)),
                    linear_critic(4, [3.0, 0.0, 0.0, 4.0]), pack=2, seed=0)
    gan.compile()
    values = gan.evaluation_losses(tf.ones((8, 2)))
    assert float(values["grad_norm"]) == pytest.approx(5.0, rel=1e-5)
    assert float(values["gp"]) == pytest.approx(16.0, rel=1e-5)


def test_fit_trains_a_packed_critic_and_the_config_round_trips():
    gan = tg.WGANGP(tg.build_mlp_generator(3, 2, hidden_units=(8,)),
                    tg.build_mlp_discriminator(4, hidden_units=(8,)), pack=2, n_critic=2,
                    seed=0)
    gan.compile()
    points = np.random.default_rng(2).normal(size=(64, 2)).astype("float32")
    data = tg.make_dataset(tf.data.Dataset.from_tensor_slices(points), 8, n_critic=2)
    history = gan.fit(data, steps_per_epoch=3, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"]).all()
    assert int(gan.d_optimizer.iterations.numpy()) == 6
    restored = tg.WGANGP.from_config(gan.get_config())
    assert restored.pack == 2


def test_a_discriminator_of_the_wrong_width_or_a_family_that_cannot_pack_is_refused():
    with pytest.raises(ValueError, match=r"pack=2 needs a discriminator that takes packs "
                                         r"of shape \[4\].*takes \[2\]"):
        tg.WGANGP(tg.build_mlp_generator(3, 2, hidden_units=(8,)),
                  tg.build_mlp_discriminator(2, hidden_units=(8,)), pack=2)
    with pytest.raises(ValueError, match="pack must be an int >= 1"):
        tg.WGANGP(tg.build_mlp_generator(3, 2, hidden_units=(8,)),
                  tg.build_mlp_discriminator(2, hidden_units=(8,)), pack=0)
    with pytest.raises(ValueError, match="BEGAN.pack=2"):
        tg.BEGAN(tg.build_began_generator(4, 8, 1, filters=4),
                 tg.build_began_discriminator(8, 1, filters=4, bottleneck=4), pack=2)


@pytest.mark.parametrize("override, message", [
    ("model.pack=0", "model.pack must be an int >= 1"),
    ("model.pack=3", "model.pack=3 must divide the batch size, got train.batch_size=64"),
])
def test_config_checks_model_pack(override, message):
    with pytest.raises(ConfigError, match=message):
        config_lib.load(os.path.join(CONFIGS, "wgan_gp_digits.yaml"), [override])


def test_config_refuses_packing_for_began():
    with pytest.raises(ConfigError, match="model.pack=2 .*model.family='began'"):
        config_lib.load(os.path.join(CONFIGS, "began_digits.yaml"), ["model.pack=2"])


@pytest.mark.slow
def test_a_packed_config_trains_images_with_a_critic_of_twice_the_channels():
    config = config_lib.load(os.path.join(CONFIGS, "smoke", "wgan_gp.yaml"),
                             ["model.pack=2", "export.enabled=false"])
    result = train_lib.run(config, tempfile.mkdtemp())
    sample_channels = result.model.sample_shape[-1]
    assert result.model.discriminator.input_shape[-1] == 2 * sample_channels
    assert result.model.pack == 2
