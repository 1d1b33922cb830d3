"""GAN losses as pure functions of critic outputs.

Each function takes the discriminator's raw outputs (logits for DCGAN, scores
for the Wasserstein critics) for one batch and returns a scalar: the mean over
the batch. Distribution-aware scaling happens in the GAN's ``train_step``.

References:
  Goodfellow et al. 2014 (arXiv 1406.2661), Radford et al. 2016 (DCGAN,
  arXiv 1511.06434): non-saturating loss.
  Arjovsky et al. 2017 (WGAN, arXiv 1701.07875): Wasserstein critic loss.
  Lim & Ye 2017 (arXiv 1705.02894), Miyato et al. 2018 (SNGAN, arXiv
  1802.05957): hinge loss.
  Jolicoeur-Martineau 2019 (arXiv 1807.00734), Huang et al. 2024 (R3GAN,
  arXiv 2501.05441): relativistic pairing loss (RpGAN).
"""

from keras import ops


def dcgan_discriminator_loss(real_logits, fake_logits):
    """Binary cross-entropy with real -> 1 and fake -> 0, from logits.

    ``softplus(-x) = -log sigmoid(x)`` and ``softplus(x) = -log(1 - sigmoid(x))``.
    """
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def dcgan_generator_loss(fake_logits):
    """Non-saturating generator loss ``-log D(G(z))`` (Goodfellow 2014, sec. 3)."""
    return ops.mean(ops.softplus(-fake_logits))


def wasserstein_critic_loss(real_scores, fake_scores):
    """Critic minimises ``E[f(G(z))] - E[f(x)]`` (Arjovsky 2017, Algorithm 1)."""
    return ops.mean(fake_scores) - ops.mean(real_scores)


def wasserstein_generator_loss(fake_scores):
    """Generator minimises ``-E[f(G(z))]`` (Arjovsky 2017, Algorithm 1)."""
    return -ops.mean(fake_scores)


def wasserstein_estimate(real_scores, fake_scores):
    """The critic's estimate of W(P_r, P_g): ``E[f(x)] - E[f(G(z))]``."""
    return ops.mean(real_scores) - ops.mean(fake_scores)


def hinge_discriminator_loss(real_logits, fake_logits):
    """``E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]`` (Miyato 2018, eq. 16)."""
    return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))


def hinge_generator_loss(fake_logits):
    """``-E[D(G(z))]`` (Miyato 2018, eq. 17)."""
    return -ops.mean(fake_logits)


def rpgan_discriminator_loss(real_logits, fake_logits):
    """Relativistic pairing loss ``E[softplus(-(D(x) - D(G(z))))]``, pairs row by row.

    The critic's outputs only count through their differences (R3GAN, eq. 2).
    """
    return ops.mean(ops.softplus(-(real_logits - fake_logits)))


def rpgan_generator_loss(fake_logits, real_logits):
    """The generator's side of the pairing: ``E[softplus(-(D(G(z)) - D(x)))]``."""
    return ops.mean(ops.softplus(-(fake_logits - real_logits)))


# The losses a scored critic can train with: name -> (critic loss, generator loss,
# whether the generator's loss needs the critic's outputs on real samples).
CRITIC_LOSSES = {
    "nonsaturating": (dcgan_discriminator_loss, dcgan_generator_loss, False),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss, False),
    "rpgan": (rpgan_discriminator_loss, rpgan_generator_loss, True),
}


def check_loss(name, owner="loss"):
    """``name`` if it is a key of :data:`CRITIC_LOSSES`; ValueError naming ``owner`` if not."""
    if name not in CRITIC_LOSSES:
        raise ValueError(f"{owner} must be one of {sorted(CRITIC_LOSSES)}. "
                         f"Received: {owner}={name!r}")
    return name
