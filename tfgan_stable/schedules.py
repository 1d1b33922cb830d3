"""Training schedules as pure functions of a step counter.

Callbacks and train steps only evaluate these and assign the result; keeping
the arithmetic here makes it testable against literal tables.
"""

import math

from keras import ops

# WGAN reference code (Arjovsky et al. 2017, arXiv 1701.07875, main.py):
# 100 critic iterations for the first 25 generator iterations and every 500th.
WGAN_WARMUP_GENERATOR_STEPS = 25
WGAN_WARMUP_CRITIC_STEPS = 100
WGAN_WARMUP_EVERY = 500


def wgan_critic_iterations(
    generator_step,
    n_critic,
    warmup_generator_steps=WGAN_WARMUP_GENERATOR_STEPS,
    warmup_critic_steps=WGAN_WARMUP_CRITIC_STEPS,
    warmup_every=WGAN_WARMUP_EVERY,
):
    """Critic updates that precede generator update number ``generator_step`` (0-based).

    Works on Python ints and on tensors (it is evaluated inside ``train_step``).
    """
    if isinstance(generator_step, int):
        in_warmup = (
            generator_step < warmup_generator_steps or generator_step % warmup_every == 0
        )
        return warmup_critic_steps if in_warmup else n_critic
    in_warmup = ops.logical_or(
        ops.less(generator_step, warmup_generator_steps),
        ops.equal(ops.mod(generator_step, warmup_every), 0),
    )
    return ops.where(in_warmup, warmup_critic_steps, n_critic)


def wgan_train_steps(generator_steps, n_critic, **warmup_kwargs):
    """Keras train steps needed for ``generator_steps`` generator updates with warm-up.

    One train step performs ``n_critic`` critic updates on fresh batches; a
    generator update happens once the critic has done the number that
    :func:`wgan_critic_iterations` asks for.
    """
    total = 0
    for step in range(generator_steps):
        iterations = wgan_critic_iterations(step, n_critic, **warmup_kwargs)
        total += math.ceil(iterations / n_critic)
    return total


def began_k_update(k, loss_real, loss_fake, gamma, lambda_k):
    """BEGAN's proportional controller (Berthelot 2017, eq. 4 and sec. 3.4.1).

    ``k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1)`` and the
    convergence measure ``M_global = L(x) + |gamma L(x) - L(G(z_G))|``.

    Works on floats, NumPy values and tensors.

    Returns:
      ``(k_next, m_global)``.
    """
    balance = gamma * loss_real - loss_fake
    k_next = ops.minimum(ops.maximum(k + lambda_k * balance, 0.0), 1.0)
    return k_next, loss_real + ops.abs(balance)


def plateau_update(best, wait, value, min_delta=0.0):
    """One step of plateau detection for a measure that should decrease.

    Returns:
      ``(best, wait)``: the new best value, and how many consecutive
      observations have failed to improve on it by more than ``min_delta``.
    """
    if best is None or value < best - min_delta:
        return value, 0
    return best, wait + 1


def progan_alpha(stage_images_seen, stage, transition_images):
    """Fade-in weight of the newest block after ``stage_images_seen`` images of a stage.

    Rises linearly from 0 to 1 over the stage's first ``transition_images``
    images, then stays 1 (Karras 2018, sec. 2). Stage 0 (4x4) has no
    transition: 1 throughout. Works on Python numbers and tensors.
    """
    if isinstance(stage, int) and stage == 0:
        return 1.0
    if isinstance(stage_images_seen, int):
        return min(1.0, stage_images_seen / transition_images) if stage else 1.0
    progress = ops.cast(stage_images_seen, "float32") / float(transition_images)
    return ops.minimum(progress, 1.0)


def progan_stage_images(num_stages, transition_images, stable_images, final_stable_images=None):
    """Images shown at each stage: stable only at 4x4, transition + stable after.

    ``final_stable_images`` (None: ``stable_images``) is the last stage's
    stable phase: the paper's code keeps training at the final resolution
    until its total image budget once growing is done (Karras 2018).
    """
    final = stable_images if final_stable_images is None else final_stable_images
    if num_stages == 1:
        return [final]
    return ([stable_images] + [transition_images + stable_images] * (num_stages - 2)
            + [transition_images + final])


def progan_stage_steps(stage_images, batch_sizes):
    """Train steps of each stage's ``fit``: enough batches to show its images."""
    return [math.ceil(images / batch) for images, batch in zip(stage_images, batch_sizes)]


def progan_stage_and_alpha(images_seen, num_stages, transition_images, stable_images,
                           final_stable_images=None):
    """``(stage, alpha)`` after ``images_seen`` images in total (the growth table).

    The last stage keeps ``alpha = 1`` once its stable phase is over.
    """
    start = 0
    lengths = progan_stage_images(num_stages, transition_images, stable_images,
                                  final_stable_images)
    for stage, length in enumerate(lengths):
        if images_seen < start + length or stage == num_stages - 1:
            return stage, float(progan_alpha(int(images_seen - start), stage, transition_images))
        start += length
    raise AssertionError("unreachable")


def check_gamma(gamma):
    """The paper uses gamma in [0.3, 0.7]; any positive value is accepted."""
    if not gamma > 0.0:
        raise ValueError(f"BEGAN.gamma must be > 0, got {gamma}")


def check_lambda_k(lambda_k):
    if not lambda_k >= 0.0:
        raise ValueError(f"BEGAN.lambda_k must be >= 0, got {lambda_k}")


def ema_decay(batch_size, images_seen, half_life_images, rampup=None):
    """Per-step decay of a weight average stated as a half-life in images.

    ``decay = 0.5 ** (batch_size / h)`` with ``h = min(half_life_images,
    rampup * images_seen)`` when ``rampup`` is set (else ``half_life_images``):
    after ``h`` images an old weight counts half. The ramp-up keeps a young
    average short, so that it follows weights that are still far from their
    initialisation (the generator average of Karras et al.'s later work,
    StyleGAN2-ADA, arXiv 2006.06676: half-life 10k images, ramp-up 0.05). With
    ``images_seen = 0`` and a ramp-up the decay is 0: the average restarts at
    the weights. Works on Python numbers and tensors.
    """
    if isinstance(images_seen, (int, float)) and isinstance(batch_size, (int, float)):
        half_life = (half_life_images if rampup is None
                     else min(half_life_images, rampup * images_seen))
        return 0.0 if half_life <= 0 else 0.5 ** (batch_size / half_life)
    images = ops.cast(images_seen, "float32")
    half_life = ops.convert_to_tensor(float(half_life_images), "float32")
    if rampup is not None:
        half_life = ops.minimum(half_life, float(rampup) * images)
    batch = ops.cast(batch_size, "float32")
    return ops.where(half_life > 0.0, ops.power(0.5, batch / ops.maximum(half_life, 1e-8)), 0.0)


def check_ema(decay, half_life_images, rampup, owner="GAN"):
    """Validates the generator-average settings: one of a decay or a half-life."""
    if decay is not None and not 0.0 < decay < 1.0:
        raise ValueError(f"{owner}.g_ema_decay must be in (0, 1) or None, got {decay}")
    if half_life_images is not None:
        if decay is not None:
            raise ValueError(f"give {owner}.g_ema_decay or {owner}.g_ema_half_life_images, "
                             f"not both (got {decay} and {half_life_images})")
        if not half_life_images > 0:
            raise ValueError(f"{owner}.g_ema_half_life_images must be > 0, "
                             f"got {half_life_images}")
    if rampup is not None:
        if half_life_images is None:
            raise ValueError(f"{owner}.g_ema_rampup needs {owner}.g_ema_half_life_images")
        if not rampup > 0:
            raise ValueError(f"{owner}.g_ema_rampup must be > 0 or None, got {rampup}")


def cosine_decay(step, total_steps, floor):
    """A value's multiplier at ``step``: 1 falling to ``floor`` along half a cosine.

    ``floor + (1 - floor) * (1 + cos(pi * min(step / total_steps, 1))) / 2``,
    the shape of R3GAN's schedules (Huang 2024, arXiv 2501.05441) for the
    learning rate and the R1/R2 weight. Works on Python numbers and tensors.
    """
    if isinstance(step, (int, float)):
        progress = min(step / total_steps, 1.0)
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    progress = ops.minimum(ops.cast(step, "float32") / float(total_steps), 1.0)
    return floor + (1.0 - floor) * 0.5 * (1.0 + ops.cos(math.pi * progress))
