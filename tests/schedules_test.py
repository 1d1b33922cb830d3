"""Schedules against literal tables: WGAN's warm-up, the generator average's half-life."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_stable import schedules


def test_wgan_critic_iterations_table():
    expected = {0: 100, 1: 100, 24: 100, 25: 5, 26: 5, 499: 5, 500: 100, 501: 5, 1000: 100}
    for step, iterations in expected.items():
        assert schedules.wgan_critic_iterations(step, 5) == iterations
        tensor = schedules.wgan_critic_iterations(tf.constant(step, tf.int64), 5)
        assert int(np.asarray(tensor)) == iterations


def test_wgan_train_steps_counts_rounds_of_n_critic():
    # 3 generator steps all in warm-up: ceil(100 / 5) = 20 train steps each.
    assert schedules.wgan_train_steps(3, 5) == 60
    # 27 steps: 25 warm-up (500) + 2 normal (2).
    assert schedules.wgan_train_steps(27, 5) == 502
    # 100 critic steps in rounds of 3: ceil(100/3) = 34.
    assert schedules.wgan_train_steps(1, 3) == 34


def test_ema_decay_half_life_table():
    # (batch, images seen, half-life, ramp-up) -> 0.5 ** (batch / min(half-life, ramp-up x images))
    table = [
        ((32, 0, 10_000, 0.05), 0.0),  # a new average restarts at the weights
        ((32, 100_000, 10_000, 0.05), 0.9955736831881946),  # ramping: h = 5,000
        ((32, 1_000_000, 10_000, 0.05), 0.9977843871238888),  # full half-life
        ((32, 0, 10_000, None), 0.9977843871238888),  # no ramp-up
        ((64, 20_000, 10_000, 0.05), 0.9566081580918743),  # h = 1,000
        ((16, 10_000, 1_000, None), 0.9889709163809315),
    ]
    for (batch, images, half_life, rampup), expected in table:
        assert schedules.ema_decay(batch, images, half_life, rampup) == \
            pytest.approx(expected, abs=1e-12)
        tensor = schedules.ema_decay(tf.constant(batch, tf.int64), tf.constant(images, tf.int64),
                                     half_life, rampup)
        assert float(np.asarray(tensor)) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("decay, half_life, rampup, message", [
    (1.0, None, None, r"g_ema_decay must be in \(0, 1\)"),
    (0.99, 1000, None, "not both"),
    (None, 0, None, "g_ema_half_life_images must be > 0"),
    (None, None, 0.05, "GAN.g_ema_rampup needs GAN.g_ema_half_life_images"),
    (None, 1000, -1.0, "g_ema_rampup must be > 0"),
])
def test_ema_settings_are_checked(decay, half_life, rampup, message):
    with pytest.raises(ValueError, match=message):
        schedules.check_ema(decay, half_life, rampup)
