"""Keras' layers against the library's equivalents, one layer at a time.

For each case (the convolutions of the library's DCGAN-architecture networks at
32x32 and of the Keras WGAN-GP example's networks, a few 3x3 stride-1 ones
that set ``small_conv.MAX_GATHER_SHARE``, and the generators' batch norms)
this builds Keras' layer and the library's (``small_conv.Conv2D`` /
``Conv2DTranspose`` with their matrix path forced on, and
``FusedBatchNormalization``) with the same weights, and times one training
use of each at batch 64, interleaved: forward and backward to the weights,
and for convolutions also with a gradient penalty's double backward (the
weights' gradient of the squared input gradient), in float32 and bfloat16.
In bfloat16 it also times the convolutions with only the matrix filter
gradient forced on (``matrix_path=False``; transposed convolutions by phase).
It reports whether the layer's own rules (``takes_matrix_path``,
``takes_matrix_filter_gradient``, ``phases_apply``) take each path.

    python -m bench.layer_speed --out bench/results

Writes ``<name>.json`` and ``<name>.md`` (``--name``, default ``layer_speed``)
into ``<out>/layer_speed/``. Keep the machine otherwise
idle while it runs.
"""

import contextlib
import itertools
import json
import os
import statistics

import numpy as np

import tfgan_stable  # noqa: F401  (Keras on TensorFlow)
import keras
import tensorflow as tf

from tfgan_stable import hardware
from tfgan_stable.fast import small_conv
from tfgan_stable.fast.batch_norm import FusedBatchNormalization

from bench import common
from bench.train_step_speed import time_loop

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLICIES = ("float32", "mixed_bfloat16")

# (name, kind, input height/width, input channels, layer arguments)
CASES = [
    ("DCGAN critic down1: 16x16 64->128, 4x4 s2", "conv", 16, 64,
     dict(filters=128, kernel_size=4, strides=2, padding="same")),
    ("DCGAN critic down2: 8x8 128->256, 4x4 s2", "conv", 8, 128,
     dict(filters=256, kernel_size=4, strides=2, padding="same")),
    ("DCGAN generator up0: 4x4 512->256, 4x4 s2 transposed", "transpose", 4, 512,
     dict(filters=256, kernel_size=4, strides=2, padding="same")),
    ("DCGAN generator up1: 8x8 256->128, 4x4 s2 transposed", "transpose", 8, 256,
     dict(filters=128, kernel_size=4, strides=2, padding="same")),
    ("DCGAN generator up2: 16x16 128->64, 4x4 s2 transposed", "transpose", 16, 128,
     dict(filters=64, kernel_size=4, strides=2, padding="same")),
    ("example critic: 8x8 128->256, 5x5 s2", "conv", 8, 128,
     dict(filters=256, kernel_size=5, strides=2, padding="same")),
    ("example critic: 4x4 256->512, 5x5 s2", "conv", 4, 256,
     dict(filters=512, kernel_size=5, strides=2, padding="same")),
    ("3x3 s1: 4x4 128->128", "conv", 4, 128, dict(filters=128, kernel_size=3, padding="same")),
    ("3x3 s1: 8x8 64->64", "conv", 8, 64, dict(filters=64, kernel_size=3, padding="same")),
    ("3x3 s1: 8x8 128->128", "conv", 8, 128, dict(filters=128, kernel_size=3, padding="same")),
    ("3x3 s1: 8x8 256->256", "conv", 8, 256, dict(filters=256, kernel_size=3, padding="same")),
    ("batch norm: 16x16x128", "batch_norm", 16, 128, {}),
    ("batch norm: 32x32x64", "batch_norm", 32, 64, {}),
]
CLASSES = {"conv": (keras.layers.Conv2D, small_conv.Conv2D),
           "transpose": (keras.layers.Conv2DTranspose, small_conv.Conv2DTranspose),
           "batch_norm": (keras.layers.BatchNormalization, FusedBatchNormalization)}


LIMITS = ("MAX_MATMUL_PIXELS", "MAX_MATMUL_PIXELS_FLOAT32", "MAX_GATHER_SHARE",
          "MAX_FILTER_GRADIENT_PIXELS", "MAX_PHASE_INPUT_PIXELS", "MIN_PHASE_CHANNEL_PRODUCT")
RULE = {name: getattr(small_conv, name) for name in LIMITS}
UNLIMITED = {**{name: 10**9 for name in LIMITS}, "MIN_PHASE_CHANNEL_PRODUCT": 0}


@contextlib.contextmanager
def limits(values):
    """``small_conv``'s limits set to ``values`` (traces inside see them)."""
    saved = {name: getattr(small_conv, name) for name in LIMITS}
    for name, value in values.items():
        setattr(small_conv, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(small_conv, name, value)


def build(kind, size, channels, kwargs, policy):
    """Keras' layer, the library's, and (convolutions) the library's with
    ``matrix_path=False``, built with the same weights."""
    shape = (None, size, size, channels)
    keras_class, our_class = CLASSES[kind]
    layers = [keras_class(**kwargs, dtype=policy), our_class(**kwargs, dtype=policy)]
    if kind != "batch_norm":
        layers.append(our_class(**kwargs, matrix_path=False, dtype=policy))
    for layer in layers:
        layer.build(shape)
    for weights in zip(*(layer.weights for layer in layers)):
        value = np.random.default_rng(0).normal(0.0, 0.05, weights[0].shape).astype("float32")
        for weight in weights:
            weight.assign(value)
    return layers


def train_use(layer, penalty):
    """A tf.function: the weights' gradient of one training use of ``layer``."""

    @tf.function
    def step(x):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = tf.cast(layer(x, training=True), tf.float32)
                score = tf.reduce_sum(y * y)
            if penalty:
                gradient = tf.cast(inner.gradient(score, x), tf.float32)
                score = score + tf.reduce_sum(gradient * gradient)
        return outer.gradient(score, layer.trainable_weights)

    return step


def measure(case, args):
    name, kind, size, channels, kwargs = case
    row = {"case": name, "ms": {}, "matrix_path": {}, "filter_gradient": {}, "phases": {}}
    x = tf.constant(np.random.default_rng(1).normal(size=(args.batch_size, size, size, channels)),
                    tf.float32)
    for policy in POLICIES:
        keras_layer, our_layer, *filter_gradient_layer = build(kind, size, channels, kwargs,
                                                               policy)
        if kind != "batch_norm":
            inputs = tf.cast(x, our_layer.compute_dtype)
            with limits(RULE):
                row["matrix_path"][policy] = our_layer.takes_matrix_path(inputs)
                row["filter_gradient"][policy] = (
                    filter_gradient_layer[0].takes_matrix_filter_gradient(inputs))
                row["phases"][policy] = kind == "transpose" and small_conv.phases_apply(
                    inputs, kwargs["filters"])
        for penalty in ((False, True) if kind != "batch_norm" else (False,)):
            steps = {"keras": train_use(keras_layer, penalty), "library": train_use(our_layer,
                                                                                    penalty)}
            if filter_gradient_layer and policy != "float32":  # a 16-bit path only
                steps["filter_gradient"] = train_use(filter_gradient_layer[0], penalty)
            times = {variant: [] for variant in steps}
            with limits(UNLIMITED):  # time the matrix path wherever it can run
                for round_index in range(args.rounds):
                    order = list(steps) if round_index % 2 == 0 else list(steps)[::-1]
                    for variant in order:
                        times[variant].append(
                            time_loop(steps[variant], itertools.repeat(x), args.steps) * 1e3)
            key = f"{policy}{' +penalty' if penalty else ''}"
            row["ms"][key] = {variant: statistics.median(ms) for variant, ms in times.items()}
    return row


def markdown(rows, args, cpu):
    keys = [key for key in rows[0]["ms"]]
    lines = [
        f"CPU: {cpu['model']} ({cpu['cores']} cores; bfloat16 instructions: "
        f"{', '.join(cpu['bf16_features']) or 'none'}). Batch {args.batch_size}; ms per "
        "training use of one layer (forward + the weights' gradient; '+penalty': also a "
        "gradient penalty's double backward), Keras' layer -> the library's with its matrix "
        "path forced on (speed-up); 'filter gradient': the library's with matrix_path=False "
        "and the matrix filter gradient forced on (bfloat16 only; transposed convolutions "
        f"by phase); median of {args.rounds} interleaved blocks of {args.steps}. 'rule': "
        "whether the layer's rules take the matrix path (float32 / bfloat16), and in "
        "bfloat16 the matrix filter gradient (with the transposed convolution by phase).",
        "",
        "| layer | " + " | ".join(keys) + " | " + " | ".join(
            f"{key} filter gradient" for key in keys if key.startswith("mixed")) + " | rule |",
        "|---" * (len(keys) + 2 + sum(key.startswith("mixed") for key in keys)) + "|",
    ]

    def cell(ms, variant):
        return (f"{ms['keras']:.1f} -> {ms[variant]:.1f} ({ms['keras'] / ms[variant]:.2f}x)"
                if variant in ms else "-")

    for row in rows:
        cells = [cell(row["ms"].get(key, {}), "library") for key in keys]
        cells += [cell(row["ms"].get(key, {}), "filter_gradient") for key in keys
                  if key.startswith("mixed")]
        rule = row["matrix_path"]
        if rule:
            bf16 = POLICIES[-1]
            rule_cell = (" / ".join("yes" if rule[p] else "no" for p in POLICIES)
                         + "; filter gradient: "
                         + ("yes" if row["filter_gradient"][bf16] else "no")
                         + (" (phases)" if row["phases"][bf16] else ""))
        else:
            rule_cell = "fused"
        lines.append(f"| {row['case']} | " + " | ".join(cells) + f" | {rule_cell} |")
    return "\n".join(lines) + "\n"


def outputs(args):
    return [f"{args.name}.json", f"{args.name}.md"]


def main(argv=None):
    parser = common.parser(__doc__, "layer_speed")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10, help="calls per timed block")
    parser.add_argument("--rounds", type=int, default=3)
    args, out = common.parse(parser, outputs, argv)
    out.precision = "float32 and mixed_bfloat16 (per column)"
    rows = []
    for case in CASES:
        row = measure(case, args)
        rows.append(row)
        print(json.dumps(row), flush=True)
    cpu = hardware.cpu_description()
    out.write_json(f"{args.name}.json", {"cpu": cpu, "batch_size": args.batch_size,
                                         "steps": args.steps, "rounds": args.rounds,
                                         "rows": rows}, indent=2)
    text = markdown(rows, args, cpu)
    out.write_markdown(f"{args.name}.md", text)
    print(text)


if __name__ == "__main__":
    main()
