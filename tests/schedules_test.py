"""WGAN's warm-up schedule against literal tables."""

import numpy as np
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
