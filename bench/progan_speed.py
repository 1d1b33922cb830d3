"""Progressive growing against training at the final resolution from the start.

Karras et al. 2018 (arXiv 1710.10196, sec. 2 and Figure 4) report comparable
quality 2-6x faster with progressive growing. This script trains the same
final ProGAN architecture on Fashion-MNIST at 32x32 twice in one process,
same seed, optimiser and image budget:

* progressive: 4x4 -> 8x8 -> 16x16 -> 32x32 with fade-ins, growing over short
  phases (``--images_per_phase``) and then training longest at 32x32
  (``--final_images``), as the paper's code trains on at full resolution;
* direct: the 32x32 networks from the first step (alpha = 1 throughout).

Every ``--eval_every`` training seconds it scores the EMA generator with the
paper's sliced Wasserstein distance (SWD, average over pyramid levels, 2,000
samples against 2,000 real images; lower is better) and the Frechet distance on
the features of a Fashion-MNIST classifier trained offline on the training
split (``metrics.fashion_classifier``; its test accuracy is reported). Samples
of earlier stages are up-sampled to 32x32, but only the final resolution
counts for "time to reach". The generator average is a half-life in images
with ramp-up, counted per block (``--ema_half_life_images``; or a fixed
``--ema_decay``). Timing counts training (tracing included), not evaluation.
The table compares the runs at equal images (the end of both) and at equal
wall-clock (the direct run's last score before the progressive run's end).
Writes ``<name>.json``, ``<name>.md`` and ``<name>.png`` (``--name``,
default ``progan_speed``) into ``<out>/progan_speed/``.

    python -m bench.progan_speed --data ../shared/data/fashion-mnist --out bench/results
"""

import math
import os
import time

import numpy as np

import tfgan_stable as tg  # noqa: F401  (Keras on TensorFlow)
import keras
import tensorflow as tf

from tfgan_stable import config as config_lib
from tfgan_stable import data as data_lib
from tfgan_stable import metrics, progressive, train_lib
from tfgan_stable.gans import progan as progan_lib

from bench import common

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sample_images(gan, count, seed):
    z = np.random.default_rng(seed).normal(size=(count, gan.latent_dim)).astype("float32")
    images = np.concatenate([keras.ops.convert_to_numpy(gan(z[i:i + 500]))
                             for i in range(0, count, 500)])
    factor = 32 // images.shape[1]
    return np.clip(images.repeat(factor, 1).repeat(factor, 2), -1, 1)


def frechet(features, real_features, images):
    return metrics.frechet_distance(real_features, metrics.extract_features(features, images))


def train(mode, config, examples, real, args, features, real_features):
    keras.backend.clear_session()
    keras.utils.set_random_seed(args.seed)
    gan = train_lib.build_gan(config, examples)
    final = gan.num_stages - 1
    if mode == "progressive":
        plan = list(enumerate(progan_lib.stage_images(config)))
    else:
        plan = [(final, sum(progan_lib.stage_images(config)))]
    curve, train_seconds, images_seen, next_eval = [], 0.0, 0, 0.0
    batch_sizes = train_lib.batch_sizes(config)
    for stage, stage_images in plan:
        gan.start_stage(stage)
        if args.stage_learning_rates:  # the run's one resolution takes the last rate
            progressive.set_learning_rate(gan, args.stage_learning_rates[stage])
        if mode == "direct":  # no fade-in: alpha is 1 from the first step
            gan.stage_images_seen.assign(gan.transition_images)
        resolution = 4 * 2**stage
        batch = batch_sizes[stage]
        stage_examples = data_lib.Examples(
            examples.dataset.map(lambda x, r=resolution: tf.image.resize(x, (r, r), "area")),
            "image", (resolution, resolution, 1), examples.num_examples, examples.name)
        iterator = iter(data_lib.make_dataset(stage_examples, batch, seed=args.seed + stage))
        steps = math.ceil(stage_images / batch)
        chunk = max(1, args.chunk_images // batch)
        done = 0
        while done < steps:
            n = min(chunk, steps - done)
            start = time.perf_counter()
            for _ in range(n):
                logs = gan.train_on_batch(next(iterator), return_dict=True)
            train_seconds += time.perf_counter() - start
            done += n
            images_seen += n * batch
            if train_seconds >= next_eval or (stage == final and done == steps):
                samples = sample_images(gan, len(real), args.seed)
                swd = metrics.sliced_wasserstein_distance(
                    real, samples, seed=args.seed,
                    nhoods_per_image=args.nhoods_per_image)["average"]
                fd = frechet(features, real_features, samples)
                curve.append({"train_seconds": round(train_seconds, 2), "images": images_seen,
                              "stage": stage, "swd": swd, "frechet": fd,
                              "d_loss": float(logs["d_loss"])})
                print(f"{mode}: {train_seconds:7.1f}s stage {stage} images {images_seen} "
                      f"SWD {swd:.2f} FD {fd:.2f}", flush=True)
                next_eval = train_seconds + args.eval_every
    return curve


def time_to_reach(curve, target, final_stage):
    """Training seconds until the generator at the final resolution first scores <= target."""
    for point in curve:
        if point["stage"] == final_stage and point["swd"] <= target:
            return point["train_seconds"]
    return None


def at_seconds(curve, seconds):
    """The last evaluation at or before ``seconds`` of training."""
    before = [point for point in curve if point["train_seconds"] <= seconds]
    return before[-1] if before else curve[0]


def plot(curves, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, key, label in zip(axes, ("swd", "frechet"),
                              ("SWD x 1e3", "Frechet distance (classifier features)")):
        for mode, curve in curves.items():
            ax.plot([p["train_seconds"] for p in curve], [p[key] for p in curve], marker="o",
                    markersize=3, label=mode)
        ax.set(xlabel="training seconds (2 CPU cores)", ylabel=f"{label} (lower is better)",
               title="ProGAN on Fashion-MNIST 32x32", yscale="log")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def outputs(args):
    return [f"{args.name}.json", f"{args.name}.md", f"{args.name}.png"]


def main(argv=None):
    parser = common.parser(__doc__, "progan_speed")
    common.add_data(parser)
    parser.add_argument("--config", default=os.path.join(REPO, "configs",
                                                         "progan_fashion_mnist.yaml"))
    parser.add_argument("--images_per_phase", type=int, default=6000,
                        help="images of each fade-in and stable phase while growing")
    parser.add_argument("--final_images", type=int, default=48000,
                        help="the 32x32 stage's stable phase (0: --images_per_phase)")
    parser.add_argument("--fmap_base", type=int, default=256)
    parser.add_argument("--fmap_max", type=int, default=64)
    parser.add_argument("--ema_half_life_images", type=int, default=10000)
    parser.add_argument("--ema_rampup", type=float, default=0.05)
    parser.add_argument("--ema_decay", type=float, default=None,
                        help="a fixed decay instead of the half-life (0.999: the paper)")
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=None,
                        help="one per resolution from 4x4 (default: the config's)")
    parser.add_argument("--learning_rate", type=float, default=None)
    parser.add_argument("--stage_learning_rates", type=float, nargs="+", default=None,
                        help="one learning rate per resolution, 4x4 first (both networks; "
                             "direct training takes the last; default: the config's "
                             "progan.learning_rates)")
    parser.add_argument("--modes", default="progressive,direct",
                        help="which runs (the tables compare them only when both run)")
    parser.add_argument("--eval_every", type=float, default=30.0, help="training seconds")
    parser.add_argument("--chunk_images", type=int, default=1024)
    parser.add_argument("--eval_samples", type=int, default=2000)
    parser.add_argument("--nhoods_per_image", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args, out = common.parse(parser, outputs, argv)
    out.precision = common.config_precision()
    modes = args.modes.split(",")
    if not set(modes) <= {"progressive", "direct"}:
        parser.error(f"--modes takes progressive and/or direct, got {args.modes!r}")

    config = config_lib.load(args.config, [
        f"data.path={args.data}", f"progan.transition_images={args.images_per_phase}",
        f"progan.stable_images={args.images_per_phase}",
        f"progan.final_stable_images={args.final_images or args.images_per_phase}",
        f"progan.fmap_base={args.fmap_base}",
        f"model.max_filters={args.fmap_max}", f"train.seed={args.seed}",
        *([f"model.g_ema_decay={args.ema_decay}"] if args.ema_decay else
          [f"model.g_ema_half_life_images={args.ema_half_life_images}",
           f"model.g_ema_rampup={args.ema_rampup}", "model.g_ema_decay=null"]),
        *([f"progan.batch_sizes={args.batch_sizes}"] if args.batch_sizes else []),
        *([f"optimizer.d_learning_rate={args.learning_rate}",
           f"optimizer.g_learning_rate={args.learning_rate}"] if args.learning_rate else [])])
    batch_sizes = train_lib.batch_sizes(config)
    if args.stage_learning_rates is None and args.learning_rate is None:
        args.stage_learning_rates = list(config.family_options.learning_rates) or None
    try:
        args.stage_learning_rates = progressive.stage_learning_rates(args.stage_learning_rates,
                                                                     len(batch_sizes))
    except ValueError as error:
        parser.error(f"--stage_learning_rates: {error}")
    rates_words = (f"per resolution {args.stage_learning_rates} (direct: the last)"
                   if args.stage_learning_rates else args.learning_rate or "the paper 1e-3")
    ema = (f"EMA decay {args.ema_decay}" if args.ema_decay else
           f"EMA half-life {args.ema_half_life_images} images, ramp-up {args.ema_rampup}")
    classifier, accuracy = metrics.fashion_classifier(args.data, resolution=32)
    features = metrics.classifier_features(classifier)
    examples = data_lib.load_examples("fashion_mnist", path=args.data, resolution=32)
    pool = next(iter(examples.dataset.take(20000).batch(20000))).numpy()
    real = pool[np.random.default_rng(args.seed).choice(len(pool), args.eval_samples, False)]
    floor = metrics.sliced_wasserstein_distance(
        real, pool[np.random.default_rng(args.seed + 1).choice(len(pool), args.eval_samples,
                                                               False)],
        seed=args.seed, nhoods_per_image=args.nhoods_per_image)["average"]
    print(f"SWD between two sets of real images: {floor:.2f}", flush=True)
    real_features = metrics.extract_features(features, real)

    curves = {mode: train(mode, config, examples, real, args, features, real_features)
              for mode in modes}
    final = {mode: curve[-1] for mode, curve in curves.items()}
    compared = len(curves) == 2
    target = max(point["swd"] for point in final.values())  # every run reaches it
    final_stage = final[modes[0]]["stage"]
    reach = {mode: time_to_reach(curve, target, final_stage) for mode, curve in curves.items()}
    equal_clock = (at_seconds(curves["direct"], final["progressive"]["train_seconds"])
                   if compared else None)
    summary = {
        "images_per_phase": args.images_per_phase,
        "final_images": config.family_options.final_stable_images, "seed": args.seed,
        "fmap_base": args.fmap_base, "fmap_max": args.fmap_max, "ema": ema,
        "batch_sizes": batch_sizes, "learning_rate": args.learning_rate,
        "stage_learning_rates": args.stage_learning_rates, "classifier_test_accuracy": accuracy,
        "real_vs_real_swd": floor, "target_swd": target, "seconds_to_target": reach,
        "speedup": (reach["direct"] / reach["progressive"]
                    if compared and reach["direct"] and reach["progressive"] else None),
        "direct_at_progressive_end": equal_clock, "final": final, "curves": curves,
    }
    out.write_json(f"{args.name}.json", summary, indent=2)
    lines = [
        f"ProGAN on Fashion-MNIST 32x32, same final networks (fmap_base {args.fmap_base}, cap "
        f"{args.fmap_max}), {args.images_per_phase} images per fade-in / stable phase while "
        f"growing and {summary['final_images']} in the 32x32 stable phase "
        f"({sum(progan_lib.stage_images(config))} in all), batch per resolution "
        f"{summary['batch_sizes']} (direct: the last), learning rate "
        f"{rates_words}, generator {ema}, "
        f"seed {args.seed}; SWD x 1e3 on {args.eval_samples} samples, "
        f"{args.nhoods_per_image} neighbourhoods per image and level (real vs real: "
        f"{floor:.2f}); Frechet distance on the features of a Fashion-MNIST classifier "
        f"({accuracy:.3f} test accuracy).",
        "",
        "| run | images | training seconds | SWD | Frechet | seconds to SWD <= "
        f"{target:.2f} |",
        "|---|---|---|---|---|---|",
    ]

    def row(name, point, reached):
        return (f"| {name} | {point['images']} | {point['train_seconds']:.0f} | "
                f"{point['swd']:.2f} | {point['frechet']:.2f} | {reached} |")

    for mode in curves:
        reached = f"{reach[mode]:.0f}" if reach[mode] else "not reached"
        lines.append(row(f"{mode} (end: equal images)", final[mode], reached))
    if compared:
        lines.append(row("direct at the progressive run's end (equal wall-clock)",
                         equal_clock, "-"))
    if summary["speedup"]:
        lines += ["", f"Speed-up to the same SWD (direct / progressive): "
                      f"{summary['speedup']:.2f}x"]
    out.write_markdown(f"{args.name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(curves, out.path(f"{args.name}.png"))  # last: tables survive no matplotlib
    out.stamp_png(out.path(f"{args.name}.png"))


if __name__ == "__main__":
    main()
