"""A few train steps of every registered family on tiny networks (in make test-fast)."""

import numpy as np
import pytest

import tfgan_stable as tg
from helpers import tiny_gan
from tfgan_stable import families as family_lib


@pytest.mark.parametrize("family", family_lib.names())
def test_train_steps_update_both_networks_and_log_finite_losses(family):
    gan = tiny_gan(family)
    real = np.random.default_rng(0).uniform(-1, 1, (8, gan.n_critic, 8, 8, 1))
    real = real.astype("float32")[:, 0] if gan.n_critic == 1 else real.astype("float32")
    before = [w.copy() for w in (gan.generator.get_weights() + gan.discriminator.get_weights())]
    for _ in range(2):
        logs = gan.train_on_batch(real, return_dict=True)
    assert int(gan.generator_steps.numpy()) == 2 and int(gan.train_steps.numpy()) == 2
    assert {"d_loss", "g_loss"} <= set(logs) and all(np.isfinite(v) for v in logs.values())
    after = gan.generator.get_weights() + gan.discriminator.get_weights()
    changed = [not np.array_equal(a, b) for a, b in zip(before, after)]
    assert any(changed[:len(gan.generator.get_weights())]), "the generator did not train"
    assert any(changed[len(gan.generator.get_weights()):]), "the discriminator did not train"
    assert tg.GAN in type(gan).__mro__
