"""What the library costs and what it gains: train steps against a plain loop and a peer.

**Overhead.** The floor for a train step is a ``tf.function`` with
``tf.GradientTape`` that does the same arithmetic on the same networks,
optimizers and batch. For every family this builds the library GAN from its
``configs/<family>_digits`` config (16x16 digits; ProGAN at its final stage
with alpha 1, float32) and a plain loop on networks built from the same seed,
and times, *interleaved* in rounds of ``--steps`` steps each (the order
rotating every round, so that machine noise hits all of them):

* ``plain``: the plain ``tf.function`` called from a Python loop;
* ``train_step``: the library GAN's ``train_step`` in a ``tf.function``, called
  from the same loop (what the library's own graph costs);
* ``fit``: ``model.fit`` with ``steps_per_execution`` 1 and each of ``--spe``
  (what Keras' loop adds per step, and how much executing several steps per
  call takes back; ``train.steps_per_execution: auto`` picks up to 50).

Each variant's time is the median over rounds; ratios are over ``plain``. It
does so with and without ``jit_compile`` (``--jit``), and times the input
pipeline alone (elements per second) against the rate the train step consumes
them.

**Peer.** What a user would write instead: the popular Keras WGAN-GP example's
train step on its own networks (``bench/keras_example_wgan_gp.py``: 28x28x1,
3 critic steps, Adam(2e-4, 0.5, 0.9), ``fit`` with its defaults), against the
library's ``WGANGP`` on the same networks with the same arithmetic (3 critic
steps, penalty 10, the same optimizers), at ``--peer_batch_sizes``:

* ``peer``: the example, float32;
* ``library_float32``: the library in the same precision;
* ``library_defaults``: the library at its default precision,
  ``train.mixed_precision: auto`` (bfloat16 where the hardware computes in it);
* ``library_fast_layers``: as ``library_defaults``, the networks passed through
  ``tg.with_fast_layers`` (the library's batch norm and small-map convolutions
  in place of Keras': same architecture, weights and arithmetic);
* ``library_fast_layers_matrix_path_off``: the same with ``matrix_path=False``:
  the batch norm swapped, Keras' convolutions kept forward, their kernel
  gradients (and transposed convolutions from small maps) as matrix products
  in bfloat16 (as the library's own WGAN-GP networks build them, for
  quality).

Images per second and ratios over the peer; interleaved like the overhead rows.
The pixels are random (a step's time does not depend on them).

    python -m bench.train_step_speed --out bench/results

Writes ``<name>.json`` and ``<name>.md`` (``--name``, default
``train_step_speed``) into ``<out>/train_step_speed/``. Keep the
machine otherwise idle while it runs. On a GPU the same script runs unchanged.
"""

import json
import os
import statistics
import time

import numpy as np

import tfgan_stable as tg
import keras
import tensorflow as tf

from tfgan_stable import config as config_lib
from tfgan_stable import data as data_lib
from tfgan_stable import distribute, hardware, losses, registry, train_lib

from bench import common
from bench import keras_example_wgan_gp as peer

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


def interleaved(timers, rounds, steps):
    """Median ms per step of each timer, timed in rounds whose order rotates."""
    names = tuple(timers)
    for timer in timers.values():  # trace everything before timing
        timer(steps)
    times = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(timers[name](steps) * 1e3)
    return {name: statistics.median(values) for name, values in times.items()}, times


def measure(family, args, jit):
    config = load_config(family, args.batch_size)
    examples = data_lib.load_examples(config.data.name, resolution=config.data.resolution)
    gans = {"fit": library_gan(config, examples, jit)}
    for spe in args.spe:
        gans[f"fit_spe{spe}"] = library_gan(config, examples, jit, steps_per_execution=spe)
    plain = plain_step(config, examples, jit)
    library_step = tf.function(gans["fit"].train_step, jit_compile=jit)
    dataset = data_lib.make_dataset(examples, args.batch_size, n_critic=gans["fit"].n_critic,
                                    seed=config.train.seed)
    iterator = iter(dataset)
    timers = {
        "plain": lambda steps: time_loop(plain, iterator, steps),
        "train_step": lambda steps: time_loop(library_step, iterator, steps),
        **{name: (lambda steps, gan=gan: time_fit(gan, dataset, steps))
           for name, gan in gans.items()},
    }
    median, times = interleaved(timers, args.rounds, args.steps)
    rate = pipeline_rate(dataset, args.pipeline_elements)
    fastest_library = min(median[name] for name in gans)
    return {"family": family, "jit_compile": jit, "n_critic": gans["fit"].n_critic,
            "ms": median, "all_ms": times,
            "ratio": {name: median[name] / median["plain"] for name in median},
            "pipeline_elements_per_s": rate,
            "pipeline_headroom": rate * fastest_library / 1e3}


PEER_SHAPE = (28, 28, 1)


def random_images(shape, count=4096, seed=0):
    """Examples of uniform pixels in [-1, 1]: a step's time does not depend on them."""
    pixels = np.random.default_rng(seed).uniform(-1, 1, (count, *shape)).astype("float32")
    return data_lib.Examples(tf.data.Dataset.from_tensor_slices(pixels), "image",
                             tuple(shape), count, "random")


def peer_models(batch_size):
    """``{variant: (model, dataset)}``: the Keras example and the library on its networks."""
    policy, reason = hardware.auto_precision()
    examples = random_images(PEER_SHAPE)
    one_batch = data_lib.make_dataset(examples, batch_size, seed=0)  # the example's input
    critic_batches = data_lib.make_dataset(examples, batch_size, n_critic=peer.CRITIC_STEPS,
                                           seed=0)

    def networks(precision):
        keras.utils.set_random_seed(0)
        with distribute.mixed_precision(precision):
            return peer.generator(PEER_SHAPE), peer.critic(PEER_SHAPE)

    example = peer.ExampleWGANGP(*networks("float32"))
    example.compile()
    models = {"peer": (example, one_batch)}
    for name, precision, fast, matrix_path in (
            ("library_float32", "float32", False, False),
            ("library_defaults", policy, False, False),
            ("library_fast_layers", policy, True, True),
            ("library_fast_layers_matrix_path_off", policy, True, False)):
        generator, critic = networks(precision)
        if fast:
            generator = tg.with_fast_layers(generator, matrix_path=matrix_path)
            critic = tg.with_fast_layers(critic, matrix_path=matrix_path)
        gan = tg.WGANGP(generator, critic, n_critic=peer.CRITIC_STEPS,
                        gp_weight=peer.GP_WEIGHT, seed=0)
        gan.compile(d_optimizer=peer.optimizer(), g_optimizer=peer.optimizer())
        models[name] = (gan, critic_batches)
    return models, {"policy": policy, "reason": reason}


def measure_peer(batch_size, args):
    models, precision = peer_models(batch_size)
    timers = {name: (lambda count, model=model, data=data: time_fit(model, data, count))
              for name, (model, data) in models.items()}
    median, times = interleaved(timers, args.peer_rounds, args.peer_steps)
    return {"batch_size": batch_size, "steps": args.peer_steps, "precision": precision,
            "ms": median, "all_ms": times,
            "images_per_s": {name: batch_size * 1e3 / ms for name, ms in median.items()},
            "speedup": {name: median["peer"] / ms for name, ms in median.items()}}


def overhead_table(rows, args):
    fit_names = ["fit"] + [f"fit_spe{spe}" for spe in args.spe]
    lines = [
        f"Digits 16x16, batch {args.batch_size}, the families' digits configs, float32; median "
        f"of {args.rounds} interleaved blocks of {args.steps} steps; {cpu_words()}. "
        "ms per train step (one generator step and n_critic critic steps); ratios over the "
        "plain loop (1.00 = no cost). Pipeline headroom = elements the input pipeline alone "
        "delivers per second / elements the fastest library variant consumes per second.",
        "",
        "| family | jit_compile | n_critic | plain loop | library train_step | fit | " +
        " | ".join(f"fit, steps_per_execution {spe}" for spe in args.spe) +
        " | pipeline headroom |",
        "|---" * (7 + len(args.spe)) + "|",
    ]
    for row in rows:
        ms, ratio = row["ms"], row["ratio"]
        cells = [f"{ms['plain']:.1f} ms"] + [
            f"{ms[name]:.1f} ms ({ratio[name]:.3f})" for name in ["train_step"] + fit_names]
        lines.append(f"| {row['family']} | {str(row['jit_compile']).lower()} | "
                     f"{row['n_critic']} | " + " | ".join(cells) +
                     f" | {row['pipeline_headroom']:.0f}x |")
    return lines


PEER_NAMES = ("peer", "library_float32", "library_defaults", "library_fast_layers",
              "library_fast_layers_matrix_path_off")


def peer_table(rows, args):
    precision = rows[0]["precision"]
    lines = [
        "The Keras WGAN-GP example's train step (`peer`, float32) against the library's "
        "`WGANGP` on the same networks and arithmetic (28x28x1, 3 critic steps, penalty 10, "
        f"Adam(2e-4, 0.5, 0.9)), all through `fit`; {cpu_words()}; median of "
        f"{args.peer_rounds} interleaved blocks of {args.peer_steps} steps. "
        f"`library_defaults`: `train.mixed_precision: auto` = {precision['policy']} "
        f"({precision['reason']}); `library_fast_layers`: the same with both networks passed "
        "through `tg.with_fast_layers`; `library_fast_layers_matrix_path_off`: the same with "
        "`matrix_path=False` (Keras' convolution forward, the matrix filter gradient). "
        "Timed at steps_per_execution 1: at about a second per step, the 2-4 ms that "
        "Keras' loop adds per step (the overhead table) is below 0.5%, so the configs' "
        "default of up to 50 steps per execution changes nothing here. "
        "Real images per second (batch x generator steps per second) and speed-up over the "
        "peer.",
        "",
        "| batch | " + " | ".join(PEER_NAMES) + " |",
        "|---" * (1 + len(PEER_NAMES)) + "|",
    ]
    for row in rows:
        cells = [f"{row['images_per_s'][name]:.0f} img/s ({row['speedup'][name]:.2f}x)"
                 for name in PEER_NAMES]
        lines.append(f"| {row['batch_size']} | " + " | ".join(cells) + " |")
    return lines


def cpu_words():
    gpus = hardware.gpu_capabilities()
    if gpus:
        return ", ".join(name for name, _ in gpus)
    cpu = hardware.cpu_description()
    return (f"{cpu['model']}, {cpu['cores']} cores (bfloat16 instructions: "
            f"{', '.join(cpu['bf16_features']) or 'none'})")


def outputs(args):
    return [f"{args.name}.json", f"{args.name}.md"]


def main(argv=None):
    parser = common.parser(__doc__, "train_step_speed")
    parser.add_argument("--sections", default="overhead,peer")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100, help="steps per timed block")
    parser.add_argument("--spe", default="10,50", help="steps_per_execution values to time")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--pipeline_elements", type=int, default=200)
    parser.add_argument("--jit", default="false,true")
    parser.add_argument("--peer_batch_sizes", default="32,64")
    parser.add_argument("--peer_steps", type=int, default=6, help="steps per peer block")
    parser.add_argument("--peer_rounds", type=int, default=3)
    args, out = common.parse(parser, outputs, argv)
    out.precision = f"per row (the tables name each row's); {common.auto_precision()}"
    args.spe = [int(value) for value in args.spe.split(",") if value]
    if any(args.steps % (2 * spe) for spe in args.spe):
        parser.error("--steps must be a multiple of twice every --spe value (a fit is timed "
                     "between its first and last execution)")
    sections = args.sections.split(",")
    results, text = {"cpu": hardware.cpu_description(), "gpus": hardware.gpu_capabilities()}, []
    if "overhead" in sections:
        rows = []
        for jit in [value == "true" for value in args.jit.split(",")]:
            for family in args.families.split(","):
                keras.backend.clear_session()
                row = measure(family, args, jit)
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if k != "all_ms"}), flush=True)
        results["overhead"] = {"batch_size": args.batch_size, "steps": args.steps,
                               "rounds": args.rounds, "rows": rows}
        text += overhead_table(rows, args) + [""]
    if "peer" in sections:
        rows = []
        for batch_size in [int(value) for value in args.peer_batch_sizes.split(",")]:
            keras.backend.clear_session()
            row = measure_peer(batch_size, args)
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "all_ms"}), flush=True)
        results["peer"] = {"rounds": args.peer_rounds, "rows": rows}
        text += peer_table(rows, args) + [""]
    out.write_json(f"{args.name}.json", results, indent=2)
    out.write_markdown(f"{args.name}.md", "\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
