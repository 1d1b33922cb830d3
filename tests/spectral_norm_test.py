"""SpectralNorm: sigma, the reparametrised gradient, u's updates, dtypes, saving, replicas."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import run_python
from tfgan_stable.fast import small_conv
from tfgan_stable.networks import (
    SpectralNorm,
    build_dcgan_discriminator,
    build_mlp_discriminator,
    spectral_norm_layers,
)

# kind -> (a fresh inner layer, input shape, whether the kernel's output axis is -2)
KINDS = {
    "dense": (lambda: keras.layers.Dense(3), (2, 5), False),
    "conv2d": (lambda: keras.layers.Conv2D(4, 3, padding="same"), (2, 5, 5, 2), False),
    "conv2d_transpose": (lambda: keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same"),
                         (2, 3, 3, 2), True),
    # small maps, so that the library's layers take their matrix-product path
    "fast_conv2d": (lambda: small_conv.Conv2D(16, 2, padding="same"), (2, 2, 2, 3), False),
    "fast_conv2d_transpose": (
        lambda: small_conv.Conv2DTranspose(3, 2, strides=2, padding="same"), (2, 1, 1, 16), True),
}


def built(kind, seed=0, **kwargs):
    """``(SpectralNorm layer, inner layer, inputs)`` for ``kind``, built."""
    make, shape, _ = KINDS[kind]
    keras.utils.set_random_seed(seed)
    inner = make()
    layer = SpectralNorm(inner, **kwargs)
    layer.build(shape)
    inputs = np.random.default_rng(seed).normal(size=shape).astype("float32")
    return layer, inner, inputs


def matrix(kernel, transposed):
    """The kernel as ``[rows, out]``, out the output channels."""
    kernel = np.moveaxis(kernel, -2, -1) if transposed else kernel
    return kernel.reshape(-1, kernel.shape[-1]).astype("float64")


def numpy_sigma(layer, transposed):
    """``||M u||`` from the layer's stored u, in float64."""
    return float(np.linalg.norm(matrix(layer.layer.kernel.numpy(), transposed)
                                @ layer.u.numpy().astype("float64")))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_sigma_converges_to_the_largest_singular_value(kind):
    layer, inner, _ = built(kind, power_iterations=5)
    for _ in range(60):
        layer.update_u()
    transposed = KINDS[kind][2]
    kernel = inner.kernel.numpy()
    largest = np.linalg.svd(matrix(kernel, transposed), compute_uv=False)[0]
    assert abs(float(layer.sigma()) - largest) / largest < 1e-3
    if transposed:  # the test tells the output axis from the input one
        wrong = np.linalg.svd(matrix(kernel, False), compute_uv=False)[0]
        assert abs(wrong - largest) / largest > 1e-2


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_output_is_the_inner_layer_with_kernel_over_sigma(kind):
    layer, inner, inputs = built(kind)
    layer.update_u()
    if kind.startswith("fast"):
        assert inner.takes_matrix_path(tf.constant(inputs))
    outputs = layer(inputs, training=False).numpy()
    sigma = numpy_sigma(layer, KINDS[kind][2])
    reference = type(inner).from_config(inner.get_config())
    reference.build(inputs.shape)
    kernel, bias = inner.get_weights()
    reference.set_weights([kernel / sigma, bias])
    np.testing.assert_allclose(outputs, reference(inputs).numpy(), rtol=1e-5, atol=1e-6)
    unnormalized = inner(inputs).numpy()  # sigma is far enough from 1 to tell them apart
    assert np.abs(unnormalized - outputs).max() > 1e-2


def test_gradient_is_that_of_kernel_over_sigma_of_kernel():
    layer, inner, inputs = built("dense", seed=1)
    layer.update_u()
    rng = np.random.default_rng(2)
    weights = rng.normal(size=(2, 3))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(weights.astype("float32") * tf.tanh(layer(inputs)))
    gradient = tape.gradient(loss, inner.kernel).numpy().astype("float64")

    kernel, bias = (w.astype("float64") for w in inner.get_weights())
    u, x = layer.u.numpy().astype("float64"), inputs.astype("float64")

    def loss_of(k):
        return np.sum(weights * np.tanh(x @ (k / np.linalg.norm(k @ u)) + bias))

    eps = 1e-6
    finite_difference = np.zeros_like(kernel)
    for index in np.ndindex(kernel.shape):
        step = np.zeros_like(kernel)
        step[index] = eps
        finite_difference[index] = (loss_of(kernel + step) - loss_of(kernel - step)) / (2 * eps)
    scale = np.abs(finite_difference).max()
    np.testing.assert_allclose(gradient, finite_difference, atol=1e-4 * scale)

    # With sigma held constant (Keras' stop_gradient) the gradient is visibly another.
    sigma = np.linalg.norm(kernel @ u)
    outputs = x @ (kernel / sigma) + bias
    stopped = x.T @ (weights * (1 - np.tanh(outputs) ** 2)) / sigma
    assert np.abs(stopped - finite_difference).max() > 100 * 1e-4 * scale


def test_u_is_a_float32_unit_vector_over_the_output_channels():
    for kind, (_, _, transposed) in KINDS.items():
        layer, inner, _ = built(kind)
        outputs = inner.kernel.shape[-2 if transposed else -1]
        assert tuple(layer.u.shape) == (outputs,), kind
        assert layer.u.dtype == "float32" and not layer.u.trainable
        assert layer.u.aggregation == "only_first_replica"
        assert float(np.linalg.norm(layer.u.numpy())) == pytest.approx(1.0, abs=1e-6)
        assert [w.path for w in layer.non_trainable_weights] == [layer.u.path]


def test_nothing_is_written_to_the_kernel_and_u_moves_only_when_asked():
    layer, inner, inputs = built("conv2d", update_in_call=False)
    kernel, u = inner.kernel.numpy(), layer.u.numpy()
    variable = inner.kernel
    for _ in range(2):  # a critic scoring reals and fakes: two training calls
        layer(inputs, training=True)
    assert inner.kernel is variable and isinstance(inner.kernel, keras.Variable)
    np.testing.assert_array_equal(inner.kernel.numpy(), kernel)
    np.testing.assert_array_equal(layer.u.numpy(), u)
    layer.update_u()
    assert np.abs(layer.u.numpy() - u).max() > 1e-4
    np.testing.assert_array_equal(inner.kernel.numpy(), kernel)

    layer, inner, inputs = built("dense")  # update_in_call=True
    kernel, u = inner.kernel.numpy(), layer.u.numpy()
    layer(inputs, training=False)
    layer(inputs)
    np.testing.assert_array_equal(layer.u.numpy(), u)
    layer(inputs, training=True)
    assert np.abs(layer.u.numpy() - u).max() > 1e-4
    np.testing.assert_array_equal(inner.kernel.numpy(), kernel)
    assert inner._kernel is inner.kernel and isinstance(inner._kernel, keras.Variable)


def test_the_kernel_variable_is_restored_when_the_inner_call_fails():
    layer, inner, _ = built("dense")
    with pytest.raises(ValueError):
        layer(np.zeros((2, 7), "float32"))  # the Dense expects 5 features
    assert isinstance(inner._kernel, keras.Variable) and inner.kernel is inner._kernel


def test_update_and_call_trace_in_a_tf_function():
    layer, inner, inputs = built("conv2d_transpose", update_in_call=False, power_iterations=2)
    eager = built("conv2d_transpose", update_in_call=False, power_iterations=2)[0]
    eager.set_weights(layer.get_weights())

    @tf.function
    def step(x):
        layer.update_u()
        return layer(x, training=True)

    traced = step(inputs).numpy()
    eager.update_u()
    np.testing.assert_allclose(traced, eager(inputs, training=True).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.u.numpy(), eager.u.numpy(), rtol=1e-6, atol=1e-7)


def test_a_zero_kernel_gives_no_nan():
    inner = keras.layers.Dense(3, kernel_initializer="zeros", bias_initializer="ones")
    layer = SpectralNorm(inner)
    layer.build((None, 4))
    u = layer.u.numpy()
    inputs = np.ones((2, 4), "float32")
    with tf.GradientTape() as tape:
        outputs = layer(inputs, training=True)
        total = tf.reduce_sum(outputs)
    gradient = tape.gradient(total, inner.kernel).numpy()
    np.testing.assert_array_equal(outputs.numpy(), np.ones((2, 3)))
    assert np.isfinite(layer.u.numpy()).all()
    np.testing.assert_allclose(gradient, np.full((4, 3), 2.0))  # as the bare Dense's
    np.testing.assert_array_equal(layer.u.numpy(), u)  # kept, still of unit length
    assert float(np.linalg.norm(u)) == pytest.approx(1.0, abs=1e-6)


class SigmaProbe(keras.layers.Layer):
    """Returns a SpectralNorm's sigma from inside a call (under its autocast scope)."""

    def __init__(self, wrapped, **kwargs):
        super().__init__(**kwargs)
        self.wrapped = wrapped

    def call(self, inputs):
        return self.wrapped.sigma() + 0.0 * tf.reduce_sum(tf.cast(inputs, "float32"))


@pytest.mark.parametrize("kind", ["dense", "conv2d"])
def test_mixed_bfloat16_keeps_u_and_sigma_in_float32(kind):
    reference, _, inputs = built(kind)
    try:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        layer, inner, _ = built(kind)
        probe = SigmaProbe(layer)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert inner.compute_dtype == "bfloat16" and layer.compute_dtype == "bfloat16"
    layer.set_weights(reference.get_weights())
    sigma = numpy_sigma(reference, KINDS[kind][2])
    in_call = probe(inputs)
    assert in_call.dtype == tf.float32
    assert abs(float(in_call) - sigma) / sigma < 1e-6  # a bfloat16 kernel is ~1e-3 off

    outputs = layer(inputs, training=True)  # updates u inside the layer's autocast scope
    expected = reference(inputs, training=True)
    assert outputs.dtype == tf.bfloat16 and np.isfinite(outputs.numpy()).all()
    assert layer.u.dtype == "float32" and layer.u.value.dtype == tf.float32
    np.testing.assert_allclose(layer.u.numpy(), reference.u.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs.numpy().astype("float32"), expected.numpy(),
                               rtol=3e-2, atol=3e-2)
    assert abs(float(layer.sigma()) - float(reference.sigma())) / sigma < 1e-6


def small_model():
    keras.utils.set_random_seed(4)
    images = keras.Input((6, 6, 2))
    x = SpectralNorm(keras.layers.Conv2D(3, 3, name="conv"), power_iterations=2,
                     update_in_call=False, name="conv_sn")(images)
    x = keras.layers.Flatten()(x)
    score = SpectralNorm(keras.layers.Dense(1, name="score"), name="score_sn")(x)
    return keras.Model(images, score)


def test_keras_file_round_trip_keeps_u_and_the_options(tmp_path):
    model = small_model()
    for layer in spectral_norm_layers(model):
        for _ in range(3):
            layer.update_u()
    inputs = np.random.default_rng(5).normal(size=(2, 6, 6, 2)).astype("float32")
    path = str(tmp_path / "critic.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(inputs).numpy(), model(inputs).numpy(), rtol=1e-6)
    before, after = spectral_norm_layers(model), spectral_norm_layers(loaded)
    assert [layer.name for layer in after] == ["conv_sn", "score_sn"]
    for old, new in zip(before, after):
        np.testing.assert_array_equal(new.u.numpy(), old.u.numpy())
        assert (new.power_iterations, new.update_in_call) == (old.power_iterations,
                                                              old.update_in_call)
    assert (after[0].power_iterations, after[0].update_in_call) == (2, False)
    fresh = small_model()  # a freshly initialised u differs: the check above can fail
    assert np.abs(spectral_norm_layers(fresh)[0].u.numpy() - before[0].u.numpy()).max() > 1e-4


def test_config_round_trip_and_output_shape():
    layer = SpectralNorm(keras.layers.Conv2DTranspose(5, 3, strides=2), power_iterations=3,
                         update_in_call=False, name="up_sn")
    config = layer.get_config()
    assert config["power_iterations"] == 3 and config["update_in_call"] is False
    copy = SpectralNorm.from_config(config)
    assert (copy.power_iterations, copy.update_in_call, copy.name) == (3, False, "up_sn")
    assert isinstance(copy.layer, keras.layers.Conv2DTranspose) and copy.layer.filters == 5
    assert tuple(layer.compute_output_shape((None, 4, 4, 2))) == (None, 9, 9, 5)


@pytest.mark.parametrize("kwargs, words", [
    (dict(power_iterations=0), r"power_iterations must be >= 1. Received: power_iterations=0"),
    (dict(power_iterations=1.5), r"power_iterations must be an int >= 1. .*=1.5"),
    (dict(power_iterations=True), r"power_iterations must be an int >= 1"),
    (dict(update_in_call="yes"), r"update_in_call must be True or False. .*='yes'"),
])
def test_bad_arguments_are_named(kwargs, words):
    with pytest.raises(ValueError, match=words):
        SpectralNorm(keras.layers.Dense(2), **kwargs)


def test_a_layer_without_a_kernel_is_refused_by_name():
    with pytest.raises(ValueError, match=r"layer must have a kernel.*'my_relu' \(ReLU\)"):
        SpectralNorm(keras.layers.ReLU(name="my_relu"))(np.zeros((1, 3), "float32"))
    norm = keras.layers.LayerNormalization(name="my_norm")
    norm.build((None, 3))
    with pytest.raises(ValueError, match=r"'my_norm' \(LayerNormalization\)"):
        SpectralNorm(norm)
    with pytest.raises(ValueError):
        SpectralNorm("dense")


def test_spectral_norm_layers_recurses_into_nested_models_in_order():
    inner_input = keras.Input((4,))
    block = keras.Model(inner_input, SpectralNorm(keras.layers.Dense(4), name="b_sn")(
        SpectralNorm(keras.layers.Dense(4), name="a_sn")(inner_input)), name="block")
    x = keras.Input((4,))
    y = SpectralNorm(keras.layers.Dense(1), name="c_sn")(block(keras.layers.Dense(4)(x)))
    model = keras.Model(x, y)
    names = [layer.name for layer in spectral_norm_layers(model)]
    assert names == ["a_sn", "b_sn", "c_sn"]
    assert names == [layer.name for layer in spectral_norm_layers(model)]
    assert spectral_norm_layers(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])) == []


def wrapped_layers(model):
    """``(inner layers with a kernel, the SpectralNorm layers)`` of ``model``."""
    kernels = [layer for layer in model._flatten_layers(include_self=False)
               if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    return kernels, spectral_norm_layers(model)


def test_dcgan_discriminator_spectral_norm_wraps_every_convolution_and_the_score():
    model = build_dcgan_discriminator(8, 1, filters=4, normalization="none", spectral_norm=True)
    kernels, wrappers = wrapped_layers(model)
    assert [layer.name for layer in kernels] == ["down0", "score"]  # 8x8: one halving
    assert [w.layer for w in wrappers] == kernels
    assert [w.name for w in wrappers] == ["down0_sn", "score_sn"]
    score = model.get_layer("score_sn")
    assert score.compute_dtype == "float32" and score.layer.compute_dtype == "float32"
    assert model(np.zeros((2, 8, 8, 1), "float32")).shape == (2, 1)
    features = build_dcgan_discriminator(4, 1, filters=4, normalization="none",
                                         spectral_norm=True)
    assert sorted(w.name for w in spectral_norm_layers(features)) == ["features_sn", "score_sn"]

    plain = build_dcgan_discriminator(8, 1, filters=4, normalization="none")
    kernels, wrappers = wrapped_layers(plain)
    assert [layer.name for layer in kernels] == ["down0", "score"] and wrappers == []
    with pytest.raises(ValueError, match="spectral_norm must be True or False"):
        build_dcgan_discriminator(8, 1, filters=4, spectral_norm="yes")


def test_mlp_discriminator_spectral_norm_wraps_every_dense_layer():
    model = build_mlp_discriminator(2, hidden_units=(8, 8), spectral_norm=True)
    kernels, wrappers = wrapped_layers(model)
    assert [layer.name for layer in kernels] == ["hidden0", "hidden1", "score"]
    assert [w.name for w in wrappers] == ["hidden0_sn", "hidden1_sn", "score_sn"]
    assert [w.layer for w in wrappers] == kernels
    assert model(np.zeros((3, 2), "float32")).shape == (3, 1)
    assert spectral_norm_layers(build_mlp_discriminator(2, hidden_units=(8, 8))) == []


MIRRORED = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import json, keras, numpy as np
from tfgan_stable.networks.spectral_norm import SpectralNorm


def make(update_in_call):
    keras.utils.set_random_seed(3)
    layer = SpectralNorm(keras.layers.Conv2D(4, 3, padding="same"), power_iterations=2,
                         update_in_call=update_in_call)
    layer.build((None, 6, 6, 2))
    return layer


strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
x = np.random.default_rng(0).normal(size=(4, 6, 6, 2)).astype("float32")
batch = next(iter(strategy.experimental_distribute_dataset(
    tf.data.Dataset.from_tensor_slices(x).batch(4))))
report = {}
for update_in_call in (False, True):
    with strategy.scope():
        layer = make(update_in_call)
    single = make(update_in_call)
    single.set_weights(layer.get_weights())
    u0 = single.u.numpy()

    @tf.function
    def step(inputs):
        def replica_step(images):
            if not update_in_call:
                layer.update_u()
            return layer(images, training=True)
        return strategy.run(replica_step, args=(inputs,))

    outputs = strategy.experimental_local_results(step(batch))
    if not update_in_call:
        single.update_u()
    expected = single(x, training=True).numpy()
    replica_u = [v.numpy() for v in strategy.experimental_local_results(layer.u.value)]
    report[str(update_in_call)] = dict(
        replicas=len(replica_u),
        aggregation=str(layer.u.value.aggregation),
        u_between=float(np.abs(replica_u[0] - replica_u[1]).max()),
        u_to_single=max(float(np.abs(u - single.u.numpy()).max()) for u in replica_u),
        u_moved=float(np.abs(single.u.numpy() - u0).max()),
        outputs_to_single=float(np.abs(np.concatenate([o.numpy() for o in outputs])
                                       - expected).max()))
print("REPORT", json.dumps(report))
"""


@pytest.mark.slow
def test_two_replicas_hold_the_same_u_as_one_device():
    result = run_python(MIRRORED)
    assert result.returncode == 0, result.stderr[-3000:]
    line = [line for line in result.stdout.splitlines() if line.startswith("REPORT ")][-1]
    report = json.loads(line[len("REPORT "):])
    for update_in_call, values in report.items():
        assert values["replicas"] == 2, update_in_call
        # equal values alone would pass under aggregation "none" too: replicas agree here
        assert values["aggregation"].endswith("ONLY_FIRST_REPLICA"), values
        assert values["u_moved"] > 1e-4, values
        assert values["u_between"] == 0.0, values
        assert values["u_to_single"] < 1e-6, values
        assert values["outputs_to_single"] < 1e-5, values


@pytest.mark.parametrize("direction", ["to_keras", "to_fast"])
def test_fast_layer_swaps_go_inside_the_wrappers(direction):
    """with_keras_layers (exports) and with_fast_layers swap the layer a SpectralNorm wraps."""
    import tfgan_stable as tg
    from tfgan_stable.fast import small_conv

    fast = "on" if direction == "to_keras" else "off"
    critic = tg.build_dcgan_discriminator(8, 1, filters=4, normalization="none",
                                          spectral_norm=True, fast_layers=fast)
    swapped = (tg.with_keras_layers(critic) if direction == "to_keras"
               else tg.with_fast_layers(critic))
    inner = [layer.layer for layer in spectral_norm_layers(swapped)]
    convs = [layer for layer in inner if isinstance(layer, keras.layers.Conv2D)]
    assert convs and all(isinstance(c, small_conv.Conv2D) == (direction == "to_fast")
                         for c in convs)
    x = np.random.default_rng(0).uniform(-1, 1, (3, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(swapped(x)), np.asarray(critic(x)), rtol=1e-4,
                               atol=1e-5)
