"""DiffAugment / ADA augmentation: policies, per-sample gates, golden values, gradients, dtypes."""

import itertools
import re

import numpy as np
import pytest
import tensorflow as tf

from tfgan_stable import augment

FULL = "color,translation,cutout"
POLICIES = ["color", "translation", "cutout", FULL, "cutout,color",
            ("translation", "cutout", "color")]


def images(batch=4, size=8, channels=3, seed=0):
    shape = (batch, size, size, channels)
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


def uniforms(batch, policy, seed=1):
    needed = augment.uniforms_needed(policy)
    return np.random.default_rng(seed).uniform(0, 1, (batch, needed)).astype("float32")


def run(x, policy, probability, u):
    u = tf.constant(u, tf.float32)
    return augment.diff_augment(tf.constant(x), policy, probability, u).numpy()


# --- policies ---------------------------------------------------------------------------------

@pytest.mark.parametrize("policy, expected", [
    (None, ()),
    ("", ()),
    ("color", ("color",)),
    ("color, translation,cutout", ("color", "translation", "cutout")),
    ("cutout,color", ("cutout", "color")),
    (["translation", "color"], ("translation", "color")),
    (("cutout",), ("cutout",)),
])
def test_parse_policy_keeps_the_order_given(policy, expected):
    assert augment.parse_policy(policy) == expected


@pytest.mark.parametrize("policy, words", [
    ("colour,cutout", "unknown operation 'colour'; valid: color, translation, cutout. "
                      "Received: policy='colour,cutout'"),
    ("color,,cutout", "unknown operation ''"),
    (["color", 3], "unknown operation 3"),
    ("color,cutout,color", "repeats the operation 'color'"),
    (5, "Received: policy=5"),
])
def test_parse_policy_refuses_unknown_and_repeated_operations(policy, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        augment.parse_policy(policy)


def test_uniforms_needed_counts_a_gate_and_the_parameters_of_each_operation():
    assert augment.uniforms_needed("") == 0
    assert augment.uniforms_needed("color") == 4
    assert augment.uniforms_needed("translation") == 3
    assert augment.uniforms_needed("cutout") == 3
    assert augment.uniforms_needed(FULL) == 10


def test_diff_augment_refuses_uniforms_of_the_wrong_width_and_bad_probabilities():
    x = images()
    with pytest.raises(ValueError, match=r"uniforms must be \[batch, 10\]"):
        run(x, FULL, 1.0, uniforms(4, "color"))
    with pytest.raises(ValueError, match="probability=1.5"):
        run(x, FULL, 1.5, uniforms(4, FULL))
    with pytest.raises(ValueError, match="images must be"):
        augment.diff_augment(tf.zeros((4, 8, 8)), FULL, 1.0, uniforms(4, FULL))


# --- gates ------------------------------------------------------------------------------------

@pytest.mark.parametrize("policy", POLICIES + [""])
def test_probability_zero_is_the_identity(policy):
    x = images()
    np.testing.assert_array_equal(run(x, policy, 0.0, uniforms(4, policy)), x)


@pytest.mark.parametrize("policy", POLICIES)
def test_probability_one_changes_every_sample(policy):
    x = images()
    u = uniforms(4, policy)
    for column in gate_columns(policy):  # parameters that surely change something
        u[:, column + 1:column + 3] = [0.95, 0.05]
    out = run(x, policy, 1.0, u)
    assert all(not np.array_equal(out[i], x[i]) for i in range(4))


def gate_columns(policy):
    columns, column = [], 0
    for name in augment.parse_policy(policy):
        columns.append(column)
        column += augment.uniforms_needed(name)
    return columns


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("probability", [0.5, tf.constant(0.5)])
def test_each_sample_has_its_own_gate(policy, probability):
    x = images(batch=2)
    u = uniforms(2, policy)
    for column in gate_columns(policy):
        u[:, column] = [0.3, 0.7]  # sample 0 below p = 0.5, sample 1 above
        u[:, column + 1:column + 3] = [0.95, 0.05]
    out = run(x, policy, probability, u)
    assert not np.array_equal(out[0], x[0])
    np.testing.assert_array_equal(out[1], x[1])


def test_each_operation_has_its_own_gate():
    x = images(batch=1, channels=1)
    u = np.array([[0.9, 0.95, 0.5, 0.5,  # color gated off
                   0.1, 0.95, 0.5,        # translation on: dy = +1, dx = 0
                   0.9, 0.5, 0.5]], "float32")  # cutout gated off
    out = run(x, FULL, 0.5, u)
    expected = np.zeros_like(x)
    expected[:, 1:] = x[:, :-1]
    np.testing.assert_array_equal(out, expected)


# --- golden values ----------------------------------------------------------------------------

@pytest.mark.parametrize("u_dy, u_dx, dy, dx", [
    (0.95, 0.05, 2, -2), (0.5, 0.5, 0, 0), (0.3, 0.7, -1, 1), (0.0, 0.9999, -2, 2)])
def test_translation_moves_by_the_integer_offset_and_fills_zeros(u_dy, u_dx, dy, dx):
    # 16 pixels: reach int(16 / 8 + 0.5) = 2, shift floor(u * 5) - 2.
    one_hot = np.zeros((1, 16, 16, 1), "float32")
    one_hot[0, 7, 9, 0] = 1.0
    out = run(one_hot, "translation", 1.0, np.array([[0.0, u_dy, u_dx]]))
    assert out.sum() == 1.0 and out[0, 7 + dy, 9 + dx, 0] == 1.0
    ones = run(np.ones((1, 16, 16, 1), "float32"), "translation", 1.0,
               np.array([[0.0, u_dy, u_dx]]))
    expected = np.zeros((16, 16), "float32")
    expected[max(dy, 0):16 + min(dy, 0), max(dx, 0):16 + min(dx, 0)] = 1.0
    np.testing.assert_array_equal(ones[0, :, :, 0], expected)


def test_translation_shifts_cover_the_range_evenly():
    # 8 pixels: reach int(8 / 8 + 0.5) = 1, so shifts -1, 0, 1 each for a third of [0, 1).
    u = np.stack([np.zeros(300), (np.arange(300) + 0.5) / 300, np.full(300, 0.5)], 1)
    one_hot = np.zeros((300, 8, 8, 1), "float32")
    one_hot[:, 4, 4, 0] = 1.0
    out = run(one_hot, "translation", 1.0, u)
    rows = np.argmax(out[:, :, 4, 0], axis=1) - 4
    assert [int((rows == s).sum()) for s in (-1, 0, 1)] == [100, 100, 100]


def reference_cutout_mask(size, u_y, u_x):
    """DiffAugment's reference: clipped scatter of a side x side grid around the offset."""
    side = int(size * 0.5 + 0.5)
    offset_y = int(np.floor(u_y * (size + 1 - side % 2)))
    offset_x = int(np.floor(u_x * (size + 1 - side % 2)))
    mask = np.ones((size, size), "float32")
    for i, j in itertools.product(range(side), range(side)):
        y = min(max(i + offset_y - side // 2, 0), size - 1)
        x = min(max(j + offset_x - side // 2, 0), size - 1)
        mask[y, x] = 0.0
    return mask


def test_cutout_zeros_exactly_the_expected_square():
    # 8 pixels: side 4, centre floor(u * 9): u 0.5 -> centre 4 -> rows 2..5; u 0 -> cols 0..1.
    out = run(np.ones((1, 8, 8, 2), "float32"), "cutout", 1.0, np.array([[0.0, 0.5, 0.0]]))
    expected = np.ones((8, 8), "float32")
    expected[2:6, 0:2] = 0.0
    for channel in range(2):
        np.testing.assert_array_equal(out[0, :, :, channel], expected)


@pytest.mark.parametrize("size", [5, 6, 8])
def test_cutout_matches_the_reference_for_every_centre(size):
    choices = size + 1 - int(size * 0.5 + 0.5) % 2
    centres = (np.arange(choices) + 0.5) / choices
    u = np.array([[0.0, u_y, u_x] for u_y in centres for u_x in centres], "float32")
    out = run(np.ones((len(u), size, size, 1), "float32"), "cutout", 1.0, u)
    for row, (_, u_y, u_x) in enumerate(u):
        np.testing.assert_array_equal(out[row, :, :, 0], reference_cutout_mask(size, u_y, u_x))


PIXELS = np.array([[[[0.2, 0.4, 0.9], [0.0, 0.3, 0.6]],
                    [[-0.4, 0.0, 0.1], [1.0, 0.9, -1.0]]]], "float32")  # 2x2x3, mean 0.25


@pytest.mark.parametrize("u, expected", [
    # brightness r = 0.75: + 0.25 (saturation and contrast factor 1)
    ([0.75, 0.5, 0.5], PIXELS + 0.25),
    # saturation r = 0.25: factor 0.5 towards each pixel's channel mean
    ([0.5, 0.25, 0.5], [[[[0.35, 0.45, 0.7], [0.15, 0.3, 0.45]],
                         [[-0.25, -0.05, 0.0], [0.65, 0.6, -0.35]]]]),
    # contrast r = 0: factor 0.5 towards the image mean 0.25
    ([0.5, 0.5, 0.0], [[[[0.225, 0.325, 0.575], [0.125, 0.275, 0.425]],
                        [[-0.075, 0.125, 0.175], [0.625, 0.575, -0.375]]]]),
    # all three: + 0.25, saturation x 1.5, contrast x 1.25 around the new mean 0.5
    ([0.75, 0.75, 0.75], None),
])
def test_color_matches_hand_computed_values(u, expected):
    if expected is None:
        x = PIXELS + 0.25
        mean = x.mean(axis=3, keepdims=True)
        x = (x - mean) * 1.5 + mean
        expected = (x - 0.5) * 1.25 + 0.5
    out = run(PIXELS, "color", 1.0, np.array([[0.0] + u]))
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_color_on_one_channel_skips_saturation():
    x = images(batch=1, channels=1)
    out = run(x, "color", 1.0, np.array([[0.0, 0.5, 0.0, 0.5]]))  # saturation factor 0
    np.testing.assert_allclose(out, x, atol=1e-6)


# --- gradients --------------------------------------------------------------------------------

def gradient(x, policy, u, w):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(augment.diff_augment(x, policy, 1.0, tf.constant(u)) * w)
    return tape.gradient(loss, x).numpy()


def test_gradients_reach_the_images_through_the_full_policy():
    x, u = images(), uniforms(4, FULL)
    w = np.random.default_rng(2).normal(size=x.shape).astype("float32")
    grad = gradient(x, FULL, u, w)
    assert np.all(np.isfinite(grad)) and np.all(np.abs(grad).sum(axis=(1, 2, 3)) > 0)


def test_translation_gradient_is_the_weights_shifted_back():
    x = images(batch=2, size=16, channels=2)
    w = np.random.default_rng(3).normal(size=x.shape).astype("float32")
    u = np.array([[0.0, 0.95, 0.05], [0.0, 0.3, 0.7]], "float32")  # (2, -2) and (-1, 1)
    grad = gradient(x, "translation", u, w)
    expected = np.zeros_like(w)
    for i, (dy, dx) in enumerate([(2, -2), (-1, 1)]):
        # out[y, x] = in[y - dy, x - dx], so d/d in[y, x] = w[y + dy, x + dx] where inside
        for y, xx in itertools.product(range(16), range(16)):
            if 0 <= y + dy < 16 and 0 <= xx + dx < 16:
                expected[i, y, xx] = w[i, y + dy, xx + dx]
    np.testing.assert_array_equal(grad, expected)


# --- dtypes and graphs ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype, atol", [("float16", 1e-2), ("bfloat16", 6e-2)])
def test_low_precision_images_keep_their_dtype_with_float32_uniforms(dtype, atol):
    x, u = images(batch=8), uniforms(8, FULL)
    u[:, 0] = 0.4999  # rounds to 0.5 in bfloat16: gates must compare in float32
    u[:, 6] = 0.6666  # dx: floor(0.6666 * 3) = 1, but bfloat16 rounds it to 0.66797 (-> 2)
    reference = run(x, FULL, 0.5, u)
    out = augment.diff_augment(tf.cast(x, dtype), FULL, 0.5, tf.constant(u))
    assert out.dtype == tf.as_dtype(dtype)
    out = tf.cast(out, tf.float32).numpy()
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, reference, atol=atol)
    assert not np.allclose(reference, run(x, "translation,cutout", 0.5, u[:, 4:]))  # color ran
    moved = augment.diff_augment(tf.cast(x, dtype), "translation", 1.0, tf.constant(u[:, 4:7]))
    np.testing.assert_array_equal(tf.cast(moved, tf.float32).numpy(),
                                  tf.cast(tf.cast(run(x, "translation", 1.0, u[:, 4:7]), dtype),
                                          tf.float32).numpy())


@pytest.mark.parametrize("jit_compile", [False, True])  # Keras compiles train_step with XLA
def test_runs_in_a_tf_function_with_an_unknown_batch_size(jit_compile):
    needed = augment.uniforms_needed(FULL)

    @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 3], tf.float32),
                                  tf.TensorSpec([None, needed], tf.float32),
                                  tf.TensorSpec([], tf.float32)], jit_compile=jit_compile)
    def augmented(x, u, probability):
        return augment.diff_augment(x, FULL, probability, u)

    for batch in (3, 5):
        x, u = images(batch=batch), uniforms(batch, FULL)
        np.testing.assert_allclose(augmented(x, u, tf.constant(0.6)).numpy(),
                                   run(x, FULL, 0.6, u), atol=1e-6)


# --- ADA --------------------------------------------------------------------------------------

@pytest.mark.parametrize("p, signal, expected", [
    (0.5, 0.7, 0.625), (0.5, 0.5, 0.375), (0.5, 0.6, 0.5),
    (0.95, 0.9, 1.0), (0.05, 0.1, 0.0), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0)])
def test_adaptive_probability_steps_by_images_over_speed_and_clips(p, signal, expected):
    assert augment.adaptive_probability(p, signal, 0.6, 64, 512) == expected
    as_tensor = augment.adaptive_probability(tf.Variable(p), tf.constant(signal), 0.6,
                                             tf.constant(64, tf.int64), 512)
    assert as_tensor.dtype == tf.float32 and float(as_tensor) == pytest.approx(expected, abs=1e-7)


def test_adaptive_probability_goes_from_zero_to_one_in_speed_images():
    p = 0.0
    for _ in range(100):
        p = augment.adaptive_probability(p, 1.0, 0.6, 5_000, 500_000)
    assert p == pytest.approx(1.0) and p <= 1.0


@pytest.mark.parametrize("kwargs, words", [
    (dict(speed_images=0), "speed_images=0"),
    (dict(speed_images=-5.0), "speed_images=-5.0"),
    (dict(target=1.5), "target=1.5"),
    (dict(target=None), "target=None"),
])
def test_adaptive_probability_refuses_bad_settings(kwargs, words):
    settings = dict(p=0.5, signal=0.7, target=0.6, images=64, speed_images=512) | kwargs
    with pytest.raises(ValueError, match=words):
        augment.adaptive_probability(**settings)


def test_check_settings_accepts_good_settings():
    augment.check_settings(FULL, 0.0, 0.6, 500_000, 4)
    augment.check_settings("", 1.0, None, 1, 1)


@pytest.mark.parametrize("kwargs, words", [
    (dict(policy="colour"), "unknown operation 'colour'"),
    (dict(probability=1.5), "probability=1.5"),
    (dict(probability=-0.1), "probability=-0.1"),
    (dict(probability="0.5"), "probability='0.5'"),
    (dict(probability=float("nan")), "probability=nan"),
    (dict(target=-0.1), "target=-0.1"),
    (dict(target="high"), "target='high'"),
    (dict(speed_images=0), "speed_images=0"),
    (dict(interval=0), "interval=0"),
    (dict(interval=2.5), "interval=2.5"),
])
def test_check_settings_names_the_bad_argument(kwargs, words):
    settings = dict(policy=FULL, probability=0.5, target=0.6, speed_images=500_000,
                    interval=4) | kwargs
    with pytest.raises(ValueError, match=words):
        augment.check_settings(**settings)
