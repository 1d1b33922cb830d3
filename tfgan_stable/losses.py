"""GAN losses as pure functions of critic outputs.

Each function takes the discriminator's raw outputs (logits for DCGAN, scores
for the Wasserstein critics) for one batch and returns a scalar: the mean over
the batch. Distribution-aware scaling happens in the GAN's ``train_step``.

References:
  Goodfellow et al. 2014 (arXiv 1406.2661), Radford et al. 2016 (DCGAN,
  arXiv 1511.06434): non-saturating loss.
  Arjovsky et al. 2017 (WGAN, arXiv 1701.07875): Wasserstein critic loss.
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
