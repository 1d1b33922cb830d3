"""Config loading: every shipped YAML, strict keys, typed overrides, clear errors."""

import glob
import os

import pytest

from helpers import CONFIGS
from tfgan_stable import config as config_lib

ALL_CONFIGS = sorted(glob.glob(os.path.join(CONFIGS, "**", "*.yaml"), recursive=True))


def test_there_is_a_config_per_family_and_dataset():
    names = {os.path.basename(p)[:-5] for p in ALL_CONFIGS}
    for family in ("dcgan", "wgan", "wgan_gp"):
        for data in ("digits", "fashion_mnist", "ring8", "grid25"):
            assert f"{family}_{data}" in names
    assert {"began_digits", "began_fashion_mnist", "began_celeba"} <= names
    assert {"progan_digits", "progan_fashion_mnist", "progan_celeba"} <= names


@pytest.mark.parametrize("path", ALL_CONFIGS, ids=lambda p: os.path.relpath(p, CONFIGS))
def test_every_config_loads(path):
    config = config_lib.load(path)
    assert config.model.family in config_lib.family_lib().names()
    # the resolved YAML loads back to the same config
    assert config_lib.from_dict(__import__("yaml").safe_load(config.to_yaml())) == config


def test_demo_default_is_wgan_gp_on_digits():
    config = config_lib.load(os.path.join(CONFIGS, "wgan_gp_digits.yaml"))
    assert (config.model.family, config.data.name) == ("wgan_gp", "digits")


def test_overrides_are_typed():
    path = os.path.join(CONFIGS, "smoke", "wgan_gp.yaml")
    config = config_lib.load(path, ["train.steps=200", "optimizer.d_learning_rate=1e-3",
                                    "model.hidden_units=[4, 4]", "model.g_ema_decay=0.999"])
    assert config.train.steps == 200
    assert config.optimizer.d_learning_rate == pytest.approx(1e-3)
    assert config.model.hidden_units == (4, 4)
    assert config.model.g_ema_decay == pytest.approx(0.999)
    with pytest.raises(ValueError, match=r"train.steps must be of type int, got 'many'"):
        config_lib.load(path, ["train.steps=many"])
    with pytest.raises(ValueError, match=r"train.batch_size must be of type int, got 2.5"):
        config_lib.load(path, ["train.batch_size=2.5"])
    with pytest.raises(ValueError, match=r"must look like section.key=value"):
        config_lib.load(path, ["train.steps"])


@pytest.mark.parametrize("raw, message", [
    ({"model": {"n_critc": 3}}, r"unknown config key 'model.n_critc'; did you mean 'n_critic'"),
    ({"trian": {}}, r"unknown config key 'trian'; did you mean 'train'"),
    ({"data": {"resolution": 12}},
     r"data.resolution must be a power of two >= 4 \(the library.s networks.*got 12"),
    ({"model": {"n_critic": 0}}, r"model.n_critic must be >= 1, got 0"),
    ({"model": {"family": "began2"}}, r"model.family must be one of .*got 'began2'"),
    ({"wgan": {"warmup": True}}, r"section 'wgan' holds the options of family 'wgan', but "
                                 r"model.family is 'wgan_gp'; remove it or set model.family: wgan"),
    ({"model": {"family": "dcgan"}, "wgan_gp": {"gp_weight": 1.0}},
     r"section 'wgan_gp' holds the options of family 'wgan_gp', but model.family is 'dcgan'"),
    ({"model": {"family": "wgan"}, "wgan": {"warmup": True},
      "train": {"steps_per_execution": 2, "steps": 10, "steps_per_epoch": 10}},
     r"wgan.warmup needs train.steps_per_execution=1"),
    ({"model": {"gp_weight": 1.0}}, r"unknown config key 'model.gp_weight'"),
    ({"train": {"steps": 10, "steps_per_execution": 4}}, r"multiples of train.steps_per_execution"),
    ({"train": {"steps_per_execution": 0}}, r"train.steps_per_execution must be auto or an int"),
    ({"train": {"steps_per_execution": 10, "strategy": "multi_worker"}},
     r"train.steps_per_execution=10 does not run under train.strategy=multi_worker"),
    ({"train": {"steps_per_execution": "fast"}},
     r"train.steps_per_execution must be auto or an int >= 1, got 'fast'"),
    ({"model": {"d_normalization": "spectral"}}, r"model.d_normalization must be one of"),
    ({"model": {"family": "wgan"}, "wgan": {"warmup": "yes"}},
     r"wgan.warmup must be of type bool"),
    ({"model": {"family": "began", "architecture": "dcgan"}}, r"cannot train model.family='began'"),
    ({"model": {"family": "wgan", "architecture": "began"}}, r"cannot train model.family='wgan'"),
    ({"model": {"family": "began", "n_critic": 5}}, r"model.n_critic must be 1 for BEGAN"),
    ({"model": {"family": "progan"}, "progan": {"batch_sizes": [8, 8]},
      "data": {"resolution": 16}},
     r"progan.batch_sizes needs one batch size per resolution from 4x4 to 16 \(3 values\)"),
    ({"model": {"family": "progan"}, "progan": {"learning_rates": [1e-3, 1e-3]},
      "data": {"resolution": 16}},
     r"progan.learning_rates needs one learning rate per resolution from 4x4 to 16 \(3 values\)"),
    ({"model": {"family": "progan"}, "progan": {"learning_rates": [1e-3, 0]},
      "data": {"resolution": 8}},
     r"progan.learning_rates must be positive, got \[0.001, 0.0\]"),
    ({"model": {"family": "progan", "architecture": "dcgan"}},
     r"cannot train model.family='progan'"),
    ({"model": {"family": "progan"}, "progan": {"final_stable_images": 0}},
     r"progan.final_stable_images must be >= 1, got 0"),
    ({"model": {"family": "began"}, "began": {"gamma": 0}}, r"began.gamma must be > 0, got 0"),
    ({"model": {"family": "began"}, "began": {"decay_factor": 1.5}},
     r"began.decay_factor must be in \(0, 1\)"),
    ({"train": {"strategy": "horovod"}}, r"train.strategy must be one of .*got 'horovod'"),
    ({"train": {"devices": ["/gpu:0"]}},
     r"train.devices applies to train.strategy=mirrored, got train.strategy='default'"),
    ({"train": {"mixed_precision": "float16"}},
     r"train.mixed_precision must be one of .*got 'float16'"),
    ({"train": {"deterministic": "yes"}}, r"train.deterministic must be of type bool"),
    ({"optimizer": {"decay": "exponential"}},
     r"optimizer.decay must be one of .*got 'exponential'"),
    ({"optimizer": {"decay": "cosine", "decay_floor": 1.0}}, r"optimizer.decay_floor must be in"),
    ({"augment": {"policy": "colour"}}, r"augment.policy: .*unknown operation 'colour'"),
    ({"augment": {"policy": "cutout", "target": 1.5}},
     r"augment.target must be None or a number in \[0, 1\]"),
    ({"model": {"family": "began"}, "augment": {"policy": "cutout", "target": 0.6}},
     r"augment.target: the adaptive probability"),
    ({"model": {"family": "began", "r1_gamma": 1.0}}, r"model.r1_gamma: R1/R2 penalise"),
    ({"model": {"r2_gamma": -1.0}}, r"model.r2_gamma must be a number >= 0"),
    ({"model": {"r_every": 0}}, r"model.r_every must be an int >= 1"),
    ({"model": {"family": "r3gan", "architecture": "resnet", "d_spectral_norm": True}},
     r"model.d_spectral_norm: the library's 'resnet' critic"),
    ({"augment": {"target": 0.6}}, r"augment.target adapts .* augment.policy names none"),
    ({"model": {"family": "sngan"}, "sngan": {"loss": "wasserstein"}},
     r"sngan.loss must be one of"),
    ({"model": {"family": "r3gan"}, "r3gan": {"gamma_floor": 2.0}},
     r"r3gan.gamma_floor must be in"),
    ({"model": {"family": "progan"}, "optimizer": {"decay": "linear"}},
     r"optimizer.decay='linear' does not apply to model.family='progan'"),
    ({"model": {"family": "began"}, "began": {"decay_patience": 3},
      "optimizer": {"decay": "linear"}},
     r"began.decay_patience=3 and optimizer.decay='linear' both set the learning rate"),
])
def test_bad_values_name_the_field(raw, message):
    with pytest.raises(ValueError, match=message):
        config_lib.from_dict(raw)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(FileNotFoundError, match="config file not found"):
        config_lib.load(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ValueError, match="is not valid YAML"):
        config_lib.load(str(bad))


def test_save_writes_the_resolved_config(tmp_path):
    config = config_lib.from_dict({"train": {"steps": 7}})
    path = tmp_path / "config.yaml"
    config_lib.save(config, str(path))
    assert config_lib.load(str(path)) == config
    assert not list(tmp_path.glob("*.tmp-*"))


@pytest.mark.parametrize("raw, expected", [
    ({}, 50),  # 2,000 steps, 200 per epoch
    ({"train": {"steps": 1500, "steps_per_epoch": 150}}, 50),
    ({"train": {"steps": 20000, "steps_per_epoch": 1000, "eval_every": 250}}, 50),
    ({"train": {"steps": 3000, "steps_per_epoch": 200, "eval_every": 30}}, 10),
    ({"train": {"steps": 4, "steps_per_epoch": 2}}, 2),
    ({"train": {"steps": 97, "steps_per_epoch": 97}}, 1),  # a prime: single steps
    ({"train": {"steps_per_execution": 4, "steps": 8, "steps_per_epoch": 4}}, 4),  # as given
    ({"model": {"family": "wgan"}, "wgan": {"warmup": True}}, 1),  # counted between steps
    ({"model": {"family": "wgan"}}, 50),
    ({"train": {"strategy": "multi_worker"}}, 1),
    # ProGAN: one fit per stage, of ceil(stage images / batch) steps.
    ({"model": {"family": "progan"}, "data": {"resolution": 16},
      "progan": {"transition_images": 8000, "stable_images": 8000, "batch_sizes": [32] * 3},
      "train": {"steps_per_epoch": 125}}, 25),
    ({"model": {"family": "progan"}, "data": {"resolution": 8},
      "progan": {"transition_images": 100, "stable_images": 100, "batch_sizes": [64, 32]}}, 1),
])
def test_auto_steps_per_execution_divides_every_period(raw, expected):
    from tfgan_stable import build

    config = config_lib.from_dict(raw)
    n_critic = config.model.n_critic or config.family.gan_class.default_n_critic
    assert build.steps_per_execution(config, n_critic) == expected


@pytest.mark.parametrize("family", ["dcgan", "wgan", "wgan_gp", "began", "progan"])
def test_family_defaults_are_resolved_when_a_config_is_made(family):
    """null means the family paper's value, and the value is what the config holds."""
    from tfgan_stable import families as family_lib

    gan_class = family_lib.get(family).gan_class
    resolved = config_lib.defaults(family)
    assert resolved["model"]["n_critic"] == gan_class.default_n_critic
    assert resolved["model"]["d_normalization"] == family_lib.get(family).critic_normalization
    assert resolved["model"]["g_ema_decay"] == gan_class.default_g_ema_decay
    optimizer = resolved["optimizer"]
    assert optimizer["name"] == gan_class.optimizer_name
    assert optimizer["d_learning_rate"] == optimizer["g_learning_rate"] \
        == gan_class.default_learning_rate
    if gan_class.optimizer_name == "rmsprop":
        assert optimizer["beta_1"] is None and optimizer["beta_2"] is None  # RMSProp has none
    else:
        assert (optimizer["beta_1"], optimizer["beta_2"]) == tuple(gan_class.default_betas)
    # a value the user gives is kept, and a half-life leaves ProGAN's decay unset
    given = config_lib.from_dict({"model": {"family": family, "n_critic": 1,
                                            "g_ema_half_life_images": 1000},
                                  "optimizer": {"d_learning_rate": 3e-4}})
    assert given.model.n_critic == 1 and given.optimizer.d_learning_rate == 3e-4
    assert given.model.g_ema_decay is None


def test_a_workdir_written_before_defaults_were_resolved_still_resumes():
    """Its config.yaml holds nulls where today's holds the family's values."""
    from tfgan_stable import workdir as workdir_lib

    current = config_lib.defaults("wgan_gp")
    old = {section: dict(values) for section, values in current.items()}
    old["model"]["n_critic"] = None
    old["optimizer"].update(name=None, d_learning_rate=None, beta_1=None)
    assert workdir_lib.fingerprint_differences(old, current) == []
    old["optimizer"]["g_learning_rate"] = 0.5
    assert workdir_lib.fingerprint_differences(old, current) == [
        "optimizer.g_learning_rate: 0.5 -> 0.0001"]
