"""R1/R2 on the loss's own critic pass against a pass of their own (R3GAN's step time).

Zero-centred penalties need the critic's gradient at the samples. The library
takes it from the pass that scored the batch for the loss (as R3GAN's code
does); the plain way runs the critic again on the reals (R1) and the fakes
(R2). Both give the same values (``tests/stabilisers_test.py``); this times
whole ``train_step`` calls of the two, built from one config, interleaved in
rounds (the order alternating), median per step, under float32 and mixed
bfloat16. Random pixels at the config's resolution (random labels for a
conditional config), as ``bench.step_profile`` builds them.

    python -m bench.penalty_pass --out bench/results

Writes ``<name>.json`` and ``<name>.md`` (``--name``, default
``penalty_pass``) into ``<out>/penalty_pass/``. Keep the machine otherwise
idle while it runs.
"""

import json
import statistics

import keras

from bench import common
from bench.step_profile import POLICIES, build
from bench.train_step_speed import time_loop
from tfgan_stable import hardware

WAYS = ("own pass", "loss's pass")


def measure(config_name, policy, args):
    """``{way: median ms per train step}`` for one config and precision."""
    keras.backend.clear_session()
    steps = {}
    for way in WAYS:
        gan, step, batches = build(config_name, policy, args.batch_size, args.classes)
        if way == "own pass":  # before the step is traced: R1/R2 run the critic again
            gan._penalised_samples = lambda real, fake: None
        time_loop(step, batches, 3)  # trace and warm up
        steps[way] = (step, batches)
    times = {way: [] for way in WAYS}
    for round_index in range(args.rounds):
        for way in WAYS if round_index % 2 == 0 else WAYS[::-1]:
            times[way].append(time_loop(*steps[way], args.steps) * 1e3)
    return {way: statistics.median(times[way]) for way in WAYS}


def markdown(rows, args, cpu):
    lines = [
        f"CPU: {cpu['model']} ({cpu['cores']} cores). Batch {args.batch_size}; one train step "
        "= n_critic critic updates (each with R1 and R2) + one generator update. Median of "
        f"{args.rounds} interleaved blocks of {args.steps} steps.",
        "",
        "| config | precision | own pass ms/step | loss's pass ms/step | speed-up |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        own, reused = row["ms"]["own pass"], row["ms"]["loss's pass"]
        lines.append(f"| {row['config']} | {row['precision']} | {own:.0f} | {reused:.0f} | "
                     f"{own / reused:.2f}x |")
    return "\n".join(lines) + "\n"


def outputs(args):
    return [f"{args.name}.json", f"{args.name}.md"]


def main(argv=None):
    parser = common.parser(__doc__, "penalty_pass")
    parser.add_argument("--configs", default="r3gan_fashion_mnist,r3gan_emoji_32")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed block")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--classes", type=int, default=9,
                        help="labels of a conditional config's random data")
    args, out = common.parse(parser, outputs, argv)
    out.precision = "float32 and mixed_bfloat16 (per row)"
    cpu = hardware.cpu_description()
    rows = []
    for config_name in args.configs.split(","):
        for policy in POLICIES:
            row = {"config": config_name, "precision": policy,
                   "ms": measure(config_name, policy, args)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out.write_json(f"{args.name}.json", {"cpu": cpu, "batch_size": args.batch_size,
                                         "steps": args.steps, "rounds": args.rounds,
                                         "rows": rows}, indent=2)
    text = markdown(rows, args, cpu)
    out.write_markdown(f"{args.name}.md", text)
    print(text)


if __name__ == "__main__":
    main()
