"""Lazy gradient penalty against every-step, at equal wall-clock (issue: speed on the hardware).

Trains ``configs/wgan_gp_<ring8|grid25|digits>.yaml`` with ``wgan_gp.gp_every``
= 1 (the paper) and k (the penalty on every k-th critic update, weighted k x
lambda; the trick Karras et al. 2020 apply to R1) for the same wall-clock
budget per run, several seeds. Toy mixtures: 2,500 samples scored with the
VEEGAN / PacGAN definitions (``metrics.mode_coverage``); digits: the Frechet
distance on the local digit classifier's features (2,000 samples). Reports
generator steps per second (the speed-up) and the quality reached in the
budget. Writes ``<name>.json`` and ``<name>.md`` (``--name``, default
``lazy_penalty``) into ``<out>/lazy_penalty/``.

    python -m bench.lazy_penalty --seconds 45 --every 1 4 --seeds 0 1 --out bench/results
"""

import json
import os
import time

import numpy as np

import tfgan_stable  # noqa: F401  (Keras on TensorFlow)
import keras

from tfgan_stable import build, data, metrics
from tfgan_stable import config as config_lib

from bench import common

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class WallClockBudget(keras.callbacks.Callback):
    """Stops ``fit`` once ``seconds`` of training have passed (the first step's trace excluded)."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds, self.start, self.steps = seconds, None, 0

    def on_train_batch_end(self, batch, logs=None):
        if self.start is None:
            self.start = time.perf_counter()
            return
        self.steps += 1
        if time.perf_counter() - self.start >= self.seconds:
            self.model.stop_training = True


def run_one(dataset, every, seed, seconds):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    config = config_lib.load(os.path.join(REPO, "configs", f"wgan_gp_{dataset}.yaml"),
                             [f"wgan_gp.gp_every={every}", f"train.seed={seed}"])
    examples = data.load_examples(dataset, num_samples=config.data.num_samples, seed=seed,
                                  resolution=config.data.resolution)
    gan = build.build_gan(config, examples)
    stream = data.make_dataset(examples, config.train.batch_size, n_critic=gan.n_critic,
                               seed=seed)
    budget = WallClockBudget(seconds)
    gan.fit(stream, epochs=1, steps_per_epoch=10**7, callbacks=[budget], verbose=0)
    row = {"dataset": dataset, "gp_every": every, "seed": seed,
           "generator_steps": int(gan.generator_steps.numpy()),
           "steps_per_second": budget.steps / seconds}
    if dataset not in data.MIXTURE_STD:  # images: Frechet distance on digit features
        real = data.sample_examples(examples, 2000, seed=99)
        suite = metrics.evaluation_suite(dataset, real, names=["fid"], seed=0)
        row["fid"] = metrics.evaluate(suite, gan.generate_numpy(len(real), seed=1000 + seed))["fid"]
        return row
    samples = gan.generate_numpy(2500, seed=1000 + seed, batch_size=2500)
    centers, std = data.mixture_centers(dataset), data.MIXTURE_STD[dataset]
    score = metrics.mode_coverage(samples, centers, std)
    strict = metrics.mode_coverage(samples, centers, std, min_count=20)
    return {**row, "modes": score["modes"], "modes_20": strict["modes"],
            "high_quality_pct": 100.0 * score["high_quality"],
            "reverse_kl": score["reverse_kl"]}


def table(rows, datasets, everies, seconds):
    lines = [f"Equal wall-clock: {seconds:g} s of training per run (trace excluded), "
             f"seeds {sorted({r['seed'] for r in rows})}; mean ± std over seeds.", ""]
    for dataset in datasets:
        images = dataset not in data.MIXTURE_STD
        quality = (["Frechet distance (digit features)"] if images else
                   ["modes", "modes (>= 20)", "% high quality", "reverse KL"])
        lines += [f"**{dataset}**", "",
                  "| gp_every | generator steps/s | speed-up | " + " | ".join(quality) + " |",
                  "|---" * (3 + len(quality)) + "|"]
        base = np.mean([r["steps_per_second"] for r in rows
                        if r["dataset"] == dataset and r["gp_every"] == everies[0]])
        for every in everies:
            sel = [r for r in rows if r["dataset"] == dataset and r["gp_every"] == every]

            def cell(key, fmt="{:.2f}"):
                values = [r[key] for r in sel]
                return f"{fmt.format(np.mean(values))} ± {fmt.format(np.std(values))}"
            speed = np.mean([r["steps_per_second"] for r in sel])
            scores = ([cell("fid")] if images else
                      [cell("modes"), cell("modes_20"), cell("high_quality_pct"),
                       cell("reverse_kl", "{:.3f}")])
            lines.append(f"| {every} | {cell('steps_per_second')} | {speed / base:.2f}x | "
                         + " | ".join(scores) + " |")
        lines.append("")
    return "\n".join(lines)


def outputs(args):
    return [f"{args.name}.json", f"{args.name}.md"]


def main(argv=None):
    parser = common.parser(__doc__, "lazy_penalty")
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--every", type=int, nargs="+", default=[1, 4])
    common.add_seeds(parser, [0, 1])
    parser.add_argument("--datasets", nargs="+", default=["ring8", "grid25", "digits"])
    args, out = common.parse(parser, outputs, argv)
    out.precision = common.config_precision()
    rows = []
    for dataset in args.datasets:
        for seed in args.seeds:
            for every in args.every:  # interleaved: both settings see the same machine state
                row = run_one(dataset, every, seed, args.seconds)
                print(json.dumps(row), flush=True)
                rows.append(row)
    out.write_json(f"{args.name}.json", {"args": common.arguments(args), "rows": rows},
                   indent=2)
    text = table(rows, args.datasets, args.every, args.seconds)
    out.write_markdown(f"{args.name}.md", text + "\n")
    print(text)


if __name__ == "__main__":
    main()
