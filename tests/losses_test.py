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


def test_hinge_losses_golden():
    # relu(1 - real) = [0, 3, .5, 0] -> .875; relu(1 + fake) = [0, 1, 3, .5] -> 1.125
    assert float(losses.hinge_discriminator_loss(REAL, FAKE)) == pytest.approx(2.0)
    assert float(losses.hinge_generator_loss(FAKE)) == pytest.approx(-0.125)


def test_rpgan_losses_golden():
    # real - fake = [2, -2, -1.5, 3.5]; softplus of its negation, mean:
    # [.126928, 2.126928, 1.701413, .029750] -> .996255
    assert float(losses.rpgan_discriminator_loss(REAL, FAKE)) == pytest.approx(0.996255, abs=1e-5)
    # the generator's side: softplus(real - fake) -> 1.496255
    assert float(losses.rpgan_generator_loss(FAKE, REAL)) == pytest.approx(1.496255, abs=1e-5)
    # only differences count: shifting every output changes nothing
    assert float(losses.rpgan_discriminator_loss(REAL + 7, FAKE + 7)) == pytest.approx(
        0.996255, abs=1e-5)


def test_critic_losses_are_named():
    assert sorted(losses.CRITIC_LOSSES) == ["hinge", "nonsaturating", "rpgan"]
    assert losses.check_loss("hinge") == "hinge"
    with pytest.raises(ValueError, match=r"loss must be one of .*Received: loss='wasserstein'"):
        losses.check_loss("wasserstein")
