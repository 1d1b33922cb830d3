"""Where a train step's time goes, in float32 and mixed bfloat16 (issue: speed on the hardware).

For each family and config (default: WGAN-GP, DCGAN and ProGAN at their
``digits`` and ``fashion_mnist`` configs; ProGAN at its final stage with
alpha 1) this builds the library GAN twice, under float32 and under
``mixed_bfloat16``, and

* times whole ``train_step`` calls, float32 and bfloat16 *interleaved* in
  rounds (the order alternating), median per step, and their ratio;
* traces a few steps of each with TensorFlow's profiler and sums the time of
  every TensorFlow op by kind: convolution forward, convolution backprop to
  the input, convolution backprop to the filter, matmul, casts, normalisation,
  activations, reductions, resampling and copies, optimizer updates, and the
  remaining element-wise ops. Times are op time summed over threads (CPU time,
  not wall time), per train step.

The pixels are random values in [-1, 1] at the config's resolution (a step's
time does not depend on them), so the script needs no data files: colour for
a ``folder:`` config (``--classes`` random labels when it is conditional,
e.g. ``--configs sngan_emoji_64 --classes 9``). The CPU
model and its bfloat16 instructions (AMX, AVX512-BF16) are written next to the
numbers, since the ratio depends on them.

    python -m bench.step_profile --out bench/results

Writes ``<name>.json`` and ``<name>.md`` (``--name``, default ``step_profile``)
into ``<out>/step_profile/``. Keep the machine
otherwise idle while it runs.
"""

import collections
import glob
import json
import os
import statistics
import tempfile

import numpy as np

import tfgan_stable  # noqa: F401  (Keras on TensorFlow)
import keras
import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

from tfgan_stable import config as config_lib
from tfgan_stable import data as data_lib
from tfgan_stable import distribute, hardware, train_lib

from bench import common
from bench.train_step_speed import random_images, time_loop

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLICIES = ("float32", "mixed_bfloat16")
CATEGORIES = ("conv forward", "conv backprop input", "conv backprop filter", "matmul", "cast",
              "normalisation", "activation", "reduction", "resample/copy", "optimizer",
              "other element-wise")


def op_category(op_type):
    """The kind of a TensorFlow op type, as the profile table groups them."""
    if "Conv2DBackpropInput" in op_type:
        return "conv backprop input"
    if "Conv2DBackpropFilter" in op_type:
        return "conv backprop filter"
    if "Conv2D" in op_type:
        return "conv forward"
    if "MatMul" in op_type:
        return "matmul"
    if op_type == "Cast":
        return "cast"
    if "Norm" in op_type or "Moments" in op_type or op_type in ("Rsqrt", "RsqrtGrad"):
        return "normalisation"
    if any(name in op_type for name in ("Relu", "Tanh", "Sigmoid", "Elu")):
        return "activation"
    if op_type in ("Sum", "Mean", "Max", "Min", "Prod", "ArgMax"):
        return "reduction"
    if any(name in op_type for name in ("Resize", "Tile", "Transpose", "Concat", "Pad", "Slice",
                                        "Gather", "Pack", "Unpack", "Split", "Identity",
                                        "Reshape", "Select", "BroadcastTo", "StridedSlice",
                                        "DepthToSpace", "AvgPool")):
        return "resample/copy"
    if any(name in op_type for name in ("Assign", "ResourceApply", "ReadVariable", "Resource")):
        return "optimizer"
    return "other element-wise"


def build(config_name, policy, batch_size, classes=9):
    config = config_lib.load(os.path.join(REPO, "configs", f"{config_name}.yaml"),
                             [f"train.batch_size={batch_size}"])
    if config.model.family == "progan":
        stages = config.data.resolution.bit_length() - 2
        config = config_lib.from_dict(config_lib.apply_overrides(
            config.to_dict(), [f"progan.batch_sizes={[batch_size] * stages}"]))
    res = config.data.resolution
    colour = config.data.name == "stacked_digits" or config.data.name.startswith("folder:")
    examples = random_images((res, res, 3 if colour else 1))
    if config.model.conditional:  # random labels beside the random pixels
        labels = np.random.default_rng(1).integers(0, classes, examples.num_examples)
        pairs = tf.data.Dataset.zip((examples.dataset, tf.data.Dataset.from_tensor_slices(
            labels.astype("int32"))))
        examples = data_lib.Examples(pairs, "image", examples.shape, examples.num_examples,
                                     "random", tuple(map(str, range(classes))))
    with distribute.mixed_precision(policy):
        keras.utils.set_random_seed(config.train.seed)
        gan = train_lib.build_gan(config, examples)
    if config.model.family == "progan":
        gan.start_stage(gan.num_stages - 1)
        gan.stage_images_seen.assign(gan.transition_images)  # alpha 1
    batches = iter(data_lib.make_dataset(examples, batch_size, n_critic=gan.n_critic,
                                         seed=config.train.seed))
    return gan, tf.function(gan.train_step), batches


def profile_ops(step, batches, steps):
    """Milliseconds per train step of each op type, summed over threads."""
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(steps):
            output = step(next(batches))
        tf.nest.map_structure(np.asarray, output)
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        with open(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)[0],
                  "rb") as f:
            space.ParseFromString(f.read())
    per_type = collections.Counter()
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue  # executor threads; op events are named "<node>:<op type>"
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" not in name or name.strip().startswith("__inference"):
                    continue
                per_type[name.rsplit(":", 1)[1]] += event.duration_ps / 1e9 / steps
    return without_containers(per_type)


# Events that enclose other ops' events (the executor's scheduling span and
# function calls), so summing them would count their ops twice.
CONTAINER_EVENTS = ("Process", "PartitionedCall", "StatefulPartitionedCall", "While", "If",
                    "StatelessWhile", "StatelessIf")


def without_containers(per_type):
    return collections.Counter({op_type: ms for op_type, ms in per_type.items()
                                if op_type not in CONTAINER_EVENTS})


def categorise(row):
    """Adds the per-kind sums of ``row["ops_ms"]`` as ``row["categories_ms"]``."""
    row["categories_ms"] = {}
    for policy in POLICIES:
        row["ops_ms"][policy] = dict(without_containers(row["ops_ms"][policy]).most_common())
        categories = collections.Counter()
        for op_type, ms in row["ops_ms"][policy].items():
            categories[op_category(op_type)] += ms
        row["categories_ms"][policy] = {name: categories[name] for name in CATEGORIES}
    return row


def measure(config_name, args):
    keras.backend.clear_session()
    built = {policy: build(config_name, policy, args.batch_size, args.classes)
             for policy in POLICIES}
    times = {policy: [] for policy in POLICIES}
    for policy, (_, step, batches) in built.items():
        time_loop(step, batches, 3)  # trace and warm up
    for round_index in range(args.rounds):
        order = POLICIES if round_index % 2 == 0 else POLICIES[::-1]
        for policy in order:
            _, step, batches = built[policy]
            times[policy].append(time_loop(step, batches, args.steps) * 1e3)
    row = {"config": config_name, "family": built["float32"][0].__class__.__name__,
           "n_critic": built["float32"][0].n_critic, "ms": {}, "ops_ms": {}}
    for policy, (_, step, batches) in built.items():
        row["ms"][policy] = statistics.median(times[policy])
        row["ops_ms"][policy] = dict(profile_ops(step, batches, args.profile_steps))
    row["bf16_speedup"] = row["ms"]["float32"] / row["ms"]["mixed_bfloat16"]
    return categorise(row)


def markdown(rows, args, cpu):
    lines = [
        f"CPU: {cpu['model']} ({cpu['cores']} cores; bfloat16 instructions: "
        f"{', '.join(cpu['bf16_features']) or 'none'}). Batch {args.batch_size}; one train step "
        "= n_critic critic updates + one generator update. Step time: median of "
        f"{args.rounds} interleaved blocks of {args.steps} steps; op time: TensorFlow profiler "
        f"over {args.profile_steps} steps, summed over threads (CPU ms per step).",
        "",
        "| config | n_critic | float32 ms/step | mixed_bfloat16 ms/step | bf16 speed-up |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['config']} | {row['n_critic']} | {row['ms']['float32']:.0f} | "
                     f"{row['ms']['mixed_bfloat16']:.0f} | {row['bf16_speedup']:.2f}x |")
    lines += ["", "Op time by kind, CPU ms per step (share of the step's op time), "
              "float32 -> mixed_bfloat16, and the kind's own speed-up:", ""]
    header = "| kind | " + " | ".join(row["config"] for row in rows) + " |"
    lines += [header, "|---" * (len(rows) + 1) + "|"]
    for name in CATEGORIES:
        cells = []
        for row in rows:
            f32, bf16 = (row["categories_ms"][p][name] for p in POLICIES)
            total32, total16 = (sum(row["categories_ms"][p].values()) for p in POLICIES)
            if f32 < 0.05 and bf16 < 0.05:
                cells.append("-")
                continue
            speedup = f"{f32 / bf16:.2f}x" if min(f32, bf16) >= 0.05 else "only one side"
            cells.append(f"{f32:.0f} ({100 * f32 / total32:.0f}%) -> {bf16:.0f} "
                         f"({100 * bf16 / total16:.0f}%), {speedup}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def outputs(args):
    return [f"{args.name}.json", f"{args.name}.md"]


def main(argv=None):
    parser = common.parser(__doc__, "step_profile")
    parser.add_argument("--configs", default="wgan_gp_digits,wgan_gp_fashion_mnist,dcgan_digits,"
                        "dcgan_fashion_mnist,progan_digits,progan_fashion_mnist")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed block")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--profile_steps", type=int, default=3)
    parser.add_argument("--classes", type=int, default=9,
                        help="labels of a conditional config's random data")
    parser.add_argument("--tables_from", default="",
                        help="rewrite the tables from this step_profile.json (no timing)")
    args, out = common.parse(parser, outputs, argv)
    out.precision = "float32 and mixed_bfloat16 (per column)"
    if args.tables_from:
        with open(args.tables_from) as f:
            saved = json.load(f)
        cpu, rows = saved["cpu"], [categorise(row) for row in saved["rows"]]
        for key in ("batch_size", "steps", "rounds", "profile_steps"):
            setattr(args, key, saved.get(key, getattr(args, key)))
    else:
        cpu = hardware.cpu_description()
        rows = []
        for config_name in args.configs.split(","):
            row = measure(config_name, args)
            rows.append(row)
            print(json.dumps({k: row[k] for k in ("config", "ms", "bf16_speedup")}), flush=True)
    out.write_json(f"{args.name}.json", {
        "cpu": cpu, "batch_size": args.batch_size, "steps": args.steps, "rounds": args.rounds,
        "profile_steps": args.profile_steps, "rows": rows}, indent=2)
    text = markdown(rows, args, cpu)
    out.write_markdown(f"{args.name}.md", text)
    print(text)


if __name__ == "__main__":
    main()
