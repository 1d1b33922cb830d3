"""Golden values for the loss functions on 4-element tensors."""

import numpy as np
import pytest

from tfgan_stable import losses

REAL = np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32)
FAKE = np.array([[-1.0], [0.0], [2.0], [-0.5]], np.float32)


def softplus(x):
    return np.log1p(np.exp(x))


def test_dcgan_discriminator_loss_golden():
    # mean(softplus(-real)) + mean(softplus(fake)), computed by hand:
    # softplus(-[1,-2,.5,3]) = [.31326, 2.12693, .47408, .04859] -> mean .740714
    # softplus([-1,0,2,-.5]) = [.31326, .69315, 2.12693, .47408] -> mean .901855
    got = float(losses.dcgan_discriminator_loss(REAL, FAKE))
    assert got == pytest.approx(0.740714 + 0.901855, abs=1e-5)
    assert got == pytest.approx(softplus(-REAL).mean() + softplus(FAKE).mean(), rel=1e-6)


def test_dcgan_generator_loss_is_non_saturating():
    # -log(sigmoid(fake)) = softplus(-fake): [1.31326, .69315, .12693, .97408] -> .776856
    assert float(losses.dcgan_generator_loss(FAKE)) == pytest.approx(0.776856, abs=1e-5)
    # The gradient does not vanish for a confidently rejected fake (logit -10).
    import tensorflow as tf

    x = tf.constant([[-10.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = losses.dcgan_generator_loss(x)
    assert abs(float(tape.gradient(loss, x)[0, 0])) > 0.99


def test_wasserstein_losses_golden():
    # mean(real) = 0.625, mean(fake) = 0.125
    assert float(losses.wasserstein_critic_loss(REAL, FAKE)) == pytest.approx(-0.5)
    assert float(losses.wasserstein_generator_loss(FAKE)) == pytest.approx(-0.125)
    assert float(losses.wasserstein_estimate(REAL, FAKE)) == pytest.approx(0.5)
