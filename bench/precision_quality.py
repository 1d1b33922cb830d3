"""Does bfloat16 train as well as float32? Quality at equal steps (issue: speed on the hardware).

Trains each ``configs/<family>_digits.yaml`` through ``train_lib.run`` (the
binary's path) with ``train.mixed_precision`` float32 and mixed_bfloat16, for
the config's own steps and several seeds, and scores 2,000 samples of each
against 2,000 real digits: the Frechet distance and KID on the local digit
classifier's features (``tfgan_stable.metrics``), and the wall-clock time of
the run. bfloat16 "keeps quality" when its distances sit within the spread
of the float32 seeds.

    python bench/precision_quality.py --out bench/results

Writes ``precision_quality.json`` and ``precision_quality.md`` (``--name``
sets the stem; ``--policies`` runs a subset). ``--override key=value``
(repeatable) changes every run's config, e.g. wider networks
(``model.g_filters=128 model.d_filters=128``), whose 8x8 layers take the
library's matrix-product convolutions in bfloat16 (DCGAN; WGAN-GP keeps
Keras' convolutions).
"""

import argparse
import json
import os
import statistics
import tempfile
import time

import tfgan_stable  # noqa: F401  (Keras on TensorFlow)
import keras

from tfgan_stable import config as config_lib
from tfgan_stable import data as data_lib
from tfgan_stable import hardware, metrics, train_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLICIES = ("float32", "mixed_bfloat16")


def run_one(config_name, policy, seed, real, classifier, overrides=()):
    keras.backend.clear_session()
    raw = config_lib.load(os.path.join(REPO, "configs", f"{config_name}.yaml"),
                          list(overrides)).to_dict()
    with tempfile.TemporaryDirectory() as workdir:
        config = config_lib.from_dict(config_lib.apply_overrides(raw, [
            f"train.mixed_precision={policy}", f"train.seed={seed}", "train.verbose=0",
            f"export.dir={os.path.join(workdir, 'exports')}"]))
        start = time.perf_counter()
        result = train_lib.run(config, os.path.join(workdir, "run"))
        seconds = time.perf_counter() - start
        samples = result.model.generate_numpy(len(real), seed=seed + 1000)
    suite = metrics.evaluation_suite(config.data.name, real, names=("fid", "kid"),
                                     classifier=classifier, seed=0)
    scores = {name: float(fn(samples)) for name, fn in suite.items()}
    return {"config": config_name, "policy": policy, "seed": seed, "seconds": seconds,
            **scores}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="wgan_gp_digits,dcgan_digits,progan_digits")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--policies", default=",".join(POLICIES),
                        help="comma-separated train.mixed_precision values")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--override", action="append", default=[],
                        help="key=value for every run's config (repeatable)")
    parser.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    parser.add_argument("--name", default="precision_quality", help="output file stem")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    classifier = metrics.digit_classifier(seed=0)
    rows = []
    for config_name in args.configs.split(","):
        config = config_lib.load(os.path.join(REPO, "configs", f"{config_name}.yaml"))
        examples = data_lib.load_examples(config.data.name, resolution=config.data.resolution)
        real = data_lib.sample_examples(examples, args.samples, seed=1)
        for seed in [int(s) for s in args.seeds.split(",")]:
            for policy in args.policies.split(","):
                row = run_one(config_name, policy, seed, real, classifier, args.override)
                rows.append(row)
                print(json.dumps(row), flush=True)
    cpu = hardware.cpu_description()
    with open(os.path.join(args.out, f"{args.name}.json"), "w") as f:
        json.dump({"cpu": cpu, "overrides": args.override, "rows": rows}, f, indent=2)
    text = markdown(rows, args, cpu)
    with open(os.path.join(args.out, f"{args.name}.md"), "w") as f:
        f.write(text)
    print(text)


def markdown(rows, args, cpu):
    lines = [
        f"Each digits config for its own steps"
        f"{' with ' + ', '.join(args.override) if args.override else ''}, seeds {args.seeds}; "
        "Frechet distance and KID "
        f"of {args.samples} samples on the digit classifier's features, and the run's "
        f"wall-clock time; {cpu['model']}, {cpu['cores']} cores "
        f"({', '.join(cpu['bf16_features']) or 'no bfloat16 instructions'}).",
        "",
        "| config | precision | Frechet per seed | mean | KID per seed | run time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for config_name in args.configs.split(","):
        for policy in args.policies.split(","):
            mine = [r for r in rows if r["config"] == config_name and r["policy"] == policy]
            fids = ", ".join("%.2f" % r["fid"] for r in mine)
            kids = ", ".join("%.2f" % r["kid"] for r in mine)
            mean_fid = statistics.mean(r["fid"] for r in mine)
            seconds = statistics.mean(r["seconds"] for r in mine)
            lines.append(f"| {config_name} | {policy} | {fids} | {mean_fid:.2f} | {kids} | "
                         f"{seconds:.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
