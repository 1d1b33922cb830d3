"""How far bfloat16 gradients land from float32's: oneDNN's convolutions against the matrix paths.

A WGAN-GP step takes three gradients: the critic's Wasserstein loss, the
gradient penalty (a double backward through the critic) and the generator's
loss. For a WGAN-GP config this builds the generator and the critic in
float32 and three times in ``mixed_bfloat16`` with the same weights, whatever
the family builds: with Keras' oneDNN convolutions everywhere; with only
the kernel gradients of the ``small_conv`` layers as matrix products where
their rule takes them (``matrix_filter_gradient``, what the WGAN-GP family
builds); and with the whole matrix path (``matrix_path``, as DCGAN's, which
takes both). On one batch it
computes each gradient and reports, per variable, the relative error of the
bfloat16 gradient, ``|g_bf16 - g_f32| / |g_f32|``. The matrix products should
be no less exact than oneDNN; a bias gradient summed with bfloat16 rounding
was found this way (``small_conv.add_bias``).

    python -m bench.gradient_precision --out bench/results

Writes ``<name>.json`` and ``<name>.md`` (``--name``, default
``gradient_precision``) into ``<out>/gradient_precision/``. The pixels
are uniform in [-1, 1] (no data files needed).
"""

import os
import statistics

import numpy as np

import tfgan_stable  # noqa: F401  (Keras on TensorFlow)
import keras
import tensorflow as tf

from tfgan_stable import build, distribute, hardware, losses, penalties
from tfgan_stable.fast import small_conv
from tfgan_stable import config as config_lib

from bench import common
from bench.train_step_speed import random_images

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# variant -> (matrix_path, matrix_filter_gradient) of every small_conv layer
VARIANTS = {"oneDNN convolutions": (False, False), "matrix filter gradient": (False, True),
            "matrix path": (True, True)}
GRADIENTS = ("critic loss", "penalty", "generator loss")


def networks(config, examples, policy, weights=None, variant="oneDNN convolutions"):
    """The config's networks, their small-map convolutions switched as ``variant``
    says whatever the family builds."""
    with distribute.mixed_precision(policy):
        generator, critic = build.build_networks(config, examples)
    for model in (generator, critic):
        for layer in model.layers:
            if isinstance(layer, (small_conv.Conv2D, small_conv.Conv2DTranspose)):
                layer.matrix_path, layer.matrix_filter_gradient = VARIANTS[variant]
    if weights is not None:
        generator.set_weights(weights[0])
        critic.set_weights(weights[1])
    return generator, critic


def gradients(generator, critic, real, latent, alpha):
    """``{gradient name: {variable path: array}}`` on one batch (traced once)."""

    @tf.function
    def compute():
        with tf.GradientTape(persistent=True) as tape:
            fake = tf.cast(generator(latent, training=True), tf.float32)
            real_scores = tf.cast(critic(real, training=True), tf.float32)
            fake_scores = tf.cast(critic(fake, training=True), tf.float32)
            critic_loss = losses.wasserstein_critic_loss(real_scores, fake_scores)
            penalty, _ = penalties.gradient_penalty(critic, real, tf.stop_gradient(fake),
                                                    alpha=alpha)
            generator_loss = losses.wasserstein_generator_loss(fake_scores)
        return [tape.gradient(loss, model.trainable_variables) for loss, model in
                ((critic_loss, critic), (penalty, critic), (generator_loss, generator))]

    result = {}
    for name, grads, model in zip(GRADIENTS, compute(), (critic, critic, generator)):
        result[name] = {variable.path: np.asarray(g, np.float64)
                        for variable, g in zip(model.trainable_variables, grads)
                        if g is not None}
    return result


def matrix_path_variables(generator, critic):
    """Paths of the variables of layers that take either matrix path in bfloat16."""
    taken = set()
    for model in (generator, critic):
        for layer in model.layers:
            if not isinstance(layer, (small_conv.Conv2D, small_conv.Conv2DTranspose)):
                continue
            inputs = tf.zeros((1, *layer.input.shape[1:]), tf.bfloat16)
            if layer.takes_matrix_path(inputs) or layer.takes_matrix_filter_gradient(inputs):
                taken.update(v.path for v in layer.trainable_variables)
    return taken


def measure(config_name, overrides, batch_size, seed):
    keras.backend.clear_session()
    config = config_lib.load(os.path.join(REPO, "configs", f"{config_name}.yaml"), overrides)
    res = config.data.resolution
    examples = random_images((res, res, 1), count=batch_size, seed=seed)
    keras.utils.set_random_seed(seed)
    generator, critic = networks(config, examples, "float32")
    weights = generator.get_weights(), critic.get_weights()
    rng = np.random.default_rng(seed)
    real = tf.constant(rng.uniform(-1, 1, (batch_size, res, res, 1)), tf.float32)
    latent = tf.constant(rng.normal(size=(batch_size, config.model.latent_dim)), tf.float32)
    alpha = tf.constant(rng.uniform(size=batch_size), tf.float32)
    reference = gradients(generator, critic, real, latent, alpha)
    errors = {}
    for variant in VARIANTS:
        g16, c16 = networks(config, examples, "mixed_bfloat16", weights, variant)
        if variant == "matrix path":
            on_path = matrix_path_variables(g16, c16)
        got = gradients(g16, c16, real, latent, alpha)
        errors[variant] = {
            name: {path: float(np.linalg.norm(got[name][path] - ref)
                               / max(np.linalg.norm(ref), 1e-30))
                   for path, ref in reference[name].items()}
            for name in GRADIENTS}
    norms = {name: {path: float(np.linalg.norm(ref)) for path, ref in reference[name].items()}
             for name in GRADIENTS}
    return {"config": config_name, "overrides": overrides, "batch_size": batch_size,
            "seed": seed, "matrix_path_variables": sorted(on_path), "norms": norms,
            "errors": errors}


def markdown(rows, cpu):
    lines = [
        "Relative error of each bfloat16 gradient against float32's (same weights, same "
        "batch): |g_bf16 - g_f32| / |g_f32|, with the small_conv layers' matrix products "
        "off (oneDNN convolutions), for the kernel gradients only (matrix filter gradient) "
        f"and for the whole convolution (matrix path); {cpu['model']}, {cpu['cores']} cores "
        f"({', '.join(cpu['bf16_features']) or 'no bfloat16 instructions'}). Rows: the "
        "variables of layers on either path, then the median and the largest error "
        "over all variables.",
        "",
        "| config | gradient | variable | " + " | ".join(VARIANTS) + " |",
        "|---|---|---|" + "---|" * len(VARIANTS),
    ]
    for row in rows:
        label = row["config"] + "".join(f" {o}" for o in row["overrides"])
        for name in GRADIENTS:
            by_variant = [row["errors"][variant][name] for variant in VARIANTS]
            for path in sorted(by_variant[0]):
                if path in row["matrix_path_variables"]:
                    cells = " | ".join("%.4f" % errors[path] for errors in by_variant)
                    lines.append(f"| {label} | {name} | {path} | {cells} |")
            for summary, fn in (("median of all", statistics.median), ("largest of all", max)):
                cells = " | ".join("%.4f" % fn(errors.values()) for errors in by_variant)
                lines.append(f"| {label} | {name} | {summary} | {cells} |")
    return "\n".join(lines) + "\n"


def outputs(args):
    return [f"{args.name}.json", f"{args.name}.md"]


def main(argv=None):
    parser = common.parser(__doc__, "gradient_precision")
    parser.add_argument("--configs", default="wgan_gp_digits:model.g_filters=128;"
                        "model.d_filters=128,wgan_gp_fashion_mnist",
                        help="comma-separated config[:override;override...]")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args, out = common.parse(parser, outputs, argv)
    out.precision = "float32 against mixed_bfloat16 (the same weights, per variant)"
    rows = []
    for spec in args.configs.split(","):
        name, _, overrides = spec.partition(":")
        rows.append(measure(name, [o for o in overrides.split(";") if o], args.batch_size,
                            args.seed))
    cpu = hardware.cpu_description()
    out.write_json(f"{args.name}.json", {"cpu": cpu, "rows": rows}, indent=2)
    text = markdown(rows, cpu)
    out.write_markdown(f"{args.name}.md", text)
    print(text)


if __name__ == "__main__":
    main()
