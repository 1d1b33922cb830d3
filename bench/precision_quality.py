"""Does bfloat16 train as well as float32? Quality at equal steps (issue: speed on the hardware).

Trains each ``configs/<family>_digits.yaml`` through ``train_lib.run`` (the
binary's path) with ``train.mixed_precision`` float32 and mixed_bfloat16, for
the config's own steps and several seeds, and scores 2,000 samples of each
against 2,000 real digits: the Frechet distance and KID on the local digit
classifier's features (``tfgan_stable.metrics``), and the wall-clock time of
the run. bfloat16 "keeps quality" when its distances sit within the spread
of the float32 seeds.

    python -m bench.precision_quality --out bench/results

Writes ``<name>.json`` and ``<name>.md`` into ``<out>/precision_quality/``
(``--name`` sets the stem, default ``precision_quality``; ``--policies``
runs a subset). ``--override key=value`` (repeatable) changes every run's
config, e.g. wider networks (``model.g_filters=128 model.d_filters=128``), whose 8x8 layers take the
library's matrix-product convolutions in bfloat16 (DCGAN; WGAN-GP keeps
Keras' convolution forward and takes only the matrix filter gradient).
``--filter-gradient on|off`` builds the networks with the matrix filter
gradient on or off whatever the family's default
(the GAN class's ``fast_layer_options``); rows record it, and the oneDNN
environment (``ONEDNN_MAX_CPU_ISA``, ``TF_ENABLE_ONEDNN_OPTS``), so that a
placebo run (the same arithmetic with another summation order) is labelled.

Whether one setting trains worse than float32 or just landed on unlucky
seeds is a question of run-to-run noise, which GAN scores have plenty of.
``--summarize FILE...`` pools the rows of earlier result files (a row's
``variant`` names its setting) and, per config and setting, gives the exact
one-sided rank-sum (Mann-Whitney) test of its Frechet distances against the
float32 rows: the chance that float32's own seed-to-seed spread gives a
group at least this much worse.

    python -m bench.precision_quality --summarize bench/results/precision_quality/a.json \\
        bench/results/precision_quality/b.json --name pooled

writes ``pooled.md`` only.
"""

import collections
import json
import math
import os
import statistics
import tempfile
import time

import tfgan_stable  # noqa: F401  (Keras on TensorFlow)
import keras

from tfgan_stable import config as config_lib
from tfgan_stable import data as data_lib
from tfgan_stable import hardware, metrics, train_lib

from bench import common

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLICIES = ("float32", "mixed_bfloat16")
# Environment variables that change oneDNN's kernels (and so summation order).
ONEDNN_ENVIRONMENT = ("ONEDNN_MAX_CPU_ISA", "TF_ENABLE_ONEDNN_OPTS")


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


def onednn_environment():
    """The variables of ``ONEDNN_ENVIRONMENT`` that this process runs with."""
    return {name: os.environ[name] for name in ONEDNN_ENVIRONMENT if name in os.environ}


def set_filter_gradient(config_names, setting):
    """Sets each config's family to build the matrix filter gradient ``on`` or
    ``off`` (its GAN class's ``fast_layer_options``; ``family``: leaves the
    families as they are)."""
    if setting == "family":
        return
    for config_name in config_names:
        gan_class = config_lib.load(
            os.path.join(REPO, "configs", f"{config_name}.yaml")).family.gan_class
        gan_class.fast_layer_options = {**gan_class.fast_layer_options,
                                         "matrix_filter_gradient": setting == "on"}


def variant(row):
    """A row's setting: its ``variant`` if it names one, else its precision,
    its filter-gradient setting (outside float32, where it applies) and any
    oneDNN environment."""
    if "variant" in row:
        return row["variant"]
    parts = [row["policy"]]
    if row["policy"] != "float32" and row.get("filter_gradient", "family") != "family":
        parts.append(f"matrix filter gradient {row['filter_gradient']}")
    parts += [f"{name}={value}" for name, value in sorted(row.get("environment", {}).items())]
    return ", ".join(parts)


def rank_sum_p_value(reference, candidate):
    """Exact one-sided Mann-Whitney test: the share of all ways to split the
    pooled scores into groups of these sizes whose candidate group beats
    the reference group in at least as many pairs (ties count half) as the
    actual one does. Small: the candidate scores higher (worse) than the
    reference's spread explains.

    A group's wins are its sum of mid-ranks less a constant, so the splits
    are counted by rank sum (doubled, to keep tied mid-ranks whole) rather
    than enumerated: polynomial in the seed counts, ties exact.
    """
    pooled = list(reference) + list(candidate)
    doubled_ranks = [sum(2 * (other < score) + (other == score) for other in pooled) + 1
                     for score in pooled]
    # splits[k][total]: subsets of k scores whose doubled ranks sum to total
    splits = [collections.Counter() for _ in range(len(candidate) + 1)]
    splits[0][0] = 1
    for rank in doubled_ranks:
        for size in range(len(candidate), 0, -1):
            for total, count in list(splits[size - 1].items()):
                splits[size][total + rank] += count
    observed = sum(doubled_ranks[len(reference):])
    at_least = sum(count for total, count in splits[-1].items() if total >= observed)
    return at_least / math.comb(len(pooled), len(candidate))


def summarize(paths):
    """Markdown: every (config, setting) of the rows in ``paths``, with its
    Frechet distances by seed and its rank-sum test against the config's
    rows named ``float32`` (the default build in float32)."""
    rows = []
    for path in paths:
        with open(path) as f:
            rows += json.load(f)["rows"]
    lines = [
        "Frechet distance by seed (lower is better) from "
        + ", ".join(os.path.basename(path) for path in paths)
        + "; p: the exact one-sided rank-sum test against float32's seeds (the chance"
        " that float32's own seed-to-seed spread gives scores at least this much worse).",
        "",
        "| config | setting | seeds | Frechet by seed | median | p (worse than float32) |",
        "|---|---|---|---|---|---|",
    ]
    for config_name in dict.fromkeys(row["config"] for row in rows):
        mine = [row for row in rows if row["config"] == config_name]
        groups = {}
        for row in sorted(mine, key=lambda row: row["seed"]):
            groups.setdefault(variant(row), []).append(row)
        reference = [row["fid"] for row in groups.get("float32", [])]
        for name, group in groups.items():
            scores = [row["fid"] for row in group]
            p_value = ("-" if name == "float32" or len(reference) < 2
                       else "%.2f" % rank_sum_p_value(reference, scores))
            lines.append(
                f"| {config_name} | {name} | {', '.join(str(row['seed']) for row in group)} | "
                f"{', '.join('%.2f' % score for score in scores)} | "
                f"{statistics.median(scores):.2f} | {p_value} |")
    return "\n".join(lines) + "\n"


def outputs(args):
    return [f"{args.name}.md"] if args.summarize else [f"{args.name}.json", f"{args.name}.md"]


def main(argv=None):
    parser = common.parser(__doc__, "precision_quality", name_help="output file stem")
    parser.add_argument("--configs", default="wgan_gp_digits,dcgan_digits,progan_digits")
    common.add_seeds(parser, [0, 1])
    parser.add_argument("--policies", default=",".join(POLICIES),
                        help="comma-separated train.mixed_precision values")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--override", action="append", default=[],
                        help="key=value for every run's config (repeatable)")
    parser.add_argument("--filter-gradient", choices=("family", "on", "off"), default="family",
                        help="the matrix filter gradient: the family's default, or on/off")
    parser.add_argument("--summarize", nargs="+", metavar="FILE",
                        help="pool the rows of these result files and test them; no training")
    args, out = common.parse(parser, outputs, argv)
    out.precision = (f"per row: train.mixed_precision in {args.policies}; filter gradient "
                     f"{args.filter_gradient}")
    if args.summarize:
        out.precision = "as in the pooled files"
        text = summarize(args.summarize)
        out.write_markdown(f"{args.name}.md", text)
        print(text)
        return
    set_filter_gradient(args.configs.split(","), args.filter_gradient)
    classifier = metrics.digit_classifier(seed=0)
    rows = []
    for config_name in args.configs.split(","):
        config = config_lib.load(os.path.join(REPO, "configs", f"{config_name}.yaml"))
        examples = data_lib.load_examples(config.data.name, resolution=config.data.resolution)
        real = data_lib.sample_examples(examples, args.samples, seed=1)
        for seed in args.seeds:
            for policy in args.policies.split(","):
                row = run_one(config_name, policy, seed, real, classifier, args.override)
                row.update(filter_gradient=args.filter_gradient, environment=onednn_environment())
                rows.append(row)
                print(json.dumps(row), flush=True)
    cpu = hardware.cpu_description()
    out.write_json(f"{args.name}.json", {"cpu": cpu, "overrides": args.override, "rows": rows},
                   indent=2)
    text = markdown(rows, args, cpu)
    out.write_markdown(f"{args.name}.md", text)
    print(text)


def markdown(rows, args, cpu):
    lines = [
        f"Each digits config for its own steps"
        f"{' with ' + ', '.join(args.override) if args.override else ''}, "
        f"seeds {','.join(map(str, args.seeds))}; "
        "Frechet distance and KID "
        f"of {args.samples} samples on the digit classifier's features, and the run's "
        f"wall-clock time; {cpu['model']}, {cpu['cores']} cores "
        f"({', '.join(cpu['bf16_features']) or 'no bfloat16 instructions'}); matrix filter "
        f"gradient: {args.filter_gradient}"
        + "".join(f", {name}={value}" for name, value in onednn_environment().items()) + ".",
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
