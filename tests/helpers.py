"""Helpers the tests share: paths, and the binaries run in fresh processes."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(REPO, "configs")
SMOKE_CONFIGS = sorted(
    os.path.join(CONFIGS, "smoke", name)
    for name in os.listdir(os.path.join(CONFIGS, "smoke"))
    if name.endswith(".yaml")
)


def run_python(code_or_args, cwd=None, timeout=300):
    """Runs a fresh Python process (a list of args, or code for -c)."""
    args = code_or_args if isinstance(code_or_args, list) else ["-c", code_or_args]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, *args], cwd=cwd or REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def run_train(*flags, cwd=None):
    """Runs the ``tfgan-train`` binary as ``python -m tfgan_stable.main``."""
    return run_python(["-m", "tfgan_stable.main", *flags], cwd=cwd)


def tiny_gan(family, optimistic=False, seed=1):
    """A compiled GAN of ``family`` on 8x8 one-channel images, networks of <= 8 filters.

    ProGAN is mid-growth (stage 1, alpha rising); with ``optimistic`` both
    optimizers are ``OptimisticAdam``.
    """
    import tfgan_stable as tg

    if family == "progan":
        generator = tg.ProgressiveGenerator(8, 8, 1, fmap_base=16, fmap_max=8)
        discriminator = tg.ProgressiveDiscriminator(8, 1, fmap_base=16, fmap_max=8)
        gan = tg.ProGAN(generator, discriminator, seed=seed, transition_images=32)
    elif family == "began":
        gan = tg.BEGAN(tg.build_began_generator(8, 8, 1, filters=4),
                       tg.build_began_discriminator(8, 1, filters=4, bottleneck=4),
                       seed=seed, g_ema_decay=0.9, lambda_k=0.01)
    elif family == "r3gan":  # with R1, R2 and adaptive augmentation
        gan = tg.R3GAN(tg.build_resnet_generator(8, 8, 1, filters=4),
                       tg.build_resnet_discriminator(8, 1, filters=4), seed=seed,
                       g_ema_decay=0.9, augment="color,translation,cutout",
                       augment_target=0.6, augment_interval=1, augment_speed_images=64,
                       r_every=2)
    else:
        gan_class = {"dcgan": tg.DCGAN, "sngan": tg.SNGAN, "wgan": tg.WGAN,
                     "wgan_gp": tg.WGANGP}[family]
        normalization = {"wgan_gp": "layer", "sngan": "none"}.get(family, "batch")
        gan = gan_class(tg.build_dcgan_generator(8, 8, 1, filters=4),
                        tg.build_dcgan_discriminator(8, 1, filters=4,
                                                     normalization=normalization,
                                                     spectral_norm=family == "sngan"),
                        seed=seed, g_ema_decay=0.9)
    if optimistic:
        gan.compile(d_optimizer=tg.OptimisticAdam(1e-4), g_optimizer=tg.OptimisticAdam(1e-4))
    else:
        gan.compile()
    if family == "progan":
        gan.start_stage(1)
    return gan


def state(gan):
    """Every number a resumed run depends on: weights, optimizers, noise seed."""
    import numpy as np

    values = [np.asarray(w) for w in gan.get_weights()]
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        values += [np.asarray(v) for v in optimizer.variables]
    values.append(np.asarray(gan.seed_generator.state))
    return values
