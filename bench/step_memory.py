"""A train step's memory against the memory check's estimate (``tfgan_stable.memory``).

For each config (default: the emoji configs at 64x64), in a fresh process:
build the GAN as the binary does (the precision ``train.mixed_precision: auto``
picks), on random pixels at the config's resolution (random labels for a
conditional config, ``--classes`` of them), read the process's resident memory,
run ``--steps`` train steps, and report the growth of its peak resident memory
(``ru_maxrss``) over that reading: what training the step took, its tracing
included, beyond the built networks. Beside it, ``memory.train_step_bytes``:
the estimate ``tfgan-train`` checks against the free memory before it trains.

    python -m bench.step_memory --out bench/results

Writes ``<name>.json`` and ``<name>.md`` (``--name``, default ``step_memory``)
into ``<out>/step_memory/``.
"""

import json
import os
import subprocess
import sys

from bench import common

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = """
import json, os, resource, sys
import numpy as np
import tensorflow as tf
import tfgan_stable  # noqa: F401
from tfgan_stable import config as config_lib, data as data_lib, distribute, memory, train_lib
from bench.step_profile import build

name, batch, steps, classes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
config = config_lib.load(os.path.join("configs", name + ".yaml"), [f"train.batch_size={batch}"])
policy = train_lib.resolve_precision(config).train.mixed_precision or "float32"
gan, step, batches = build(name, policy, batch, classes)
shape = gan.sample_shape
with distribute.mixed_precision(policy):
    estimate = memory.train_step_bytes(
        gan.generator, gan.discriminator, batch, gan.latent_dim, shape, pack=gan.pack,
        gradient_penalty=config.model.family in ("wgan_gp", "progan")
        or bool(gan.r1_gamma or gan.r2_gamma), real_batches=gan.n_critic)

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

before = rss()
for _ in range(steps):
    out = step(next(batches))
tf.nest.map_structure(np.asarray, out)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"config": name, "precision": policy, "batch": batch,
                  "n_critic": gan.n_critic, "estimate_mb": estimate / 2**20,
                  "growth_mb": (peak - before) / 2**20, "rss_before_mb": before / 2**20,
                  "peak_mb": peak / 2**20}))
"""


def measure(config, args):
    done = subprocess.run(
        [sys.executable, "-c", CHILD, config, str(args.batch_size), str(args.steps),
         str(args.classes)], cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{config}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown(rows, args):
    lines = [f"Batch {args.batch_size}, {args.steps} train steps after building, random pixels "
             "(and labels); growth: peak resident memory over the reading after building "
             "(tracing included); estimate: `memory.train_step_bytes`, what `tfgan-train` "
             "checks before training.", "",
             "| config | precision | n_critic | estimate MB | measured growth MB | "
             "growth / estimate |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['config']} | {row['precision']} | {row['n_critic']} | "
                     f"{row['estimate_mb']:.0f} | {row['growth_mb']:.0f} | "
                     f"{row['growth_mb'] / row['estimate_mb']:.2f} |")
    return "\n".join(lines) + "\n"


def outputs(args):
    return [f"{args.name}.json", f"{args.name}.md"]


def main(argv=None):
    parser = common.parser(__doc__, "step_memory")
    parser.add_argument("--configs", default="sngan_emoji_64,dcgan_emoji_64,r3gan_emoji_64")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--classes", type=int, default=9)
    args, out = common.parse(parser, outputs, argv)
    out.precision = "what train.mixed_precision: auto picks (per row)"
    rows = []
    for config in args.configs.split(","):
        rows.append(measure(config, args))
        print(json.dumps(rows[-1]), flush=True)
    out.write_json(f"{args.name}.json", {"batch_size": args.batch_size, "steps": args.steps,
                                         "rows": rows}, indent=2)
    out.write_markdown(f"{args.name}.md", markdown(rows, args))


if __name__ == "__main__":
    main()
