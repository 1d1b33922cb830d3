"""A family is one module: a tiny least-squares GAN added from a test, used by the binary's code."""

import dataclasses
import os

import keras
import pytest
from keras import ops

from tfgan_stable import config as config_lib
from tfgan_stable import train_lib
from tfgan_stable.errors import ConfigError
from tfgan_stable.gans import GAN, family

pytestmark = pytest.mark.slow  # trains, or runs the binaries


@keras.saving.register_keras_serializable(package="tests")
class LSGAN(GAN):
    """Least-squares GAN (Mao et al. 2017, arXiv 1611.04076): targets a, b, c."""

    default_learning_rate = 2e-4

    def __init__(self, generator, discriminator, real_target=1.0, fake_target=0.0, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.real_target, self.fake_target = float(real_target), float(fake_target)

    def discriminator_loss(self, real, fake, real_output, fake_output):
        return 0.5 * (ops.mean(ops.square(real_output - self.real_target))
                      + ops.mean(ops.square(fake_output - self.fake_target))), {}

    def generator_loss(self, fake_output):
        return 0.5 * ops.mean(ops.square(fake_output - self.real_target)), {}

    def get_config(self):
        return {**super().get_config(), "real_target": self.real_target,
                "fake_target": self.fake_target}


@dataclasses.dataclass(frozen=True)
class LSGANOptions:
    real_target: float = 1.0
    fake_target: float = 0.0

    def check(self, config):
        if self.real_target == self.fake_target:
            raise ConfigError("lsgan.real_target and lsgan.fake_target must differ")


@pytest.fixture
def lsgan():
    registered = family.register(family.Family("lsgan", LSGAN, LSGANOptions,
                                               gan_kwargs=dataclasses.asdict))
    yield registered
    family.unregister("lsgan")


def smoke_config(tmp_path, **sections):
    raw = {"data": {"name": "digits", "resolution": 8},
           "model": {"family": "lsgan", "latent_dim": 8, "g_filters": 4, "d_filters": 4},
           "train": {"steps": 2, "steps_per_epoch": 1, "batch_size": 8, "sample_grid_size": 2,
                     "verbose": 0},
           "export": {"dir": str(tmp_path / "exports")}, **sections}
    return config_lib.from_dict(raw)


def test_a_family_added_in_one_place_trains_and_exports_through_the_run(lsgan, tmp_path):
    config = smoke_config(tmp_path, lsgan={"real_target": 0.9})
    assert config.family is lsgan and config.family_options.real_target == 0.9
    assert config.to_dict()["lsgan"] == {"real_target": 0.9, "fake_target": 0.0}
    result = train_lib.run(config, str(tmp_path / "run"))
    assert isinstance(result.model, LSGAN) and result.model.real_target == 0.9
    assert int(result.model.generator_steps.numpy()) == 2
    assert os.path.isdir(os.path.join(result.export_path))


def test_its_section_is_strict_and_other_families_keys_are_errors(lsgan, tmp_path):
    with pytest.raises(ConfigError, match=r"unknown config key 'lsgan.real_targt'; "
                                          r"did you mean 'real_target'"):
        smoke_config(tmp_path, lsgan={"real_targt": 0.9})
    with pytest.raises(ConfigError, match=r"lsgan.real_target must be of type float"):
        smoke_config(tmp_path, lsgan={"real_target": "high"})
    with pytest.raises(ConfigError, match=r"must differ"):
        smoke_config(tmp_path, lsgan={"real_target": 0.0})
    with pytest.raises(ConfigError, match=r"section 'wgan_gp' holds the options of family "
                                          r"'wgan_gp', but model.family is 'lsgan'"):
        smoke_config(tmp_path, wgan_gp={"gp_weight": 1.0})


def test_the_family_list_exists_once():
    from tfgan_stable import registry

    assert family.names() == ["began", "dcgan", "progan", "r3gan", "sngan", "wgan", "wgan_gp"]
    for name in family.names():
        assert registry.get_gan_class(name) is family.get(name).gan_class
        assert config_lib.from_dict({"model": {"family": name}}).family.name == name
