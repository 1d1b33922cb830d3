"""The workdir's fingerprint: which config changes refuse a rerun (pure, no training)."""

import copy

from tfgan_stable import config as config_lib
from tfgan_stable import workdir as workdir_lib


def _config(**model):
    """A resolved wgan_gp config dict, as train_lib writes it, with ``model`` keys set."""
    resolved = config_lib.defaults("wgan_gp")
    resolved["model"].update(model)
    return resolved


def _written_before(key, resolved):
    """``resolved`` as a library without ``section.key`` would have written it."""
    section, name = key.split(".")
    older = copy.deepcopy(resolved)
    del older[section][name]
    return older


def test_same_config_and_free_keys_are_no_difference():
    stored = _config()
    current = _config()
    current["train"]["steps"] = 99
    current["export"]["name"] = "elsewhere"
    assert workdir_lib.fingerprint_differences(stored, current) == []


def test_a_changed_key_is_named_with_both_values():
    assert workdir_lib.fingerprint_differences(_config(latent_dim=8), _config(latent_dim=16)) == [
        "model.latent_dim: 8 -> 16"]


def test_a_key_added_since_the_workdir_was_written_counts_at_its_default():
    stored = _written_before("model.pack", _config())
    assert workdir_lib.fingerprint_differences(stored, _config(pack=1)) == []
    assert workdir_lib.fingerprint_differences(stored, _config(pack=2)) == [
        "model.pack: 1 -> 2"]


def test_an_added_family_option_counts_at_the_stored_familys_default():
    stored = _written_before("wgan_gp.gp_every", _config())
    current = _config()
    current["wgan_gp"]["gp_every"] = 4
    assert workdir_lib.fingerprint_differences(stored, current) == ["wgan_gp.gp_every: 1 -> 4"]


def test_a_key_the_library_dropped_is_no_difference():
    stored = _config()
    stored["model"]["retired_option"] = 3
    assert workdir_lib.fingerprint_differences(stored, _config()) == []


def test_a_stored_family_the_library_does_not_know_is_named_not_a_crash():
    stored = _written_before("model.pack", _config(family="retired_family"))
    assert workdir_lib.fingerprint_differences(stored, _config()) == [
        "model.family: 'retired_family' -> 'wgan_gp'"]
