"""DCGAN baseline: the non-saturating GAN (Radford et al. 2016, arXiv 1511.06434)."""

import keras
from keras import ops

from tfgan_stable import losses
from tfgan_stable import families as family
from tfgan_stable.gans.base import GAN


@keras.saving.register_keras_serializable(package="tfgan_stable")
class DCGAN(GAN):
    """Non-saturating GAN with a logit-valued discriminator, one D step per G step.

    Defaults: Adam(2e-4, beta_1=0.5) for both networks, as in the DCGAN paper.
    Logs ``d_loss``, ``g_loss``, ``d_real`` and ``d_fake`` (mean D probabilities).
    """

    family = "dcgan"
    default_n_critic = 1
    extra_metric_names = ("d_real", "d_fake")
    default_learning_rate = 2e-4
    default_betas = (0.5, 0.999)

    def discriminator_loss(self, real, fake, real_output, fake_output):
        loss = losses.dcgan_discriminator_loss(real_output, fake_output)
        return loss, {
            "d_real": ops.mean(ops.sigmoid(real_output)),
            "d_fake": ops.mean(ops.sigmoid(fake_output)),
        }

    def generator_loss(self, fake_output):
        return losses.dcgan_generator_loss(fake_output), {}


FAMILY = family.register(family.Family("dcgan", DCGAN))
