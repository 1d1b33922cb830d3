"""The stability claim, measured: how many random settings each family trains.

Gulrajani et al. 2017 (WGAN-GP, sec. 5.1) argue that the gradient penalty
trains architectures and settings that break other methods, and show it by
training many random architectures. This benchmark does the same on the
bundled digits at 16x16: ``--settings`` random settings are drawn once (seed
``--draw_seed``) from fixed ranges, and every family trains every one of
them for the same number of generator steps:

- learning rate, log-uniform in [1e-5, 1e-3] (both networks, the family's
  own optimizer: Adam, or RMSProp for WGAN);
- n_critic, 1..5 (families that take it: DCGAN, WGAN, WGAN-GP, SNGAN, R3GAN);
- filters, 16..64 (the first convolution's; doubling per down-sampling);
- normalisation: none, batch or layer, in both networks (WGAN-GP's critic
  takes layer norm where batch is drawn: the penalty is per example, so the
  paper's rule is no batch norm in the critic; SNGAN's and R3GAN's critics
  take none there, as their papers' critics have none; SNGAN wraps every
  critic layer in ``SpectralNorm``);
- depth: 0..2 extra 3x3 convolutions after every resampling convolution;
- activation: ReLU, LeakyReLU(0.2), ELU or tanh, in both networks.

DCGAN, WGAN, WGAN-GP, SNGAN and R3GAN share networks built from the whole draw (below,
through the Python API). BEGAN and ProGAN are defined by their own
networks (an auto-encoder critic; progressive growing with equalised
learning rate and pixel norm), so they train their shipped digits config
with the draws that fit them: learning rate and filters (BEGAN's ``n``,
ProGAN's widest layer).

Each run is scored on 2,000 samples with the bundled digit classifier
(``tfgan_stable.metrics.digit_classifier``): the Frechet distance of its
64-D features to the real digits, and the classes that get at least 2% of
the samples. A run **trains** when its Frechet distance is at most
``--max_frechet`` and it covers at least ``--min_classes`` classes: see
:data:`THRESHOLD_WHY`.

    python -m bench.robustness --out bench/results            # 12 settings, 5 families

Writes ``<name>.json``, ``<name>.md``, ``<name>.png`` (the final distances)
and ``<name>_samples.png`` (a row of samples per setting, shipped config
first, a block per family; the samples also go to ``<name>_samples.npz``, not
committed, so that ``--report_only`` can merge sweeps split with ``--only``)
into ``<out>/robustness/`` (``--name``, default ``robustness``).
"""

import json
import math
import os
import tempfile
import time

import numpy as np

import tfgan_stable as tg
import keras
from keras import layers

from tfgan_stable import config as config_lib
from tfgan_stable import data, hardware, metrics, networks, train_lib

from bench import common

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAMILIES = ("dcgan", "wgan", "wgan_gp", "began", "progan", "sngan", "r3gan")
SWEEP_FAMILIES = {"dcgan": tg.DCGAN, "wgan": tg.WGAN, "wgan_gp": tg.WGANGP,
                  "sngan": tg.SNGAN, "r3gan": tg.R3GAN}
ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh")
NORMALIZATIONS = ("none", "batch", "layer")
LATENT_DIM, RESOLUTION = 64, 16
SAMPLES_SHOWN = 6
THRESHOLD_WHY = (
    "Frechet distance <= {max_frechet:g} and >= {min_classes} of 10 classes with >= 2% of the "
    "samples: about what the shipped DCGAN and WGAN-GP digit configs reach at 600 steps "
    "(7.7, all 10 classes), so a random setting trains when it does about as well as a tuned "
    "one. The looser counts show the spread (at 600 steps the shipped WGAN config reaches 27.7; "
    "BEGAN's 61.6 and ProGAN's 350 say their shipped configs, 3,000 and 1,250 steps long, have "
    "not trained yet at this budget). The class count catches a generator that makes a few "
    "good digits only (mode collapse), which a distance on 2,000 samples can miss.")


def draw_settings(count, seed):
    """``count`` random settings from the ranges in the module docstring; same seed, same draws."""
    rng = np.random.default_rng(seed)
    settings = []
    for index in range(count):
        settings.append({
            "index": index,
            "learning_rate": float(10 ** rng.uniform(-5, -3)),
            "n_critic": int(rng.integers(1, 6)),
            "filters": int(rng.integers(16, 65)),
            "normalization": str(rng.choice(NORMALIZATIONS)),
            "depth": int(rng.integers(0, 3)),
            "activation": str(rng.choice(ACTIVATIONS)),
        })
    return settings


def _activation(name):
    return layers.LeakyReLU(0.2) if name == "leaky_relu" else layers.Activation(name)


def _block(x, conv, setting, normalization, name, normalize=True, wrap=lambda layer: layer):
    """conv -> norm -> activation, then ``depth`` x (3x3 conv -> norm -> activation);
    ``wrap`` is applied to every convolution (SNGAN's SpectralNorm)."""
    x = wrap(conv)(x)
    for extra in range(setting["depth"] + 1):
        if extra:
            x = wrap(layers.Conv2D(conv.filters, 3, padding="same",
                                   name=f"{name}_extra{extra}"))(x)
        norm = (networks.normalization_layer(normalization, f"{name}_norm{extra}")
                if normalize or extra else None)
        x = norm(x) if norm else x
        x = _activation(setting["activation"])(x)
    return x


def sweep_generator(setting, channels=1):
    """DCGAN-shaped generator (4x4 -> 16x16 by transposed convolutions) built from a draw."""
    filters, normalization = setting["filters"], setting["normalization"]
    z = keras.Input((LATENT_DIM,), name="z")
    x = layers.Dense(4 * 4 * filters * 4, name="project")(z)
    x = layers.Reshape((4, 4, filters * 4))(x)
    norm = networks.normalization_layer(normalization, "project_norm")
    x = _activation(setting["activation"])(norm(x) if norm else x)
    for i, width in enumerate((filters * 2, filters)):
        up = layers.Conv2DTranspose(width, 4, strides=2, padding="same", name=f"up{i}")
        x = _block(x, up, setting, normalization, f"up{i}")
    x = layers.Conv2D(channels, 3, padding="same", name="to_image")(x)
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(z, images, name="generator")


def sweep_critic(setting, normalization, channels=1, spectral_norm=False):
    """DCGAN-shaped critic (16x16 -> 4x4 by strided convolutions) built from a draw;
    with ``spectral_norm`` every convolution and the score in a ``SpectralNorm``."""
    filters = setting["filters"]
    images = keras.Input((RESOLUTION, RESOLUTION, channels), name="images")
    x = images
    wrap = tg.SpectralNorm if spectral_norm else (lambda layer: layer)
    for i, width in enumerate((filters, filters * 2)):
        down = layers.Conv2D(width, 4, strides=2, padding="same", name=f"down{i}")
        x = _block(x, down, setting, normalization, f"down{i}", normalize=i > 0, wrap=wrap)
    x = layers.Flatten()(x)
    score = wrap(layers.Dense(1, dtype="float32", name="score"))(x)
    return keras.Model(images, score, name="discriminator")


def _train_sweep_family(family, setting, seed, examples, args):
    """DCGAN / WGAN / WGAN-GP on the draw's networks, through the Python API."""
    keras.mixed_precision.set_global_policy(hardware.auto_precision()[0] or "float32")
    critic_normalization = setting["normalization"]
    if family == "wgan_gp" and critic_normalization == "batch":
        critic_normalization = "layer"
    if family in ("sngan", "r3gan") and critic_normalization == "batch":
        critic_normalization = "none"
    gan_class = SWEEP_FAMILIES[family]
    gan = gan_class(sweep_generator(setting),
                    sweep_critic(setting, critic_normalization,
                                 spectral_norm=family == "sngan"),
                    n_critic=setting["n_critic"], seed=seed)
    lr = setting["learning_rate"]
    d_optimizer, g_optimizer = gan_class.default_optimizers(d_learning_rate=lr,
                                                            g_learning_rate=lr)
    gan.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer,
                steps_per_execution=math.gcd(args.steps, 50))
    dataset = tg.make_dataset(examples, batch_size=args.batch_size, n_critic=gan.n_critic,
                              seed=seed)
    gan.fit(dataset, steps_per_epoch=args.steps, epochs=1, verbose=0)
    return gan


def _train_config(family, setting, seed, args):
    """The family's shipped digits config for ``args.steps`` generator steps; with a
    draw (BEGAN, ProGAN), its learning rate and filters."""
    overrides = [f"train.seed={seed}", "export.enabled=false", "train.verbose=0",
                 f"train.steps_per_epoch={args.steps // 10}"]
    if setting is not None:
        lr, filters = setting["learning_rate"], setting["filters"]
        overrides += [f"optimizer.d_learning_rate={lr}", f"optimizer.g_learning_rate={lr}"]
        overrides += ([f"model.max_filters={filters}", f"progan.fmap_base={4 * filters}"]
                      if family == "progan" else
                      [f"model.g_filters={filters}", f"model.d_filters={filters}"])
    if family == "progan":
        batch = args.batch_size
        phase = args.steps * batch // 5  # 4x4 stable, then fade-in + stable at 8x8 and 16x16
        overrides += [f"progan.transition_images={phase}", f"progan.stable_images={phase}",
                      f"progan.batch_sizes={[batch] * 3}"]
    else:
        overrides += [f"train.steps={args.steps}"]
    config = config_lib.load(os.path.join(REPO, "configs", f"{family}_digits.yaml"), overrides)
    return train_lib.run(config, tempfile.mkdtemp(prefix=f"robustness_{family}_")).model


def score(samples, classifier, frechet):
    """``{frechet, classes}`` of samples in [-1, 1]; non-finite samples score inf / 0."""
    samples = np.asarray(samples, np.float32)
    if not np.isfinite(samples).all():
        return {"frechet": float("inf"), "classes": 0}
    samples = np.clip(samples, -1, 1)
    digits = metrics.digit_classifier_input(samples.mean(axis=-1))
    histogram = np.bincount(classifier.predict(digits, verbose=0).argmax(1), minlength=10)
    return {"frechet": float(frechet(samples)),
            "classes": int((histogram >= 0.02 * len(samples)).sum())}


def run_one(family, setting, seed, examples, classifier, frechet, args):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    if setting is not None and family in SWEEP_FAMILIES:
        gan = _train_sweep_family(family, setting, seed, examples, args)
    else:
        gan = _train_config(family, setting, seed, args)
    seconds = time.perf_counter() - start
    samples = gan.generate_numpy(args.samples, seed=1000 + seed, batch_size=500)
    result = {"family": family, "setting": result_key(setting), "seed": seed,
              "seconds": round(seconds, 1), **score(samples, classifier, frechet)}
    return result, np.clip(samples[:SAMPLES_SHOWN], -1, 1)


def result_key(setting):
    return "shipped" if setting is None else setting["index"]


def _setting_text(setting):
    if setting is None:
        return "the family's shipped digits config"
    return (f"lr {setting['learning_rate']:.1e}, n_critic {setting['n_critic']}, "
            f"{setting['filters']} filters, {setting['normalization']} norm, "
            f"depth +{setting['depth']}, {setting['activation']}")


def mark_trains(runs, args):
    """Sets each run's ``trains`` from the thresholds in ``args``."""
    for run in runs:
        run["trains"] = bool(run["frechet"] <= args.max_frechet
                             and run["classes"] >= args.min_classes)


def loose_count(rows, max_frechet, args):
    return sum(r["frechet"] <= max_frechet and r["classes"] >= args.min_classes for r in rows)


def write_report(settings, runs, args, out):
    """Writes ``<name>.md`` and ``<name>.json`` through ``out`` (a ``common.Results``)."""
    mark_trains(runs, args)
    families = [f for f in FAMILIES if any(r["family"] == f for r in runs)]
    lines = [
        f"{len(settings)} random settings (drawn with seed {args.draw_seed}), every family "
        f"{args.steps} generator steps on digits 16x16 (batch {args.batch_size}; BEGAN its "
        f"config's batch), seed {args.seed}; {args.samples} samples scored by the digit "
        f"classifier. Command: `python -m bench.robustness --steps {args.steps} --settings "
        f"{len(settings)} --out bench/results`.", "",
        "**Trains** = " + THRESHOLD_WHY.format(max_frechet=args.max_frechet,
                                              min_classes=args.min_classes), "",
        "| family | settings that train | " + "".join(
            f"Frechet <= {t:g}, >= {args.min_classes} classes | " for t in args.looser)
        + "Frechet: median (quartiles) | classes: median | seconds per run | "
        "shipped config: Frechet / classes |", "|---|---|" + "---|" * len(args.looser)
        + "---|---|---|---|",
    ]
    shipped = {r["family"]: r for r in runs if r["setting"] == "shipped"}
    for family in families:
        rows = [r for r in runs if r["family"] == family and r["setting"] != "shipped"]
        if not rows:
            continue
        frechet = np.array([r["frechet"] for r in rows])
        q1, median, q3 = np.percentile(frechet, [25, 50, 75])
        lines.append(
            f"| {family} | {sum(r['trains'] for r in rows)} / {len(rows)} | "
            + "".join(f"{loose_count(rows, t, args)} / {len(rows)} | " for t in args.looser)
            + f"{median:.1f} "
            f"({q1:.1f}-{q3:.1f}) | {np.median([r['classes'] for r in rows]):.0f} | "
            f"{np.mean([r['seconds'] for r in rows]):.0f} | "
            + (f"{shipped[family]['frechet']:.1f} / {shipped[family]['classes']} |"
               if family in shipped else " |"))
    lines += ["", "Per setting: Frechet distance / classes (bold: trains). BEGAN and ProGAN take "
              "only the learning rate and filters.", "",
              "| setting | " + " | ".join(families) + " |",
              "|---|" + "---|" * len(families)]
    for setting in settings:
        cells = []
        for family in families:
            match = [r for r in runs if r["family"] == family and r["setting"] == setting["index"]]
            if not match:
                cells.append("")
                continue
            text = f"{match[0]['frechet']:.1f} / {match[0]['classes']}"
            cells.append(f"**{text}**" if match[0]["trains"] else text)
        lines.append(f"| {setting['index']}: {_setting_text(setting)} | " + " | ".join(cells) + " |")
    out.write_markdown(f"{args.name}.md", "\n".join(lines) + "\n")
    out.write_json(f"{args.name}.json", {
        "settings": settings, "runs": runs, "args": common.arguments(args),
        "threshold": THRESHOLD_WHY.format(max_frechet=args.max_frechet,
                                          min_classes=args.min_classes)}, indent=1)
    return families


def plot(runs, families, args, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ceiling = 10 * args.max_frechet
    for x, family in enumerate(families):
        rows = [r for r in runs if r["family"] == family]
        values = np.array([min(r["frechet"], ceiling) for r in rows])
        jitter = np.random.default_rng(x).uniform(-0.15, 0.15, len(values))
        colors = ["tab:green" if r["trains"] else "tab:red" for r in rows]
        ax.scatter(np.full(len(values), x) + jitter, values, c=colors, s=22)
    ax.axhline(args.max_frechet, color="grey", linestyle="--", label="Frechet threshold")
    ax.set_yscale("log")
    ax.set_xticks(range(len(families)), families)
    ax.set(ylabel=f"digit-classifier Frechet distance (capped at {ceiling:g})",
           title=f"one point per random setting, {args.steps} steps (green: trains)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sample_sheet(shown, families, path):
    """Rows: the shipped config, then each setting; a block of samples per family
    (black where a run is missing)."""
    from tfgan_stable.utils import images as images_lib

    blocks, keys = [], list(dict.fromkeys(key[1] for key in shown))
    blank = -np.ones_like(next(iter(shown.values())))  # a black row where a run is missing
    for family in families:
        rows = [shown.get((family, key), blank) for key in keys]
        blocks.append(images_lib.image_grid(np.concatenate(rows), SAMPLES_SHOWN))
        blocks.append(np.full((blocks[-1].shape[0], 8, blocks[-1].shape[2]), 255, np.uint8))
    images_lib.save_png(np.concatenate(blocks[:-1], axis=1), path, min_side=1024)


def outputs(args):
    names = [f"{args.name}.md", f"{args.name}.json", f"{args.name}.png",
             f"{args.name}_samples.png"]
    return names if args.report_only else names + [f"{args.name}_samples.npz"]


def main(argv=None):
    parser = common.parser(__doc__.split("\n")[0], "robustness",
                           name_help="stem of the output files")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--settings", type=int, default=12)
    parser.add_argument("--draw_seed", type=int, default=2017)
    parser.add_argument("--seed", type=int, default=0, help="training seed of every run")
    parser.add_argument("--steps", type=int, default=600, help="generator steps per run")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--max_frechet", type=float, default=10.0)
    parser.add_argument("--min_classes", type=int, default=8)
    parser.add_argument("--looser", type=float, nargs="*", default=[25.0, 50.0],
                        help="more Frechet thresholds to count runs at (as the WGAN-GP paper "
                             "counts its sweep at several Inception-score thresholds)")
    parser.add_argument("--reference", type=int, default=1,
                        help="1: first train every family's shipped config for the same budget")
    parser.add_argument("--only", type=int, nargs="*", default=None,
                        help="train these setting indices only (to split a sweep over processes)")
    parser.add_argument("--report_only", nargs="*", default=None,
                        help="robustness JSON files: merge their runs and rewrite the table and "
                             "plot at these thresholds")
    args, out = common.parse(parser, outputs, argv)
    out.precision = ("WGAN-GP/WGAN/DCGAN sweeps: " + common.auto_precision()
                     + "; BEGAN and ProGAN: " + common.config_precision())

    if args.report_only:
        runs, settings = {}, []
        for path in args.report_only:
            with open(path) as f:
                stored = json.load(f)
            runs.update({(r["family"], r["setting"]): r for r in stored["runs"]})
            settings = max(settings, stored["settings"], key=len)  # same draw seed: prefixes
        for key in ("draw_seed", "seed", "steps", "batch_size", "samples"):
            setattr(args, key, stored["args"][key])
        order = {key: i for i, key in enumerate(["shipped"] + list(range(len(settings))))}
        runs = sorted(runs.values(), key=lambda r: order[r["setting"]])
        families = write_report(settings, runs, args, out)
        plot([r for r in runs if r["setting"] != "shipped"], families, args,
             out.path(f"{args.name}.png"))
        out.stamp_png(out.path(f"{args.name}.png"))
        shown = {}
        for path in args.report_only:
            samples = path[:-len(".json")] + "_samples.npz"
            if os.path.isfile(samples):
                for key, value in np.load(samples).items():
                    family, setting = key.split("/")
                    shown[family, setting if setting == "shipped" else int(setting)] = value
        if shown:
            shown = dict(sorted(shown.items(), key=lambda item: order[item[0][1]]))
            sample_sheet(shown, families, out.path(f"{args.name}_samples.png"))
            out.stamp_png(out.path(f"{args.name}_samples.png"))
        return
    settings = draw_settings(args.settings, args.draw_seed)
    classifier = metrics.digit_classifier()
    examples = tg.load_examples("digits", resolution=RESOLUTION)
    real = data.sample_examples(examples, 2000)
    frechet = metrics.evaluation_suite("digits", real, names=("fid",),
                                       classifier=classifier)["fid"]
    runs, shown = [], {}
    chosen = [s for s in settings if args.only is None or s["index"] in args.only]
    for setting in ([None] if args.reference else []) + chosen:
        for family in args.families:
            result, shown[family, result_key(setting)] = run_one(
                family, setting, args.seed, examples, classifier, frechet, args)
            runs.append(result)
            print(json.dumps({**result, "draw": _setting_text(setting)}), flush=True)
            families = write_report(settings, runs, args, out)
            np.savez_compressed(out.path(f"{args.name}_samples.npz"),
                                **{f"{f}/{k}": v for (f, k), v in shown.items()})
    plot([r for r in runs if r["setting"] != "shipped"], families, args,
         out.path(f"{args.name}.png"))
    out.stamp_png(out.path(f"{args.name}.png"))
    sample_sheet(shown, families, out.path(f"{args.name}_samples.png"))
    out.stamp_png(out.path(f"{args.name}_samples.png"))


if __name__ == "__main__":
    main()
