"""Colour emoji at an equal CPU budget: the conditional and unconditional families against the
Keras-example peers, with fidelity, diversity, memorisation and class measures.

The data: a labelled folder of colour images, one subfolder per class (``--data``; the
Noto emoji set ``emoji-noto``: 3,781 64x64 images in 9 classes), read by
``load_examples("folder:<data>", resolution=--resolution, labels="inferred",
background="white")``. ``--held_out`` of every class (default 10%, stratified, split seed
0, the same for every run) is held out; the models train on the rest only.

Each run trains one model at ``--resolution`` (32 or 64) for ``--budget_minutes`` of
*CPU time* (the process's, all its threads; scoring excluded; default 30 at 32x32 and
60 at 64x64), on ``--threads`` cores, and scores the generator (its average where the
family keeps one) every ``--eval_every_minutes``. The scores use the 64-D features of
a classifier of the folder (``metrics.labelled_classifier``: trained on the training
split's images and labels for ``--classifier_epochs`` (20), its accuracy measured on
the held-out split; trained once and cached):

* Frechet distance (local classifier features) and KID of ``--eval_samples`` samples
  against the held-out images (a conditional model's samples are asked for classes
  drawn in the training split's proportions);
* precision / recall (k 3) and density / coverage (k 5) of the first as many samples
  as there are held-out images, against them;
* copy share: the share of samples whose nearest training image (in the features) is
  nearer than the 1st percentile of the held-out images' nearest-training-image
  distances (0.01: a model that copies nothing; higher: memorisation);
* conditional runs: ``--per_class_samples`` samples asked for each class: the
  classifier's accuracy on them (conditional accuracy), reported beside the
  classifier's class-balanced held-out accuracy (the mean of its per-class accuracies,
  the same class mix) and as a share of it; and the per-class Frechet distance (mean
  over the classes) against each class's training-split images (the held-out split is
  too small per class: the smallest class holds out 9 images, a 64-D covariance needs
  65).

Runs are named ``base[:key=value...]`` (in a value, ``+`` stands for a comma:
``sngan:augment.policy=color+translation+cutout``). ``base`` is a family with a
config ``configs/<family>_emoji_<resolution>.yaml`` (conditional as shipped; values are
config overrides, e.g. ``model.conditional=false``), ``peer`` (the Keras DCGAN example,
unconditional) or ``peer_cgan`` (the Keras Conditional GAN example), both from
``bench/keras_example_cgan.py`` at the example's batch, learning rate and float32; their
keys: ``batch=``, ``learning_rate=``, ``precision=mixed_bfloat16``,
``training_flag=true`` (pass ``training=True``: the DCGAN discriminator's dropout on)
and, for ``peer_cgan``, ``label_map=broadcast``. The default ``--runs``: each of sngan,
dcgan and r3gan that has a config at the resolution, conditional (as shipped) and with
``model.conditional=false``, each with and without
``augment.policy=color,translation,cutout``, then ``peer`` and ``peer_cgan`` (14 runs).

The parent trains the classifier once (cached), then runs ``--jobs`` runs at a time,
each in its own process, and writes ``<name>.json``, ``<name>.md`` (``--name``, default
``emoji_quality``), ``<name>.png`` (the Frechet distance and coverage against CPU time)
and ``<name>_samples.png`` (a grid per run, seed 0, at its end; a conditional run one
row per class, named) into ``<out>/emoji_quality/``.

``--speed`` measures instead, in this one process: training images/s (real images read
per second of wall time) of each of ``--speed_runs`` in float32 and in mixed_bfloat16,
side by side, and the input pipeline's images/s alone (``make_dataset`` iterated without
training); it writes ``<name>.json`` and ``<name>.md`` (give it a ``--name`` of its own,
e.g. ``emoji_quality_speed_64``).

``--tiny`` (tests): the resolution-32 configs with 4-filter networks, latent 8, batch 8,
at any ``--resolution``; the peers at batch 8.

    python -m bench.emoji_quality --data ../shared/data/emoji-noto --out bench/results
    python -m bench.emoji_quality --data ../shared/data/emoji-noto --speed --out bench/results
"""

import argparse
import glob
import json
import math
import os
import statistics
import sys
import tempfile
import time

import numpy as np

from bench import common
from bench.fashion_quality import Budget, at_minutes, at_steps, budget_callback, fit

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = ("peer", "peer_cgan")
AUGMENT = "augment.policy=color+translation+cutout"
UNCONDITIONAL = "model.conditional=false"
ROW_FAMILIES = ("sngan", "dcgan", "r3gan")
DEFAULT_SPEED_RUNS = "sngan,peer,peer_cgan"
TINY_OVERRIDES = ("model.g_filters=4", "model.d_filters=4", "model.latent_dim=8",
                  "train.batch_size=8")
TINY_PEER_BATCH = 8
SPLIT_SEED = 0  # the held-out split and the classifier: the same for every run
EVAL_SEED = 1000  # latent vectors of the scores
COPY_QUANTILE = 0.01
PEER_OPTIONS = {"peer": ("batch", "learning_rate", "precision", "training_flag"),
                "peer_cgan": ("batch", "learning_rate", "precision", "training_flag",
                              "label_map")}
MEASURE = "Frechet distance (local classifier features)"


# ----------------------------------------------------------------------------- runs


def config_path(base, resolution, tiny=False):
    return os.path.join(REPO, "configs", f"{base}_emoji_{32 if tiny else resolution}.yaml")


def families(resolution, tiny=False):
    """The families with an emoji config at ``resolution``."""
    paths = glob.glob(os.path.join(REPO, "configs", f"*_emoji_{32 if tiny else resolution}.yaml"))
    return sorted(os.path.basename(p).rsplit("_emoji_", 1)[0] for p in paths)


def default_runs(resolution, tiny=False):
    """Each of :data:`ROW_FAMILIES` with an emoji config at ``resolution``: conditional (as
    shipped) and not, each with and without DiffAugment; then the two peers."""
    have = families(resolution, tiny)
    return ",".join(
        [f"{family}{extra}" for family in ROW_FAMILIES if family in have
         for extra in ("", f":{AUGMENT}", f":{UNCONDITIONAL}", f":{UNCONDITIONAL}:{AUGMENT}")]
        + list(PEERS))


def parse_run(spec, resolution=32, tiny=False):
    """``"base:key=value:key=value"`` -> ``(base, {key: value})``."""
    base, *pairs = spec.split(":")
    valid = tuple(families(resolution, tiny)) + PEERS
    if base not in valid:
        raise SystemExit(f"--runs: unknown base {base!r} in {spec!r} at {resolution}x"
                         f"{resolution}; valid: {', '.join(valid)} (a family needs "
                         f"configs/<family>_emoji_{resolution}.yaml)")
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--runs: {pair!r} in {spec!r} is not key=value")
        options[key] = value.replace("+", ",")  # runs are comma-separated: '+' for ','
    if base in PEERS:
        unknown = set(options) - set(PEER_OPTIONS[base])
        if unknown:
            raise SystemExit(f"--runs: {base} takes {', '.join(PEER_OPTIONS[base])}; got "
                             f"{sorted(unknown)} in {spec!r}")
    return base, options


# ----------------------------------------------------------------------------- data, scores


class EmojiData:
    """The labelled folder as arrays, split into training and held-out images (stratified)."""

    def __init__(self, folder, resolution, held_out):
        import tensorflow as tf
        from sklearn.model_selection import train_test_split

        from tfgan_stable import data as data_lib

        examples = data_lib.load_examples(f"folder:{folder}", resolution=resolution,
                                          labels="inferred", background="white")
        if examples.num_classes < 2:
            raise SystemExit(f"--data {folder!r}: needs >= 2 class subfolders, found "
                             f"{examples.num_classes}")
        images, labels = examples.dataset.batch(examples.num_examples).get_single_element()
        self.images = images.numpy().astype("float32")
        self.labels = labels.numpy().astype("int64")
        self.class_names = tuple(examples.class_names)
        self.num_classes = len(self.class_names)
        self.name = examples.name
        self.resolution = resolution
        self.held_out = held_out
        self.train_index, self.test_index = train_test_split(
            np.arange(len(self.labels)), test_size=held_out, random_state=SPLIT_SEED,
            stratify=self.labels)
        self.train_counts = np.bincount(self.labels[self.train_index],
                                        minlength=self.num_classes)
        self.test_counts = np.bincount(self.labels[self.test_index], minlength=self.num_classes)
        self._tf = tf

    def training_examples(self):
        """The training split as labelled :class:`~tfgan_stable.data.Examples`."""
        from tfgan_stable import data as data_lib

        x, y = self.images[self.train_index], self.labels[self.train_index].astype("int32")
        return data_lib.Examples(self._tf.data.Dataset.from_tensor_slices((x, y)), "image",
                                 tuple(x.shape[1:]), len(x), self.name, self.class_names,
                                 tuple(int(c) for c in self.train_counts))

    def classifier(self, epochs):
        """``labelled_classifier`` of the folder with this split: trained on the training
        images, its accuracy on the held-out ones (cached)."""
        from tfgan_stable import metrics

        model, accuracy, (x_test, y_test) = metrics.labelled_classifier(
            self.images, self.labels, self.num_classes,
            name=f"emoji_classifier_{self.resolution}px", seed=SPLIT_SEED, epochs=epochs,
            held_out=self.held_out)
        if not (np.array_equal(y_test, self.labels[self.test_index])
                and np.array_equal(x_test, self.images[self.test_index])):
            raise RuntimeError("labelled_classifier's held-out split differs from the "
                               "benchmark's: the two must hold out the same images")
        return model, accuracy


def balanced_accuracy(predicted, labels, num_classes):
    """The mean over classes of the share of each class's images classified as it."""
    recalls = [np.mean(predicted[labels == c] == c) for c in range(num_classes)
               if np.any(labels == c)]
    return float(np.mean(recalls))


class Scorer:
    """Every measure of the module docstring, for a ``generate(count, seed, labels)``."""

    def __init__(self, data, args):
        from tfgan_stable import metrics

        self.m, self.data, self.args = metrics, data, args
        self.classifier, self.accuracy = data.classifier(args.classifier_epochs)
        self.features = metrics.classifier_features(self.classifier)
        test, train = data.images[data.test_index], data.images[data.train_index]
        self.real = self.extract(test)
        self.train = self.extract(train)
        self.train_labels = data.labels[data.train_index]
        logits = np.concatenate([np.asarray(self.classifier(test[i:i + 256], training=False))
                                 for i in range(0, len(test), 256)])
        self.balanced_accuracy = balanced_accuracy(logits.argmax(-1),
                                                   data.labels[data.test_index],
                                                   data.num_classes)
        shares = data.train_counts / data.train_counts.sum()
        self.requested = np.random.default_rng(EVAL_SEED).choice(
            data.num_classes, args.eval_samples, p=shares).astype("int32")
        self.per_class_labels = np.repeat(np.arange(data.num_classes),
                                          args.per_class_samples).astype("int32")

    def extract(self, images):
        return self.m.extract_features(self.features, images)

    def info(self):
        data = self.data
        return {"classifier_accuracy": self.accuracy,
                "classifier_balanced_accuracy": self.balanced_accuracy,
                "class_names": list(data.class_names),
                "train_counts": data.train_counts.tolist(),
                "held_out_counts": data.test_counts.tolist()}

    def __call__(self, generate, conditional):
        m, args = self.m, self.args
        samples = generate(args.eval_samples, EVAL_SEED,
                           self.requested if conditional else None)
        fake = self.extract(samples)
        equal = fake[:len(self.real)]  # precision/recall, density/coverage: equal set sizes
        point = {
            "frechet": float(m.frechet_distance(self.real, fake)),
            "kid": float(m.kernel_distance(self.real, fake, seed=SPLIT_SEED)[0]),
            **m.precision_recall(self.real, equal, k=3),
            **m.density_coverage(self.real, equal, k=5),
            "copy_share": m.copy_share(self.train, self.real, fake,
                                       quantile=COPY_QUANTILE)["copy_share"],
        }
        if conditional:
            images = generate(len(self.per_class_labels), EVAL_SEED + 1, self.per_class_labels)
            per_class = m.per_class_frechet(
                self.train, self.train_labels, self.extract(images), self.per_class_labels,
                class_names=self.data.class_names, min_count=args.per_class_min_count or None)
            accuracy = m.classifier_conditional_accuracy(self.classifier, images,
                                                         self.per_class_labels)
            point.update(
                per_class_frechet=per_class.pop("mean"),
                per_class={k: (None if math.isnan(v) else v) for k, v in per_class.items()},
                conditional_accuracy=accuracy,
                accuracy_ratio=accuracy / self.balanced_accuracy)
        return point


# ----------------------------------------------------------------------------- models


def build_library(base, options, args, data, precision=None):
    """A family at its emoji config plus overrides: ``(gan, dataset, info)``."""
    import keras

    from tfgan_stable import config as config_lib
    from tfgan_stable import data as data_lib
    from tfgan_stable import distribute, train_lib

    # Scores and the budget stop happen between executions: 10 steps per execution.
    overrides = ["train.steps_per_execution=10", *(TINY_OVERRIDES if args.tiny else ()),
                 *(f"{k}={v}" for k, v in options.items())]
    if precision:
        overrides.append(f"train.mixed_precision={precision}")
    config = train_lib.resolve_precision(config_lib.load(
        config_path(base, args.resolution, args.tiny),
        [f"data.name={data.name}", f"data.resolution={args.resolution}",
         f"train.seed={args.seed}", *overrides]))
    keras.utils.set_random_seed(args.seed)
    examples = data.training_examples()
    with distribute.mixed_precision(config.train.mixed_precision):
        gan = train_lib.build_gan(config, examples)
    dataset = data_lib.make_dataset(examples, config.train.batch_size, n_critic=gan.n_critic,
                                    seed=args.seed, class_balanced=config.data.class_balanced)
    if not gan.num_classes:
        dataset = data_lib.drop_labels(dataset, examples.name)
    return gan, dataset, {"policy": config.train.mixed_precision or "float32",
                          "overrides": overrides, "conditional": bool(gan.num_classes),
                          "batch": config.train.batch_size, "n_critic": gan.n_critic}


def build_peer(base, options, args, data, precision=None):
    """A Keras-example peer: ``(model, dataset, info)``."""
    import keras

    from bench import keras_example_cgan as peer
    from tfgan_stable import data as data_lib
    from tfgan_stable import distribute

    kind = "dcgan" if base == "peer" else "cgan"
    default_batch = peer.DCGAN_BATCH if kind == "dcgan" else peer.CGAN_BATCH
    batch = int(options.get("batch", TINY_PEER_BATCH if args.tiny else default_batch))
    precision = precision or options.get("precision", "float32")
    keras.utils.set_random_seed(args.seed)
    with distribute.mixed_precision(precision):
        model = peer.build(kind, args.resolution, data.num_classes, channels=3, seed=args.seed,
                           learning_rate=float(options["learning_rate"])
                           if "learning_rate" in options else None,
                           training_flag=options.get("training_flag", "false") == "true",
                           label_map=options.get("label_map", "example"))
    examples = data.training_examples()
    dataset = data_lib.make_dataset(examples, batch, seed=args.seed)
    if kind == "dcgan":
        dataset = data_lib.drop_labels(dataset, examples.name)
    return model, dataset, {"policy": precision, "overrides": [
        f"{k}={v}" for k, v in options.items()], "conditional": kind == "cgan",
        "batch": batch, "n_critic": 1}


def build(base, options, args, data, precision=None):
    maker = build_peer if base in PEERS else build_library
    return maker(base, options, args, data, precision)


def generator_steps(model):
    import keras

    if hasattr(model, "generator_steps"):
        return int(keras.ops.convert_to_numpy(model.generator_steps))
    return int(keras.ops.convert_to_numpy(model.g_optimizer.iterations))


def train_and_score(base, options, args, data, scorer):
    """One run for the CPU budget, scored along the way: ``(model, curve, info)``."""
    model, dataset, info = build(base, options, args, data)
    conditional = info["conditional"]
    curve, budget = [], Budget()

    def score(model):
        return scorer(lambda count, seed, labels: model.generate_numpy(count, seed=seed,
                                                                       labels=labels),
                      conditional)

    callback = budget_callback(args, budget, score, curve,
                               lambda model: {"generator_steps": generator_steps(model)})
    fit(model, dataset, 10**9, callback)
    return model, curve, info


def sample_grid(model, info, class_names, resolution, path, columns=8):
    """The run's seed-0 samples as a PNG: 8x8, or one row per class named on the left."""
    from PIL import Image, ImageDraw

    from tfgan_stable.utils import images as images_lib

    scale = max(1, 64 // resolution)
    if info["conditional"]:
        labels = np.repeat(np.arange(len(class_names)), columns).astype("int32")
        grid = images_lib.image_grid(model.generate_numpy(len(labels), seed=0, labels=labels),
                                     columns)
    else:
        grid = images_lib.image_grid(model.generate_numpy(columns * columns, seed=0), columns)
    image = Image.fromarray(grid)
    image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    if info["conditional"]:
        margin, row = 110, resolution * scale
        labelled = Image.new("RGB", (image.width + margin, image.height), (255, 255, 255))
        labelled.paste(image, (margin, 0))
        draw = ImageDraw.Draw(labelled)
        for i, name in enumerate(class_names):
            draw.text((4, i * row + max(0, row // 2 - 6)), name, fill=(0, 0, 0))
        image = labelled
    image.save(path)


def one_run(args):
    """The child process: trains and scores one run, writes its record as JSON."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import tfgan_stable  # noqa: F401  (Keras on TensorFlow)

    data = EmojiData(args.data, args.resolution, args.held_out)
    scorer = Scorer(data, args)
    base, options = parse_run(args.one, args.resolution, args.tiny)
    started = time.perf_counter()
    model, curve, info = train_and_score(base, options, args, data, scorer)
    record = {"run": args.one, "seed": args.seed, "threads": args.threads,
              "budget_minutes": args.budget_minutes, "resolution": args.resolution,
              "wall_seconds": round(time.perf_counter() - started, 1), **scorer.info(),
              "cpu": _cpu_words(),
              "curve": curve, **info}
    with open(args.record, "w") as f:
        json.dump(record, f, indent=1)
    sample_grid(model, info, data.class_names, args.resolution, args.record[:-5] + ".png")


# ----------------------------------------------------------------------------- speed


def train_rate(model, dataset, seconds, warm_seconds):
    """Train steps per wall second (and CPU seconds per wall second) of ``fit``, timed
    after ``warm_seconds`` of warm-up (tracing, the first executions)."""
    import keras

    clock = {}

    class Timer(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            now, cpu = time.perf_counter(), time.process_time()
            if "start" not in clock:
                clock["start"] = now
            if "t0" not in clock:
                if now - clock["start"] >= warm_seconds:
                    clock.update(t0=now, c0=cpu, s0=batch)
                return
            clock.update(t1=now, c1=cpu, s1=batch)
            if now - clock["t0"] >= seconds:
                self.model.stop_training = True

    model.fit(dataset, epochs=1, steps_per_epoch=10**8, callbacks=[Timer()], verbose=0)
    wall = clock["t1"] - clock["t0"]
    return (clock["s1"] - clock["s0"]) / wall, (clock["c1"] - clock["c0"]) / wall


def pipeline_rate(dataset, seconds, warm_elements=5):
    """Elements per wall second of the pipeline iterated alone."""
    iterator = iter(dataset)
    for _ in range(warm_elements):
        next(iterator)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        next(iterator)
        count += 1
    return count / (time.perf_counter() - start)


def speed(args, out):
    """``--speed``: training and pipeline images/s, float32 and mixed_bfloat16."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import tfgan_stable  # noqa: F401

    data = EmojiData(args.data, args.resolution, args.held_out)
    rows = []
    for spec in args.speed_runs.split(","):
        base, options = parse_run(spec, args.resolution, args.tiny)
        pipeline = None
        for precision in ("float32", "mixed_bfloat16"):
            model, dataset, info = build(base, options, args, data, precision)
            images_per_step = info["batch"] * info["n_critic"]
            if pipeline is None:  # the same pipeline for both precisions
                pipeline = pipeline_rate(dataset, args.speed_seconds) * images_per_step
            steps, cpu = train_rate(model, dataset, args.speed_seconds, args.warm_seconds)
            rows.append({"run": spec, "precision": precision, "batch": info["batch"],
                         "n_critic": info["n_critic"], "conditional": info["conditional"],
                         "train_steps_per_second": steps,
                         "training_images_per_second": steps * images_per_step,
                         "cpu_per_wall": cpu, "pipeline_images_per_second": pipeline})
            print(json.dumps(rows[-1]), flush=True)
            del model, dataset
    from bench.train_step_speed import cpu_words

    cpu = cpu_words()
    out.precision = "float32 and mixed_bfloat16, each row's"
    out.write_json(f"{args.name}.json", {
        "args": common.arguments(args, leave_out=("one", "seed", "record")), "cpu": cpu,
        "train_images": len(data.train_index), "rows": rows}, indent=1)
    lines = [
        f"Training speed on {len(data.train_index)} emoji at {args.resolution}x"
        f"{args.resolution} (the training split), one process, {args.threads} thread(s); {cpu}. "
        f"Each row: {args.speed_seconds:g} s of `fit` timed after {args.warm_seconds:g} s of "
        "warm-up. Training images/s: real images read per second (batch x critic steps per "
        "train step x train steps/s); the pipeline alone: the same `make_dataset` iterated "
        "without training. Library runs at 10 steps per execution; peers at fit's defaults.",
        "",
        "| run | precision | batch | critic steps | train steps/s | training images/s | "
        "CPU s per s | CPU s per 1,000 train steps | pipeline alone, images/s | "
        "pipeline / training |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['run']} | {row['precision']} | {row['batch']} | {row['n_critic']} | "
            f"{row['train_steps_per_second']:.2f} | {row['training_images_per_second']:.0f} | "
            f"{row['cpu_per_wall']:.2f} | "
            f"{1000 * row['cpu_per_wall'] / row['train_steps_per_second']:.0f} | "
            f"{row['pipeline_images_per_second']:.0f} | "
            f"{row['pipeline_images_per_second'] / row['training_images_per_second']:.0f}x |")
    text = "\n".join(lines) + "\n"
    out.write_markdown(f"{args.name}.md", text)
    print(text)


# ----------------------------------------------------------------------------- the parent


CHILD_ARGS = ("data", "resolution", "threads", "budget_minutes", "eval_every_minutes",
              "eval_samples", "per_class_samples", "per_class_min_count", "held_out",
              "classifier_epochs")


def launch(args, spec, seed, record):
    command = [sys.executable, "-m", "bench.emoji_quality", "--one", spec, "--seed", str(seed),
               "--record", record]
    for key in CHILD_ARGS:
        command += [f"--{key}", str(getattr(args, key))]
    if args.tiny:
        command.append("--tiny")
    return common.start_child(command, record)


def run_all(args, folder):
    """Every run's record (:func:`bench.common.run_records`); the classifier trained once
    first, so that the children load it from the cache."""
    return common.run_records(
        args, folder, lambda spec, seed, record: launch(args, spec, seed, record),
        before_first=lambda: EmojiData(args.data, args.resolution, args.held_out).classifier(
            args.classifier_epochs),
        poll_seconds=0.5 if args.tiny else 5.0)


FINAL_KEYS = ("frechet", "kid", "precision", "recall", "density", "coverage", "copy_share",
              "per_class_frechet", "conditional_accuracy", "accuracy_ratio", "generator_steps")


def summarise(records):
    rows = []
    for run in dict.fromkeys(r["run"] for r in records):
        mine = [r for r in records if r["run"] == run]
        finals = [r["curve"][-1] for r in mine]
        row = {"run": run, "seeds": [r["seed"] for r in mine], "policy": mine[0]["policy"],
               "conditional": mine[0]["conditional"], "overrides": mine[0]["overrides"]}
        for key in FINAL_KEYS:
            row[key] = [p[key] for p in finals if key in p]
        row["frechet_mean"] = statistics.mean(row["frechet"])
        rows.append(row)
    return rows


def _fmt(values, digits=2):
    return ", ".join(f"{v:.{digits}f}" for v in values) if values else "–"


def _cpu_words():
    from bench.train_step_speed import cpu_words
    return cpu_words()


def markdown(rows, records, args, cpu):
    first = records[0]
    minutes = args.budget_minutes
    checkpoints = list(np.arange(args.eval_every_minutes, minutes + 1e-6,
                                 args.eval_every_minutes)) or [minutes]
    names = first["class_names"]
    held = sum(first["held_out_counts"])
    lines = [
        f"Colour emoji ({len(names)} classes, {sum(first['train_counts'])} training and {held} "
        f"held-out images, {args.held_out:.0%} of each class held out) at "
        f"{args.resolution}x{args.resolution}, {minutes:g} CPU-minutes of training per run "
        f"(process CPU time, {args.threads} thread(s) each, scoring excluded), seeds "
        f"{','.join(map(str, args.seeds))}; {common.machines(records, cpu)}.",
        "",
        f"{MEASURE}: the Frechet distance between the 64-D features of a classifier trained "
        f"on the training split (held-out accuracy {first['classifier_accuracy']:.3f}, "
        f"class-balanced {first['classifier_balanced_accuracy']:.3f}) of {args.eval_samples} "
        f"samples and the {held} held-out images; KID on the same features (not normalised "
        f"features, so large values); "
        f"precision/recall (k 3) and density/coverage (k 5) of {held} samples against the "
        f"held-out images; copy share: samples nearer their nearest training image than "
        f"the {COPY_QUANTILE:.0%} quantile of the held-out images' ({COPY_QUANTILE:g}: no "
        f"copying). Conditional runs: the per-class Frechet distance (mean over classes; "
        f"{args.per_class_samples} samples per class against its training-split images) and "
        f"the conditional accuracy ({args.per_class_samples} samples per class, classified) "
        f"with its share of the classifier's class-balanced held-out accuracy. Lower "
        f"distances are better; higher precision, recall and coverage; density near 1. "
        f"Library runs: the emoji configs at 10 steps per execution and the precision `auto` "
        f"picks; peers: the Keras examples in float32 at their batch.",
        "",
        f"| run | cond. | dtype policy | generator steps | {MEASURE} | mean | KID | "
        "precision | recall | density | coverage | copy share | per-class Frechet | "
        "cond. accuracy | share of classifier's |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: r["frechet_mean"]):
        lines.append(
            f"| {row['run']} | {'yes' if row['conditional'] else 'no'} | {row['policy']} | "
            f"{_fmt(row['generator_steps'], 0)} | {_fmt(row['frechet'])} | "
            f"{row['frechet_mean']:.2f} | {', '.join(f'{k:.4g}' for k in row['kid'])} | "
            f"{_fmt(row['precision'])} | {_fmt(row['recall'])} | {_fmt(row['density'])} | "
            f"{_fmt(row['coverage'])} | {_fmt(row['copy_share'], 3)} | "
            f"{_fmt(row['per_class_frechet'])} | {_fmt(row['conditional_accuracy'])} | "
            f"{_fmt(row['accuracy_ratio'])} |")
    lines += ["", f"{MEASURE} (mean over seeds) at each CPU time:", "",
              "| run | " + " | ".join(f"{m:g} min" for m in checkpoints) + " |",
              "|---|" + "---|" * len(checkpoints)]
    for row in sorted(rows, key=lambda r: r["frechet_mean"]):
        cells = [statistics.mean(at_minutes(r["curve"], m)["frechet"] for r in records
                                 if r["run"] == row["run"]) for m in checkpoints]
        lines.append(f"| {row['run']} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    equal = min(min(r["generator_steps"]) for r in rows)
    lines += ["", f"{MEASURE} (mean over seeds) at {equal} generator steps, the fewest any run "
                  "reached (linear between evaluations): what each run makes of a step.", "",
              f"| run | {MEASURE} |", "|---|---|"]
    for row in sorted(rows, key=lambda r: r["frechet_mean"]):
        points = [at_steps(r["curve"], equal) for r in records if r["run"] == row["run"]]
        lines.append(f"| {row['run']} | {statistics.mean(points):.2f} |")
    conditional = [r for r in rows if r["conditional"]]
    if conditional:
        lines += ["", "Per-class Frechet distance (local classifier features) at the end, "
                      "seed mean (a dash: too few points for the class):", "",
                  "| run | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for row in conditional:
            cells = []
            for name in names:
                values = [r["curve"][-1]["per_class"][name] for r in records
                          if r["run"] == row["run"]]
                values = [v for v in values if v is not None]
                cells.append(f"{statistics.mean(values):.1f}" if values else "–")
            lines.append(f"| {row['run']} | " + " | ".join(cells) + " |")
    library = [r["run"] for r in rows if r["run"].split(":")[0] not in PEERS]
    final = {r["run"]: r["frechet_mean"] for r in rows}
    if library:
        best = min(library, key=final.get)

        def mean_at(run, m):
            return statistics.mean(at_minutes(r["curve"], m)["frechet"] for r in records
                                   if r["run"] == run)
        for peer in [r["run"] for r in rows if r["run"].split(":")[0] in PEERS]:
            wins = [mean_at(best, m) < mean_at(peer, m) for m in checkpoints]
            lines += ["", f"The best library run at the end, {best}, has a lower {MEASURE} than "
                          f"{peer} at {sum(wins)} of {len(wins)} time points"
                          f"{' (every one)' if all(wins) else ''}."]
    return "\n".join(lines) + "\n"


def plot(records, path):
    try:
        import matplotlib
    except ImportError:
        print("no plot: matplotlib is not installed (pip install -e .[bench])", flush=True)
        return

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("frechet", MEASURE, "log"), ("coverage", "coverage (higher is better)", "linear")]
    if any(r["conditional"] for r in records):
        panels.append(("conditional_accuracy", "conditional accuracy", "linear"))
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5))
    runs = list(dict.fromkeys(r["run"] for r in records))
    colours = {run: plt.cm.tab20(i % 20) for i, run in enumerate(runs)}
    for ax, (key, label, scale) in zip(axes, panels):
        for record in records:
            curve = [p for p in record["curve"] if key in p]
            if not curve:
                continue
            first = record["seed"] == records[0]["seed"]
            ax.plot([p["cpu_seconds"] / 60 for p in curve], [p[key] for p in curve],
                    color=colours[record["run"]], marker="o", markersize=3,
                    linestyle="-" if first else "--", label=record["run"] if first else None)
        ax.set(xlabel="training CPU minutes", ylabel=label, yscale=scale,
               title=f"emoji {records[0]['resolution']}x{records[0]['resolution']}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def sample_sheet(records, folder, path, per_row=4):
    """Each run's seed grid (from the child's PNG) under its name, ``per_row`` to a row."""
    from PIL import Image, ImageDraw

    grids = []
    for record in records:
        if record["seed"] != records[0]["seed"]:
            continue
        name = f"{record['run'].replace(':', '+').replace('=', '-')}_s{record['seed']}.png"
        grids.append((record["run"], Image.open(os.path.join(folder, name)).convert("RGB")))
    width = max(g.width for _, g in grids) + 10
    height = max(g.height for _, g in grids) + 24
    rows = math.ceil(len(grids) / per_row)
    sheet = Image.new("RGB", (width * min(per_row, len(grids)), height * rows), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, (run, grid) in enumerate(grids):
        x, y = (i % per_row) * width, (i // per_row) * height
        sheet.paste(grid, (x, y + 20))
        draw.text((x + 4, y + 4), run, fill=(0, 0, 0))
    sheet.save(path)


def outputs(args):
    if args.one:  # a child writes its record only
        return []
    if args.speed:
        return [f"{args.name}.json", f"{args.name}.md"]
    return [f"{args.name}.json", f"{args.name}.md", f"{args.name}_samples.png",
            f"{args.name}.png"]


def main(argv=None):
    parser = common.parser(__doc__, "emoji_quality", name_help="output file stem")
    common.add_data(parser, help="a folder of images, one subfolder per class (emoji-noto)")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--runs", default=None,
                        help="comma-separated runs (default: every family with an emoji "
                             "config at --resolution, conditional and not, with and without "
                             f"{AUGMENT}, and the two peers)")
    common.add_seeds(parser, [0])
    parser.add_argument("--budget_minutes", type=float, default=None,
                        help="CPU minutes of training per run (default 30 at 32x32, 60 at "
                             "64x64)")
    parser.add_argument("--eval_every_minutes", type=float, default=5.0)
    parser.add_argument("--eval_samples", type=int, default=2000)
    parser.add_argument("--per_class_samples", type=int, default=100,
                        help="samples per class for the conditional measures")
    parser.add_argument("--per_class_min_count", type=int, default=0,
                        help="fewest points per class for a per-class Frechet distance "
                             "(0: the library's default, features + 1)")
    parser.add_argument("--held_out", type=float, default=0.1,
                        help="share of every class held out for scoring")
    parser.add_argument("--classifier_epochs", type=int, default=20,
                        help="epochs of the classifier behind the measures (trained once, "
                             "cached)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per run (default: CPU cores / jobs; --speed: cores)")
    parser.add_argument("--tiny", action="store_true",
                        help="tests: 4-filter library networks, batch 8, any resolution")
    parser.add_argument("--speed", action="store_true",
                        help="measure training and pipeline images/s instead")
    parser.add_argument("--speed_runs", default=DEFAULT_SPEED_RUNS)
    parser.add_argument("--speed_seconds", type=float, default=30.0)
    parser.add_argument("--warm_seconds", type=float, default=15.0)
    parser.add_argument("--records", default=None,
                        help="folder for per-run records and logs (default: a temporary "
                             "one); runs that have a record there are not run again")
    parser.add_argument("--report_only", action="store_true",
                        help="write the tables from the records in --records; train nothing")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--record", help=argparse.SUPPRESS)
    args, out = common.parse(parser, outputs, argv)
    if args.budget_minutes is None:
        args.budget_minutes = 30.0 if args.resolution <= 32 else 60.0
    if not args.tiny and args.resolution not in (32, 64):
        raise SystemExit(f"--resolution must be 32 or 64 (the emoji configs'); got "
                         f"{args.resolution} (--tiny takes any)")
    args.runs = args.runs or default_runs(args.resolution, args.tiny)
    cores = os.cpu_count() or 2
    args.threads = args.threads or (cores if args.speed else max(1, cores // args.jobs))
    if args.one:
        return one_run(args)
    if args.speed:
        return speed(args, out)
    for spec in args.runs.split(","):
        parse_run(spec, args.resolution, args.tiny)
    folder = args.records or tempfile.mkdtemp(prefix="emoji_quality_")
    os.makedirs(folder, exist_ok=True)
    print(f"per-run records and logs in {folder}", flush=True)
    records = run_all(args, folder)
    from bench.train_step_speed import cpu_words

    cpu = cpu_words()
    rows = summarise(records)
    out.precision = "per run (the table's dtype policy column): " + ", ".join(
        f"{row['run']} {row['policy']}" for row in rows)
    out.write_json(f"{args.name}.json", {
        "args": common.arguments(args, leave_out=("one", "seed", "record")), "cpu": cpu,
        "measure": MEASURE, "classifier": {k: records[0][k] for k in (
            "classifier_accuracy", "classifier_balanced_accuracy", "class_names",
            "train_counts", "held_out_counts")},
        "rows": rows, "records": records}, indent=1)
    text = markdown(rows, records, args, cpu)
    out.write_markdown(f"{args.name}.md", text)
    print(text)
    sample_sheet(records, folder, out.path(f"{args.name}_samples.png"))
    out.stamp_png(out.path(f"{args.name}_samples.png"))
    plot(records, out.path(f"{args.name}.png"))  # last: tables survive
    out.stamp_png(out.path(f"{args.name}.png"))


if __name__ == "__main__":
    main()
