"""What the library costs: each family's train step against a plain training loop.

The floor for a train step is a ``tf.function`` with ``tf.GradientTape`` that
does the same arithmetic on the same networks, optimizers and batch. For every
family this script builds the library GAN from its ``configs/<family>_digits``
config (16x16 digits; ProGAN at its final stage with alpha 1) and a plain loop
on networks built from the same seed, and times, *interleaved* in rounds of
``--steps`` steps each (the order rotating every round, so that machine noise
hits all of them):

* ``plain``: the plain ``tf.function`` called from a Python loop;
* ``train_step``: the library GAN's ``train_step`` in a ``tf.function``, called
  from the same loop (what the library's own graph costs);
* ``fit``: ``model.fit`` with ``steps_per_execution=1`` and ``=10`` (what
  Keras' loop adds per step, and how much ``steps_per_execution`` takes back).

Each variant's time is the median over rounds; ratios are over ``plain``. It
does so with and without ``jit_compile``, and times the input pipeline alone
(elements per second) against the rate the train step consumes them.

    python bench/train_step_speed.py --out bench/results

Writes ``train_step_speed.json`` and ``train_step_speed.md``. Keep the
machine otherwise idle while it runs.
"""

import argparse
import json
import os
import statistics
import time

import numpy as np

import tfgan_stable as tg  # noqa: F401  (Keras on TensorFlow)
import keras
import tensorflow as tf

from tfgan_stable import config as config_lib
from tfgan_stable import data as data_lib
from tfgan_stable import losses, registry, train_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAMILIES = tuple(config_lib.family_lib().names())


class StepClock(keras.callbacks.Callback):
    """Wall time per step between the first and the last batch-end callback of a fit.

    Keras calls ``on_train_batch_end`` once per execution with the index of
    its last step, so this also works with ``steps_per_execution > 1``.
    """

    def on_train_begin(self, logs=None):
        self.first = None

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if self.first is None:
            self.first = (now, batch)
        self.last = (now, batch)

    def per_step(self):
        return (self.last[0] - self.first[0]) / (self.last[1] - self.first[1])


def load_config(family, batch_size):
    config = config_lib.load(os.path.join(REPO, "configs", f"{family}_digits.yaml"),
                             [f"train.batch_size={batch_size}"])
    if family == "progan":
        stages = config.data.resolution.bit_length() - 2
        config = config_lib.from_dict(config_lib.apply_overrides(
            config.to_dict(), [f"progan.batch_sizes={[batch_size] * stages}"]))
    return config


def library_gan(config, examples, jit, steps_per_execution=1):
    keras.utils.set_random_seed(config.train.seed)
    gan = train_lib.build_gan(config, examples)
    gan.compile(d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer, jit_compile=jit,
                steps_per_execution=steps_per_execution)
    if config.model.family == "progan":
        gan.start_stage(gan.num_stages - 1)
        gan.stage_images_seen.assign(gan.transition_images)  # alpha 1
    return gan


def plain_step(config, examples, jit):
    """The same family's arithmetic as a bare tf.function on freshly built networks."""
    family, model_cfg = config.model.family, config.model
    options = config.family_options  # the family's own section
    keras.utils.set_random_seed(config.train.seed)
    generator, critic = train_lib.build_networks(config, examples)
    gan_class = registry.get_gan_class(family)
    d_opt, g_opt = gan_class.default_optimizers()
    d_opt.build(critic.trainable_variables)
    g_opt.build(generator.trainable_variables)
    n_critic = model_cfg.n_critic or gan_class.default_n_critic
    latent = model_cfg.latent_dim
    uniform = gan_class.latent_distribution == "uniform"
    ema = None
    if family == "progan":
        for network in (generator, critic):
            network.set_stage(network.num_stages - 1)
            network.alpha.assign(1.0)
        ema = keras.models.clone_model(generator)
        ema.set_stage(ema.num_stages - 1)
        ema.alpha.assign(1.0)
        ema.set_weights(generator.get_weights())
    k_t = tf.Variable(0.0)

    def noise(batch):
        if uniform:
            return tf.random.uniform((batch, latent), -1.0, 1.0)
        return tf.random.normal((batch, latent))

    def penalty(real, fake):
        alpha = tf.random.uniform((tf.shape(real)[0], 1, 1, 1))
        mixed = real + alpha * (fake - real)
        with tf.GradientTape() as inner:
            inner.watch(mixed)
            scores = critic(mixed, training=True)
        grads = inner.gradient(scores, mixed)
        norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-10)
        return tf.reduce_mean(tf.square(norms - 1.0))

    def critic_update(real):
        fake = generator(noise(tf.shape(real)[0]), training=True)
        with tf.GradientTape() as tape:
            real_out, fake_out = critic(real, training=True), critic(fake, training=True)
            if family == "dcgan":
                loss = losses.dcgan_discriminator_loss(real_out, fake_out)
            else:
                loss = losses.wasserstein_critic_loss(real_out, fake_out)
            if family in ("wgan_gp", "progan"):
                loss += options.gp_weight * penalty(real, fake)
            if family == "progan":
                loss += options.drift_weight * tf.reduce_mean(tf.square(real_out))
        d_opt.apply(tape.gradient(loss, critic.trainable_variables), critic.trainable_variables)
        if family == "wgan":
            for v in critic.trainable_variables:
                v.assign(tf.clip_by_value(v, -options.clip_value, options.clip_value))
        return loss

    def generator_update(batch):
        with tf.GradientTape() as tape:
            fake_out = critic(generator(noise(batch), training=True), training=True)
            if family == "dcgan":
                loss = losses.dcgan_generator_loss(fake_out)
            else:
                loss = losses.wasserstein_generator_loss(fake_out)
        g_opt.apply(tape.gradient(loss, generator.trainable_variables),
                    generator.trainable_variables)
        if ema is not None:
            decay = model_cfg.g_ema_decay or 0.999
            for e, w in zip(ema.weights, generator.weights):
                e.assign(decay * e + (1.0 - decay) * w)
        return loss

    def began_step(real):
        batch = tf.shape(real)[0]
        z_d, z_g = noise(batch), noise(batch)

        def rec(x):
            return tf.reduce_mean(tf.abs(x - critic(x, training=True)))

        with tf.GradientTape(persistent=True) as tape:
            fake_d = tf.stop_gradient(generator(z_d, training=True))
            fake_g = generator(z_g, training=True)
            loss_real = rec(real)
            d_loss = loss_real - k_t * rec(fake_d)
            g_loss = rec(fake_g)
        d_grads = tape.gradient(d_loss, critic.trainable_variables)
        g_grads = tape.gradient(g_loss, generator.trainable_variables)
        d_opt.apply(d_grads, critic.trainable_variables)
        g_opt.apply(g_grads, generator.trainable_variables)
        balance = options.gamma * loss_real - g_loss
        k_t.assign(tf.clip_by_value(k_t + options.lambda_k * balance, 0.0, 1.0))
        return d_loss

    @tf.function(jit_compile=jit)
    def step(element):
        if family == "began":
            return began_step(element)
        batches = [element] if n_critic == 1 else [element[:, i] for i in range(n_critic)]
        for real in batches:
            d_loss = critic_update(real)
        generator_update(tf.shape(batches[-1])[0])
        return d_loss

    return step


def time_loop(step, iterator, steps):
    """Per-step seconds of ``step(next(iterator))`` called from Python."""
    output = step(next(iterator))
    tf.nest.map_structure(np.asarray, output)
    start = time.perf_counter()
    for _ in range(steps):
        output = step(next(iterator))
    tf.nest.map_structure(np.asarray, output)  # wait for the last step
    return (time.perf_counter() - start) / steps


def time_fit(gan, dataset, steps):
    clock = StepClock()
    gan.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[clock])
    return clock.per_step()


def pipeline_rate(dataset, elements):
    iterator = iter(dataset)
    next(iterator)
    start = time.perf_counter()
    for _ in range(elements):
        next(iterator)
    return elements / (time.perf_counter() - start)


VARIANTS = ("plain", "train_step", "fit", "fit_spe10")


def measure(family, args, jit):
    config = load_config(family, args.batch_size)
    examples = data_lib.load_examples(config.data.name, resolution=config.data.resolution)
    gan = library_gan(config, examples, jit)
    gan_spe10 = library_gan(config, examples, jit, steps_per_execution=10)
    plain = plain_step(config, examples, jit)
    library_step = tf.function(gan.train_step, jit_compile=jit)
    dataset = data_lib.make_dataset(examples, args.batch_size, n_critic=gan.n_critic,
                                    seed=config.train.seed)
    iterator = iter(dataset)
    timers = {
        "plain": lambda steps: time_loop(plain, iterator, steps),
        "train_step": lambda steps: time_loop(library_step, iterator, steps),
        "fit": lambda steps: time_fit(gan, dataset, steps),
        "fit_spe10": lambda steps: time_fit(gan_spe10, dataset, steps),
    }
    for timer in timers.values():  # trace everything before timing
        timer(20)
    times = {name: [] for name in VARIANTS}
    for round_index in range(args.rounds):
        shift = round_index % len(VARIANTS)
        for name in VARIANTS[shift:] + VARIANTS[:shift]:
            times[name].append(timers[name](args.steps) * 1e3)
    median = {name: statistics.median(values) for name, values in times.items()}
    rate = pipeline_rate(dataset, args.pipeline_elements)
    fastest_library = min(median["fit"], median["fit_spe10"])
    return {"family": family, "jit_compile": jit, "n_critic": gan.n_critic,
            "ms": median, "all_ms": times,
            "ratio": {name: median[name] / median["plain"] for name in VARIANTS},
            "pipeline_elements_per_s": rate,
            "pipeline_headroom": rate * fastest_library / 1e3}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40, help="steps per timed block")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--pipeline_elements", type=int, default=200)
    parser.add_argument("--jit", default="false,true")
    parser.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    args = parser.parse_args()
    if args.steps % 10 or args.steps < 20:
        parser.error("--steps must be a multiple of 10 and >= 20 (steps_per_execution=10 "
                     "is timed between its first and last execution)")
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for jit in [value == "true" for value in args.jit.split(",")]:
        for family in args.families.split(","):
            keras.backend.clear_session()
            row = measure(family, args, jit)
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "all_ms"}), flush=True)
    with open(os.path.join(args.out, "train_step_speed.json"), "w") as f:
        json.dump({"batch_size": args.batch_size, "steps": args.steps, "rounds": args.rounds,
                   "rows": rows}, f, indent=2)
    lines = [
        f"Digits 16x16, batch {args.batch_size}, the families' digits configs; median of "
        f"{args.rounds} interleaved blocks of {args.steps} steps; 2 CPU cores. "
        "ms per train step (one generator step and n_critic critic steps); ratios over the "
        "plain loop (1.00 = no cost). Pipeline headroom = elements the input pipeline alone "
        "delivers per second / elements the fastest library variant consumes per second.",
        "",
        "| family | jit_compile | n_critic | plain loop | library train_step | fit | "
        "fit, steps_per_execution 10 | pipeline headroom |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ms, ratio = row["ms"], row["ratio"]
        cells = [f"{ms['plain']:.1f} ms"] + [
            f"{ms[name]:.1f} ms ({ratio[name]:.3f})" for name in VARIANTS[1:]]
        lines.append(f"| {row['family']} | {str(row['jit_compile']).lower()} | "
                     f"{row['n_critic']} | " + " | ".join(cells) +
                     f" | {row['pipeline_headroom']:.0f}x |")
    with open(os.path.join(args.out, "train_step_speed.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
