"""The WGAN-GP gradient penalty: alpha range, golden value, finite at zero gradient."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_stable import penalties


def linear_critic(dim, weights):
    inputs = keras.Input((dim,))
    dense = keras.layers.Dense(1, use_bias=True)
    model = keras.Model(inputs, dense(inputs))
    dense.kernel.assign(np.asarray(weights, np.float32).reshape(dim, 1))
    return model


def test_alpha_is_uniform_per_example_and_interpolates_on_the_segment():
    real = tf.zeros((4096, 3, 3, 1))
    fake = tf.ones((4096, 3, 3, 1))
    interpolates, alpha = penalties.random_interpolates(real, fake, seed=3)
    alpha = alpha.numpy()
    assert alpha.shape == (4096, 1, 1, 1)
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    # U[0, 1]: mean 1/2, variance 1/12 (a normal draw, keras.io's bug, fails both).
    assert alpha.mean() == pytest.approx(0.5, abs=0.03)
    assert alpha.var() == pytest.approx(1 / 12, abs=0.01)
    # each example is one point between its real and fake sample
    np.testing.assert_allclose(interpolates.numpy(), np.broadcast_to(alpha, (4096, 3, 3, 1)))


def test_penalty_golden_value_for_a_linear_critic():
    # f(x) = w.x + b has gradient w everywhere: penalty = (|w| - 1)^2 = (5 - 1)^2.
    critic = linear_critic(2, [3.0, 4.0])
    real = tf.random.normal((8, 2), seed=1)
    fake = tf.random.normal((8, 2), seed=2)
    penalty, norm = penalties.gradient_penalty(critic, real, fake, seed=0)
    assert float(norm) == pytest.approx(5.0, rel=1e-5)
    assert float(penalty) == pytest.approx(16.0, rel=1e-5)


def test_zero_gradient_gives_finite_penalty_gradients():
    critic = linear_critic(2, [0.0, 0.0])  # flat critic: grad_x f = 0
    real = tf.random.normal((8, 2), seed=1)
    fake = tf.random.normal((8, 2), seed=2)
    with tf.GradientTape() as tape:
        penalty, _ = penalties.gradient_penalty(critic, real, fake, seed=0)
    grads = tape.gradient(penalty, critic.trainable_variables)
    assert float(penalty) == pytest.approx(1.0, abs=1e-4)
    for grad in grads:
        assert grad is None or np.all(np.isfinite(grad.numpy()))
    kernel_grad = grads[0].numpy()
    assert np.all(np.isfinite(kernel_grad))
