"""Mixed precision: float16 / bfloat16 compute, float32 variables, losses and penalties."""

import keras
import numpy as np
import pytest

import gans_test
from tfgan_stable import distribute
from tfgan_stable.gans import family as family_lib

pytestmark = pytest.mark.slow  # trains, or runs the binaries

FAMILIES = family_lib.names()


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("family", FAMILIES)
def test_mixed_policy_trains_finite_with_float32_variables(family, policy, tiny_images):
    compute = policy.split("_")[1]
    with distribute.mixed_precision(policy):
        gan = gans_test.build(family, g_ema_decay=0.9)
        for network in (gan.generator, gan.discriminator):
            compute_dtypes = {layer.compute_dtype for layer in network._flatten_layers()
                              if layer.weights}
            assert compute in compute_dtypes, (network.name, compute_dtypes)
        history = gan.fit(gans_test.dataset(tiny_images, gan.n_critic), steps_per_epoch=2,
                          epochs=1, verbose=0)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    for name, values in history.history.items():
        assert np.all(np.isfinite(values)), name
        assert np.asarray(values).dtype != np.float16, name
    float_weights = [w for w in gan.weights if "float" in keras.backend.standardize_dtype(w.dtype)]
    assert float_weights
    assert {keras.backend.standardize_dtype(w.dtype) for w in float_weights} == {"float32"}
    scaled = isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")
    assert int(gan.generator_steps.numpy()) == 2


def test_gradient_penalty_is_float32_under_float16(tiny_images):
    from tfgan_stable import penalties

    with distribute.mixed_precision("mixed_float16"):
        gan = gans_test.build("wgan_gp")
        fake = gan.generator(np.zeros((16, gan.latent_dim), "float32"))
        penalty, norm = penalties.gradient_penalty(gan.discriminator, tiny_images, fake, seed=0)
    assert penalty.dtype == "float32" and norm.dtype == "float32"
    assert np.isfinite(penalty.numpy()) and norm.numpy() > 0
