"""Mixed precision: float16 / bfloat16 compute, float32 variables, losses and penalties."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import gans_test
import tfgan_stable as tg
from tfgan_stable import distribute, registry
from tfgan_stable.fast import small_conv
from tfgan_stable import families as family_lib

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


def test_auto_precision_is_announced_recorded_and_kept_on_resume(tmp_path, monkeypatch, capsys):
    import json
    import os

    import tensorflow as tf
    import yaml

    from helpers import CONFIGS, run_python
    from tfgan_stable import config as config_lib
    from tfgan_stable import hardware, train_lib

    raw = config_lib.apply_overrides(
        yaml.safe_load(open(os.path.join(CONFIGS, "smoke", "wgan_gp.yaml"))),
        [f"export.dir={tmp_path / 'exports'}", "train.steps=2"])
    config = config_lib.from_dict(raw)
    assert config.train.mixed_precision == "auto"  # the default
    monkeypatch.setattr(hardware, "auto_precision",
                        lambda strategy=None: ("mixed_bfloat16", "the CPU has AMX_BF16"))
    workdir = tmp_path / "run"
    result = train_lib.run(config, str(workdir))
    out = capsys.readouterr().out
    assert "train.mixed_precision=auto: mixed_bfloat16 (the CPU has AMX_BF16)" in out
    assert {layer.compute_dtype for layer in result.model.generator.layers
            if layer.weights} == {"bfloat16"}
    stored = yaml.safe_load(open(workdir / "config.yaml"))
    assert stored["train"]["mixed_precision"] == "mixed_bfloat16"
    with open(os.path.join(result.export_path, "tfgan_stable.json")) as f:
        assert json.load(f)["mixed_precision"] == "mixed_bfloat16"

    # The export serves float32 in and out, in a fresh process.
    code = (f"import tensorflow as tf, numpy as np\n"
            f"m = tf.saved_model.load({result.export_path!r})\n"
            "f = m.signatures['serving_default']\n"
            "print('IN', f.structured_input_signature[1]['z'].dtype.name)\n"
            "out = f(z=tf.zeros([2, 8]))\n"
            "print('OUT', sorted((k, v.dtype.name) for k, v in out.items()))\n")
    served = run_python(code)
    assert served.returncode == 0, served.stderr[-2000:]
    assert "IN float32" in served.stdout
    assert "OUT [('images', 'float32')]" in served.stdout

    # Resumed on a machine that would choose float32: the run keeps bfloat16.
    monkeypatch.setattr(hardware, "auto_precision",
                        lambda strategy=None: ("float32", "no bfloat16 here"))
    more = config_lib.from_dict(config_lib.apply_overrides(raw, ["train.steps=4"]))
    resumed = train_lib.run(more, str(workdir))
    out = capsys.readouterr().out
    assert f"mixed_bfloat16 (the precision the run in {workdir} started with)" in out
    assert resumed.resumed and int(resumed.model.generator_steps.numpy()) == 4
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    del tf


def test_the_matrix_filter_gradient_trains_as_keras_convolutions_in_bfloat16(tiny_images,
                                                                             monkeypatch):
    # WGAN-GP's networks with and without the matrix filter gradient, one real fit
    # step each from the same weights: the updates differ by bfloat16 rounding only.
    traced = []  # kernel shapes whose gradient fit traced as matrix products
    original = small_conv.filter_gradient
    monkeypatch.setattr(small_conv, "filter_gradient", lambda inputs, gradient, shape, *args: (
        traced.append(tuple(shape)) or original(inputs, gradient, shape, *args)))
    updates, taken, uses = {}, {}, {}
    for matrix_filter_gradient in (True, False):
        traced.clear()
        with distribute.mixed_precision("mixed_bfloat16"):
            keras.utils.set_random_seed(0)
            generator = tg.build_dcgan_generator(4, 8, 1, filters=4, fast_layers="on")
            critic = tg.build_dcgan_discriminator(8, 1, filters=4, normalization="layer",
                                                  fast_layers="on")
            convolutions = [layer for layer in generator.layers + critic.layers
                            if isinstance(layer, (small_conv.Conv2D, small_conv.Conv2DTranspose))]
            for layer in convolutions:  # WGAN-GP's setting (the GAN sets it too)
                layer.matrix_path = False
                layer.matrix_filter_gradient = matrix_filter_gradient
            taken[matrix_filter_gradient] = {
                layer.name for layer in convolutions if layer.takes_matrix_filter_gradient(
                    tf.zeros((1, *layer.input.shape[1:]), tf.bfloat16))}
            gan = registry.get_gan_class("wgan_gp")(generator, critic, seed=0)
            gan.compile()
            before = [v.numpy().copy() for v in gan.trainable_variables]
            gan.fit(gans_test.dataset(tiny_images, gan.n_critic), steps_per_epoch=1, epochs=1,
                    verbose=0)
            updates[matrix_filter_gradient] = [v.numpy() - b for v, b in
                                               zip(gan.trainable_variables, before)]
            uses[matrix_filter_gradient] = set(traced)
    assert {"up0", "down0"} <= taken[True] and not taken[False]
    kernels = {tuple(generator.get_layer("up0").kernel.shape),
               tuple(critic.get_layer("down0").kernel.shape)}
    assert kernels <= uses[True] and not uses[False]
    for ours, theirs in zip(updates[True], updates[False]):
        assert np.linalg.norm(ours - theirs) <= 0.05 * np.linalg.norm(theirs)
