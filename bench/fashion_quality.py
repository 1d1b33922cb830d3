"""Real-image quality at an equal CPU budget: every family against a plain Keras WGAN-GP.

Each run trains one model on Fashion-MNIST at 32x32 (the IDX files, taken
as ``--data``) for ``--budget_minutes`` of *CPU time* (the process's, all
its threads; evaluation excluded), on ``--threads`` cores, and scores the
generator (its average where the family keeps one) every
``--eval_every_minutes``:

* the Frechet distance and KID on the 64-D features of a Fashion-MNIST
  classifier trained offline on the training split
  (``metrics.fashion_classifier``; its held-out accuracy is reported), against
  ``--eval_samples`` held-out test images;
* SWD (Karras 2018, x 1e3) against the same images;
* class coverage: the classifier's classes that get >= 2% of the samples.

``--train_images N`` trains on the first N training images only (the
limited-data setting of DiffAugment, Zhao 2020: 10% is 6,000); the scores
stay against held-out test images.

Runs are named ``base[:key=value...]`` (in a value, ``+`` stands for a comma:
``sngan:augment.policy=color+translation+cutout``). ``base`` is a family (its shipped
``configs/<family>_fashion_mnist.yaml``; values are config overrides) or
``peer``: the plain WGAN-GP written the way the popular Keras example does it
(``bench/keras_example_wgan_gp.py``: its networks at 32x32, N(0, 1)
interpolation weights, one real batch for its 3 critic steps, Adam(2e-4, 0.5,
0.9), no average, float32, ``fit`` defaults, batch ``--peer_batch``); its
keys switch one choice at a time: ``alpha=uniform``, ``reuse_real=false``,
``critic_steps=5``, ``precision=mixed_bfloat16``, ``ema_half_life=10000``,
``learning_rate=1e-4`` (both networks) and ``networks=library`` (the
library's DCGAN networks of ``configs/wgan_gp_fashion_mnist.yaml``, layer-norm
critic, instead of the example's).
ProGAN's shipped schedule (100k images per phase) outgrows the budget; its
run takes ``--progan`` overrides (a schedule that finishes growing inside it),
stated in the table.

The parent runs ``--jobs`` runs at a time, each in its own process, and
writes ``<name>.json``, ``<name>.md`` (``--name``, default ``fashion_quality``),
``<name>.png`` (Frechet distance and SWD against CPU time) and
``<name>_samples.png`` (a grid per run, seed 0, at its end) into
``<out>/fashion_quality/``.

    python -m bench.fashion_quality --data ../shared/data/fashion-mnist --out bench/results
"""

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time

import numpy as np

from bench import common

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAMILIES = ("dcgan", "wgan", "wgan_gp", "began", "progan", "sngan", "r3gan")
DEFAULT_RUNS = "wgan_gp,dcgan,wgan,began,progan,peer"
PROGAN_OVERRIDES = ("progan.transition_images=12000,progan.stable_images=12000,"
                    "progan.fmap_base=256,model.max_filters=64,model.g_ema_decay=null,"
                    "model.g_ema_half_life_images=10000,model.g_ema_rampup=0.05,"
                    "progan.batch_sizes=[64,64,32,32]")
CLASS_SHARE = 0.02  # a class is covered when it gets at least this share of the samples


# ----------------------------------------------------------------------------- one run


def parse_run(spec):
    """``"base:key=value:key=value"`` -> ``(base, {key: value})``."""
    base, *pairs = spec.split(":")
    if base not in FAMILIES + ("peer",):
        raise SystemExit(f"--runs: unknown base {base!r} in {spec!r}; "
                         f"valid: {', '.join(FAMILIES + ('peer',))}")
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--runs: {pair!r} in {spec!r} is not key=value")
        options[key] = value.replace("+", ",")  # runs are comma-separated: '+' for ','
    return base, options


class Scorer:
    """Frechet distance, KID, SWD and class coverage of samples against held-out images."""

    def __init__(self, data, count, seed):
        from tfgan_stable import metrics

        self.metrics = metrics
        classifier, self.accuracy = metrics.fashion_classifier(data, resolution=32)
        self.classifier = classifier
        self.features = metrics.classifier_features(classifier)
        images, _ = metrics.load_fashion_mnist_split(data, "test", 32)
        self.real = images[np.random.default_rng(seed).choice(len(images), count, False)]
        self.real_features = metrics.extract_features(self.features, self.real)
        self.seed = seed

    def __call__(self, samples):
        m = self.metrics
        fake_features = m.extract_features(self.features, samples)
        labels = np.argmax(self.classifier.predict(samples, batch_size=500, verbose=0), -1)
        shares = np.bincount(labels, minlength=10) / len(labels)
        return {
            "frechet": float(m.frechet_distance(self.real_features, fake_features)),
            "kid": float(m.kernel_distance(self.real_features, fake_features,
                                           seed=self.seed)[0]),
            "swd": float(m.sliced_wasserstein_distance(
                self.real, samples, seed=self.seed, nhoods_per_image=32)["average"]),
            "classes": int((shares >= CLASS_SHARE).sum()),
        }


class Budget:
    """Process CPU seconds spent training: everything since ``start`` but the scoring."""

    def __init__(self):
        self.start, self.excluded = time.process_time(), 0.0

    def spent(self):
        return time.process_time() - self.start - self.excluded

    def exclude(self, fn):
        begin = time.process_time()
        try:
            return fn()
        finally:
            self.excluded += time.process_time() - begin


def budget_callback(args, budget, score, curve, progress):
    """A Keras callback: scores every ``eval_every`` CPU minutes, stops at the budget."""
    import keras

    class BudgetCallback(keras.callbacks.Callback):
        next_eval = 0.0

        def on_train_batch_end(self, batch, logs=None):
            spent = budget.spent()
            done = spent >= args.budget_minutes * 60
            if done or spent >= self.next_eval:
                point = budget.exclude(lambda: score(self.model))
                point.update(cpu_seconds=round(spent, 1), **progress(self.model))
                curve.append(point)
                print(json.dumps(point), flush=True)
                self.next_eval = spent + args.eval_every_minutes * 60
            if done:
                self.model.stop_training = True

    return BudgetCallback()


def upsampled(images, size=32):
    factor = size // images.shape[1]
    return np.clip(images.repeat(factor, 1).repeat(factor, 2), -1.0, 1.0)


def library_run(base, options, args, scorer):
    """A family at its shipped config (plus overrides) for the CPU budget."""
    import keras
    import tensorflow as tf

    from tfgan_stable import config as config_lib
    from tfgan_stable import data as data_lib
    from tfgan_stable import distribute, train_lib
    from tfgan_stable.gans import progan as progan_lib

    # Scores and the budget stop happen between executions: 10 steps per
    # execution (fit within 1% of a plain loop, bench/results/train_step_speed/train_step_speed.md)
    # keep them within a few seconds of their time.
    overrides = ["train.steps_per_execution=10", *(f"{k}={v}" for k, v in options.items())]
    if base == "progan":
        overrides = [o for o in args.progan.split(",") if o] + overrides
    config = train_lib.resolve_precision(config_lib.load(
        os.path.join(REPO, "configs", f"{base}_fashion_mnist.yaml"),
        [f"data.path={args.data}", f"train.seed={args.seed}", *overrides]))
    policy = config.train.mixed_precision
    keras.utils.set_random_seed(args.seed)
    examples = data_lib.load_examples("fashion_mnist", path=args.data, resolution=32)
    if args.train_images:  # the first N of the training split (limited-data runs)
        examples = data_lib.Examples(examples.dataset.take(args.train_images), examples.kind,
                                     examples.shape, args.train_images, examples.name)
    with distribute.mixed_precision(config.train.mixed_precision):
        gan = train_lib.build_gan(config, examples)
    curve, budget = [], Budget()

    def score(model):
        return scorer(upsampled(model.generate_numpy(args.eval_samples, seed=args.seed + 1000)))

    def progress(model):
        steps = int(keras.ops.convert_to_numpy(model.generator_steps))
        point = {"generator_steps": steps}
        if base == "progan":
            point["stage"] = model.stage
        if getattr(model, "augment_p", None) is not None:  # ADA's p, where it adapts
            point["augment_p"] = round(float(keras.ops.convert_to_numpy(model.augment_p)), 4)
        return point

    callback = budget_callback(args, budget, score, curve, progress)
    if base == "progan":
        plan = progan_lib.stage_images(config)
        batch_sizes = train_lib.batch_sizes(config)
        for stage in range(gan.num_stages):
            resolution = 4 * 2**stage
            gan.start_stage(stage)
            stage_examples = data_lib.Examples(
                examples.dataset.map(lambda x, r=resolution: tf.image.resize(x, (r, r), "area")),
                "image", (resolution, resolution, 1), examples.num_examples, examples.name)
            batch = batch_sizes[stage]
            last = stage == gan.num_stages - 1
            steps = 10**9 if last else math.ceil(plan[stage] / batch)  # the last: to the budget
            fit(gan, data_lib.make_dataset(stage_examples, batch, seed=args.seed + stage),
                steps, callback)
            if budget.spent() >= args.budget_minutes * 60:
                break
    else:
        dataset = data_lib.make_dataset(examples, config.train.batch_size, n_critic=gan.n_critic,
                                        seed=args.seed)
        fit(gan, dataset, 10**9, callback)
    return gan, curve, {"precision": policy or "float32", "overrides": overrides}


def fit(model, dataset, steps, callback):
    """``fit`` until ``steps`` or the callback stops it, epochs of 1,000 steps."""
    epoch = min(steps, 1000)
    model.fit(dataset, epochs=math.ceil(steps / epoch), steps_per_epoch=epoch,
              callbacks=[callback], verbose=0)


def peer_run(options, args, scorer):
    """The plain Keras-example WGAN-GP, with one choice switched per option."""
    import keras

    from bench import keras_example_wgan_gp as peer
    from tfgan_stable import data as data_lib
    from tfgan_stable import distribute, schedules

    unknown = set(options) - {"alpha", "reuse_real", "critic_steps", "precision",
                              "ema_half_life", "learning_rate", "networks"}
    if unknown:
        raise SystemExit(f"peer: unknown options {sorted(unknown)}")
    critic_steps = int(options.get("critic_steps", peer.CRITIC_STEPS))
    reuse_real = options.get("reuse_real", "true") == "true" or critic_steps == 1
    precision = options.get("precision", "float32")
    half_life = float(options.get("ema_half_life", 0))
    networks = options.get("networks", "example")
    if networks not in ("example", "library"):
        raise SystemExit(f"peer: networks must be example or library, got {networks!r}")
    keras.utils.set_random_seed(args.seed)
    examples = data_lib.load_examples("fashion_mnist", path=args.data, resolution=32)
    if args.train_images:  # the first N of the training split (limited-data runs)
        examples = data_lib.Examples(examples.dataset.take(args.train_images), examples.kind,
                                     examples.shape, args.train_images, examples.name)
    with distribute.mixed_precision(precision):
        if networks == "library":
            from tfgan_stable import build
            from tfgan_stable import config as config_lib

            config = config_lib.load(os.path.join(REPO, "configs", "wgan_gp_fashion_mnist.yaml"))
            generator_net, critic_net = build.build_networks(config, examples)
        else:
            generator_net, critic_net = peer.generator((32, 32, 1)), peer.critic((32, 32, 1))
        model = peer.ExampleWGANGP(generator_net, critic_net,
                                   alpha=options.get("alpha", "normal"), reuse_real=reuse_real,
                                   critic_steps=critic_steps)
    learning_rate = float(options.get("learning_rate", 2e-4))
    model.compile(d_optimizer=peer.optimizer(learning_rate),
                  g_optimizer=peer.optimizer(learning_rate))
    average = None
    if half_life:
        average = keras.models.clone_model(model.generator)
        average.set_weights(model.generator.get_weights())
    dataset = data_lib.make_dataset(examples, args.peer_batch,
                                    n_critic=1 if reuse_real else critic_steps, seed=args.seed)
    curve, budget, steps = [], Budget(), [0]

    class Average(keras.callbacks.Callback):  # the generator average, after every step
        def on_train_batch_end(self, batch, logs=None):
            steps[0] += 1
            if average is not None:
                decay = schedules.ema_decay(args.peer_batch, steps[0] * args.peer_batch,
                                            half_life)
                for a, w in zip(average.weights, model.generator.weights):
                    a.assign(decay * a + (1 - decay) * keras.ops.cast(w, a.dtype))

    def score(_):
        z = np.random.default_rng(args.seed + 1000).normal(
            size=(args.eval_samples, peer.LATENT_DIM)).astype("float32")
        network = average or model.generator
        samples = np.concatenate([keras.ops.convert_to_numpy(network(z[i:i + 500],
                                                                     training=False))
                                  for i in range(0, len(z), 500)]).astype("float32")
        return scorer(samples)

    callback = budget_callback(args, budget, score, curve,
                               lambda _: {"generator_steps": steps[0]})
    epoch = 1000
    model.fit(dataset, epochs=10**6, steps_per_epoch=epoch, callbacks=[Average(), callback],
              verbose=0)
    return average or model.generator, curve, {"precision": precision, "overrides": [
        f"{k}={v}" for k, v in options.items()]}


def one_run(args):
    """The child process: trains and scores one run, writes its record as JSON."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import tfgan_stable  # noqa: F401  (Keras on TensorFlow)
    from tfgan_stable.utils import images as images_lib

    scorer = Scorer(args.data, args.eval_samples, seed=0)
    base, options = parse_run(args.one)
    started = time.perf_counter()
    if base == "peer":
        network, curve, info = peer_run(options, args, scorer)
        z = np.random.default_rng(0).normal(size=(64, 128)).astype("float32")
        grid = np.asarray(network(z, training=False), "float32")
    else:
        gan, curve, info = library_run(base, options, args, scorer)
        grid = upsampled(gan.generate_numpy(64, seed=0))
    record = {"run": args.one, "seed": args.seed, "threads": args.threads,
              "budget_minutes": args.budget_minutes, "wall_seconds":
              round(time.perf_counter() - started, 1), "classifier_accuracy": scorer.accuracy,
              "cpu": _cpu_words(), "curve": curve, **info}
    with open(args.record, "w") as f:
        json.dump(record, f, indent=1)
    images_lib.save_png(images_lib.image_grid(grid, 8), args.record[:-5] + ".png")


def _cpu_words():
    from bench.train_step_speed import cpu_words
    return cpu_words()


# ----------------------------------------------------------------------------- the parent


def launch(args, spec, seed, record):
    return common.start_child(
        [sys.executable, "-m", "bench.fashion_quality", "--one", spec, "--seed", str(seed),
         "--record", record, "--data", args.data, "--threads", str(args.threads),
         "--budget_minutes", str(args.budget_minutes), "--eval_every_minutes",
         str(args.eval_every_minutes), "--eval_samples", str(args.eval_samples),
         "--peer_batch", str(args.peer_batch), "--progan", args.progan,
         "--train_images", str(args.train_images)], record)


def at_minutes(curve, minutes):
    """The score taken when training passed ``minutes`` of CPU time (scores are
    taken at the first step end past each period, so a few seconds after it)."""
    after = [p for p in curve if p["cpu_seconds"] >= minutes * 60 - 1e-6]
    return after[0] if after else curve[-1]


def at_steps(curve, steps):
    """The Frechet distance at ``steps`` generator steps, linear between evaluations."""
    xs = [p["generator_steps"] for p in curve]
    return float(np.interp(steps, xs, [p["frechet"] for p in curve]))


def summarise(records, args):
    runs = list(dict.fromkeys(r["run"] for r in records))
    rows = []
    for run in runs:
        mine = [r for r in records if r["run"] == run]
        finals = [r["curve"][-1] for r in mine]

        def values(key, finals=finals):
            return [p[key] for p in finals]
        rows.append({"run": run, "seeds": [r["seed"] for r in mine],
                     "precision": mine[0]["precision"], "overrides": mine[0]["overrides"],
                     "frechet": values("frechet"), "kid": values("kid"), "swd": values("swd"),
                     "classes": values("classes"),
                     "generator_steps": values("generator_steps"),
                     "frechet_mean": statistics.mean(values("frechet"))})
    return rows


def markdown(rows, records, args, cpu):
    minutes = args.budget_minutes
    checkpoints = [m for m in np.arange(args.eval_every_minutes, minutes + 1e-6,
                                        args.eval_every_minutes)]
    lines = [
        f"Fashion-MNIST 32x32, {minutes:g} CPU-minutes of training per run (process CPU time, "
        f"{args.threads} thread(s) each, scoring excluded), "
        f"seeds {','.join(map(str, args.seeds))}; {common.machines(records, cpu)}. "
        f"Scores of {args.eval_samples} samples against {args.eval_samples} held-out test "
        f"images: Frechet distance and KID on the 64-D features of a Fashion-MNIST "
        f"classifier ({records[0]['classifier_accuracy']:.3f} test accuracy), SWD x 1e3, and "
        f"classes with >= {CLASS_SHARE:.0%} of the samples. Lower distances are better. "
        f"Library runs: the shipped configs at 10 steps per execution and the precision "
        f"`auto` picks; the peer: float32, batch {args.peer_batch}, fit's defaults.",
        "",
        "| run | precision | generator steps | Frechet per seed | mean | KID | SWD | "
        "classes |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def fmt(values, digits=2):
        return ", ".join(f"{v:.{digits}f}" for v in values)
    for row in sorted(rows, key=lambda r: r["frechet_mean"]):
        lines.append(
            f"| {row['run']} | {row['precision']} | {fmt(row['generator_steps'], 0)} | "
            f"{fmt(row['frechet'])} | {row['frechet_mean']:.2f} | "
            f"{fmt(row['kid'], 1)} | {fmt(row['swd'], 1)} | "
            f"{fmt(row['classes'], 0)} |")
    lines += ["", "Frechet distance (mean over seeds) at each CPU time:", "",
              "| run | " + " | ".join(f"{m:g} min" for m in checkpoints) + " |",
              "|---|" + "---|" * len(checkpoints)]
    for row in sorted(rows, key=lambda r: r["frechet_mean"]):
        cells = []
        for m in checkpoints:
            points = [at_minutes(r["curve"], m)["frechet"] for r in records
                      if r["run"] == row["run"]]
            cells.append(f"{statistics.mean(points):.2f}")
        lines.append(f"| {row['run']} | " + " | ".join(cells) + " |")
    equal = min(min(r["generator_steps"]) for r in rows)
    lines += ["", f"Frechet distance (mean over seeds) at {equal} generator steps, the fewest "
                  "any run reached (linear between evaluations): what each run makes of a "
                  "step, whatever a step costs.", "", "| run | Frechet |", "|---|---|"]
    for row in sorted(rows, key=lambda r: r["frechet_mean"]):
        points = [at_steps(r["curve"], equal) for r in records if r["run"] == row["run"]]
        lines.append(f"| {row['run']} | {statistics.mean(points):.2f} |")
    library = [r["run"] for r in rows if not r["run"].startswith("peer")]
    if "peer" in [r["run"] for r in rows] and library:
        final = {r["run"]: r["frechet_mean"] for r in rows}
        best = min(library, key=final.get)

        def mean_at(run, m):
            return statistics.mean(at_minutes(r["curve"], m)["frechet"] for r in records
                                   if r["run"] == run)
        wins = [mean_at(best, m) < mean_at("peer", m) for m in checkpoints]
        lines += ["", f"The best library run at the end, {best}, has a lower Frechet distance "
                      f"than the peer at {sum(wins)} of {len(wins)} time points"
                      f"{' (every one)' if all(wins) else ''}."]
    progan = [r for r in rows if r["run"].startswith("progan")]
    if progan:
        lines += ["", f"ProGAN's run overrides (a schedule that grows inside the budget): "
                      f"{', '.join(progan[0]['overrides'])}."]
    return "\n".join(lines) + "\n"


def plot(records, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    runs = list(dict.fromkeys(r["run"] for r in records))
    colours = {run: plt.cm.tab10(i % 10) for i, run in enumerate(runs)}
    for ax, key, label in zip(axes, ("frechet", "swd"),
                              ("Frechet distance (classifier features)", "SWD x 1e3")):
        for record in records:
            curve = record["curve"]
            ax.plot([p["cpu_seconds"] / 60 for p in curve], [p[key] for p in curve],
                    color=colours[record["run"]], marker="o", markersize=3,
                    linestyle="-" if record["seed"] == records[0]["seed"] else "--",
                    label=record["run"] if record["seed"] == records[0]["seed"] else None)
        ax.set(xlabel="training CPU minutes", ylabel=f"{label} (lower is better)",
               yscale="log", title="Fashion-MNIST 32x32")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def sample_sheet(records, folder, path):
    """One row per run: the grid of its first seed whose child PNG is in ``folder``
    (a record kept from another folder may come without one), labelled."""
    from PIL import Image, ImageDraw

    grids, shown = [], set()
    for record in sorted(records, key=lambda r: r["seed"]):
        name = f"{record['run'].replace(':', '+').replace('=', '-')}_s{record['seed']}.png"
        if record["run"] in shown or not os.path.isfile(os.path.join(folder, name)):
            continue
        shown.add(record["run"])
        grids.append((f"{record['run']} (seed {record['seed']})",
                      Image.open(os.path.join(folder, name)).convert("L")))
    if not grids:
        print(f"no sample grids in {folder}: {path} not written", flush=True)
        return
    order = [record["run"] for record in records]
    grids.sort(key=lambda item: order.index(item[0].rsplit(" (seed", 1)[0]))
    width = max(g.width for _, g in grids)
    sheet = Image.new("L", (width * len(grids), grids[0][1].height + 20), 255)
    draw = ImageDraw.Draw(sheet)
    for i, (run, grid) in enumerate(grids):
        sheet.paste(grid, (i * width, 20))
        draw.text((i * width + 4, 4), run, fill=0)
    sheet.save(path)


def outputs(args):
    if args.one:  # a child writes its record only
        return []
    return [f"{args.name}.json", f"{args.name}.md", f"{args.name}_samples.png",
            f"{args.name}.png"]


def main(argv=None):
    parser = common.parser(__doc__, "fashion_quality", name_help="output file stem")
    common.add_data(parser)
    parser.add_argument("--runs", default=DEFAULT_RUNS)
    common.add_seeds(parser, [0, 1])
    parser.add_argument("--budget_minutes", type=float, default=15.0)
    parser.add_argument("--eval_every_minutes", type=float, default=2.5)
    parser.add_argument("--eval_samples", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per run (default: CPU cores / jobs)")
    parser.add_argument("--peer_batch", type=int, default=64)
    parser.add_argument("--train_images", type=int, default=0,
                        help="train on the first N training images (0: all 60,000); the "
                             "DiffAugment limited-data setting is 6000 (10%%)")
    parser.add_argument("--progan", default=PROGAN_OVERRIDES)
    parser.add_argument("--records", default=None,
                        help="folder for per-run records and logs (default: a temporary "
                             "one); runs that have a record there are not run again")
    parser.add_argument("--report_only", action="store_true",
                        help="write the tables from the records in --records; train nothing")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--record", help=argparse.SUPPRESS)
    args, out = common.parse(parser, outputs, argv)
    args.threads = args.threads or max(1, (os.cpu_count() or 2) // args.jobs)
    if args.one:
        return one_run(args)
    for spec in args.runs.split(","):
        parse_run(spec)
    folder = args.records or tempfile.mkdtemp(prefix="fashion_quality_")
    os.makedirs(folder, exist_ok=True)
    print(f"per-run records and logs in {folder}", flush=True)
    records = common.run_records(
        args, folder, lambda spec, seed, record: launch(args, spec, seed, record))
    from bench.train_step_speed import cpu_words

    cpu = cpu_words()
    rows = summarise(records, args)
    out.precision = "per run (the table's precision column): " + ", ".join(
        f"{row['run']} {row['precision']}" for row in rows)
    out.write_json(f"{args.name}.json", {
        "args": common.arguments(args, leave_out=("one", "seed", "record")),
        "cpu": cpu, "rows": rows, "records": records}, indent=1)
    text = markdown(rows, records, args, cpu)
    out.write_markdown(f"{args.name}.md", text)
    print(text)
    sample_sheet(records, folder, out.path(f"{args.name}_samples.png"))
    out.stamp_png(out.path(f"{args.name}_samples.png"))
    plot(records, out.path(f"{args.name}.png"))  # last: tables survive
    out.stamp_png(out.path(f"{args.name}.png"))


if __name__ == "__main__":
    main()
