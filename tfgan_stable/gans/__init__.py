"""GAN families as ``keras.Model`` subclasses that own ``train_step``."""

from tfgan_stable import families as family  # the registry, as it was named before
from tfgan_stable.gans.base import GAN
from tfgan_stable.gans.began import BEGAN
from tfgan_stable.gans.dcgan import DCGAN
from tfgan_stable.gans.progan import ProGAN
from tfgan_stable.gans.r3gan import R3GAN
from tfgan_stable.gans.sngan import SNGAN
from tfgan_stable.gans.wgan import WGAN
from tfgan_stable.gans.wgan_gp import WGANGP

__all__ = ["family", "GAN", "BEGAN", "DCGAN", "ProGAN", "R3GAN", "SNGAN", "WGAN", "WGANGP"]
