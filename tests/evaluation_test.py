"""Evaluation during training (PeriodicEvaluation) and of exports (tfgan-eval)."""

import json
import os

import numpy as np
import pytest
import yaml

import tfgan_stable as tg
from helpers import CONFIGS, run_python
from tfgan_stable import config as config_lib
from tfgan_stable import data, metrics, train_lib

pytestmark = pytest.mark.slow  # trains, or runs the binaries


def smoke(name, tmp_path, *overrides):
    raw = yaml.safe_load(open(os.path.join(CONFIGS, "smoke", name)))
    return config_lib.from_dict(config_lib.apply_overrides(
        raw, [f"export.dir={tmp_path / 'exports'}", *overrides]))


def test_training_evaluates_mode_coverage_every_n_steps(tmp_path):
    config = smoke("wgan_gp_ring8.yaml", tmp_path, "train.eval_every=2",
                   "train.eval_samples=256")
    result = train_lib.run(config, str(tmp_path / "run"))
    logs = result.history.history  # PeriodicEvaluation adds eval_<metric> to epoch logs
    assert "eval_modes" in logs and "eval_modes/reverse_kl" in logs
    assert all(0 <= m <= 8 for m in logs["eval_modes"])
    assert any((tmp_path / "run" / "logs" / "eval").glob("events.out.tfevents*"))


def test_periodic_evaluation_history_and_bad_period():
    generator = tg.build_mlp_generator(2, 2, hidden_units=(8,))
    critic = tg.build_mlp_discriminator(2, hidden_units=(8,))
    gan = tg.WGANGP(generator, critic, n_critic=1, gp_weight=0.1)
    gan.compile()
    real = data.sample_mixture("ring8", 300, seed=0)
    callback = tg.callbacks.PeriodicEvaluation(
        metrics.evaluation_suite("ring8", real), every_n_steps=3, num_samples=300)
    dataset = tg.make_dataset(data.load_examples("ring8", num_samples=512), 32)
    gan.fit(dataset, steps_per_epoch=7, epochs=1, verbose=0, callbacks=[callback])
    assert [row["step"] for row in callback.history] == [3, 6]
    assert set(callback.history[0]) == {"step", "modes", "modes/modes_20",
                                        "modes/high_quality", "modes/reverse_kl"}
    with pytest.raises(ValueError, match="every_n_steps must be >= 1"):
        tg.callbacks.PeriodicEvaluation({}, every_n_steps=0)


def test_suite_rejects_metrics_that_do_not_fit_the_data():
    real = np.zeros((10, 8, 8, 1), np.float32)
    with pytest.raises(ValueError, match=r"metrics \['modes'\] do not apply to image data"):
        metrics.evaluation_suite("digits", real, names=["modes"])
    with pytest.raises(ValueError, match="metric 'modes' needs a toy mixture"):
        metrics.evaluation_suite("npy:x.npy", np.zeros((10, 2), np.float32))


def test_tfgan_eval_scores_an_export(tmp_path):
    result = train_lib.run(smoke("dcgan.yaml", tmp_path, "train.steps=2"), str(tmp_path / "run"))
    out = tmp_path / "scores.json"
    completed = run_python(["-m", "tfgan_stable.eval_main", f"--model={tmp_path / 'run'}",
                            "--num_samples=300", f"--output={out}"])
    assert completed.returncode == 0, completed.stderr[-3000:]
    scores = json.loads(out.read_text())
    assert scores["model"] == result.export_path and scores["data"] == "digits"
    assert set(scores["metrics"]) == {"swd", "fid", "kid", "diversity"}
    assert scores["metrics"]["swd"] > 0 and scores["metrics"]["fid"] > 0
    assert json.loads(completed.stdout) == scores
    bad = run_python(["-m", "tfgan_stable.eval_main", f"--model={tmp_path / 'nowhere'}"])
    assert bad.returncode == 2 and "no SavedModel" in bad.stderr


def test_evaluate_export_of_a_toy_generator(tmp_path):
    from tfgan_stable.eval_main import evaluate_export

    result = train_lib.run(smoke("wgan_gp_ring8.yaml", tmp_path), str(tmp_path / "run"))
    scores = evaluate_export(result.export_path, num_samples=500)
    assert scores["data"] == "ring8"
    assert set(scores["metrics"]) == {"modes", "modes/modes_20", "modes/high_quality",
                                      "modes/reverse_kl"}
