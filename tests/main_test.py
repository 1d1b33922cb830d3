"""The ``tfgan-train`` binary end to end on every smoke config."""

import json
import os

import pytest
import yaml

from helpers import CONFIGS, SMOKE_CONFIGS, run_train

pytestmark = pytest.mark.slow  # trains, or runs the binaries


@pytest.mark.heavy
@pytest.mark.parametrize("config", SMOKE_CONFIGS, ids=os.path.basename)
def test_binary_trains_writes_and_exports(config, tmp_path):
    workdir, export_dir = tmp_path / "run", tmp_path / "exports"
    result = run_train(f"--config={config}", f"--workdir={workdir}",
                       f"--override=export.dir={export_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    resolved = yaml.safe_load((workdir / "config.yaml").read_text())
    assert resolved["export"]["dir"] == str(export_dir)
    # 4 generator steps, or ProGAN's schedule: 16/8 + 32/8 + 32/4 = 14 steps
    steps = 14 if "progan" in config else 4
    grids = sorted(p.name for p in (workdir / "samples").iterdir())
    assert grids[-1] == f"step_{steps:07d}.png" and len(grids) >= 2
    scalars = workdir / "logs" / ("stage_2" if "progan" in config else "") / "train"
    assert any(scalars.glob("events.out.tfevents*"))  # TensorBoard scalars
    assert any((workdir / "logs" / "samples").glob("events.out.tfevents*"))  # images
    record = json.loads((workdir / "export.json").read_text())
    name = resolved["export"]["name"]
    assert record["path"] == os.path.join("..", "exports", name, "1")  # relative to workdir
    assert record["generator_steps"] == steps
    assert (export_dir / name / "1" / "saved_model.pb").is_file()
    for where in ("sample grids in", "TensorBoard logs in", "exported the generator to"):
        assert where in result.stdout


def test_dry_run_prints_the_resolved_config_and_writes_nothing(tmp_path):
    result = run_train(f"--config={CONFIGS}/wgan_gp_digits.yaml", "--dry_run",
                       f"--workdir={tmp_path / 'run'}", "--override=train.steps=17")
    assert result.returncode == 0, result.stderr[-2000:]
    printed = yaml.safe_load(result.stdout)
    assert printed["train"]["steps"] == 17 and printed["model"]["family"] == "wgan_gp"
    # every default resolved: the family paper's values, and what the machine picks
    assert printed["model"]["n_critic"] == 5 and printed["optimizer"]["name"] == "adam"
    assert printed["optimizer"]["d_learning_rate"] == 1e-4
    assert (printed["optimizer"]["beta_1"], printed["optimizer"]["beta_2"]) == (0.5, 0.9)
    assert printed["train"]["mixed_precision"] in ("float32", "mixed_bfloat16")
    assert printed["train"]["steps_per_execution"] == 1  # divides train.steps=17
    assert not (tmp_path / "run").exists()


def test_bad_input_exits_2_with_the_field_named_and_writes_nothing(tmp_path):
    result = run_train(f"--config={CONFIGS}/smoke/dcgan.yaml", f"--workdir={tmp_path / 'run'}",
                       "--override=data.name=folder:/no/such/folder",
                       f"--override=export.dir={tmp_path / 'exports'}")
    assert result.returncode == 2
    assert "data.name='folder:/no/such/folder': no such folder" in result.stderr
    assert not (tmp_path / "exports").exists() and not (tmp_path / "run").exists()
