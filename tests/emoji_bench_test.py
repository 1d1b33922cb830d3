"""bench/emoji_quality.py end to end on a tiny labelled colour folder with transparency:
one conditional library run and the conditional Keras-example peer, in tiny mode
(issue #37). The real folder (emoji-noto) is not needed.

Run from the repository root as ``python -m pytest`` (as ``make test`` does), which
puts the root, and so the ``bench`` package, on the import path.
"""

import json
import math
import os

import numpy as np
import pytest
import tensorflow as tf

from helpers import run_python

CLASSES = {"faces": (230, 200, 40), "flags": (200, 30, 40), "plants": (40, 160, 60)}
PER_CLASS = 14


def make_folder(root, side=8, seed=0):
    """``PER_CLASS`` RGBA PNGs per class: a coloured disc (or square, for flags) on a
    transparent background, the colour jittered."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side]
    for index, (name, colour) in enumerate(CLASSES.items()):
        os.makedirs(os.path.join(root, name))
        for i in range(PER_CLASS):
            radius, (cy, cx) = rng.integers(2, 4), rng.integers(3, 5, 2)
            if name == "flags":
                inside = (abs(yy - cy) <= radius) & (abs(xx - cx) <= radius + 1)
            else:
                inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius * radius
            pixels = np.zeros((side, side, 4), np.uint8)
            pixels[..., :3] = np.clip(np.array(colour) + rng.integers(-30, 30, 3), 0, 255)
            pixels[..., 3] = np.where(inside, 255, 0)
            with open(os.path.join(root, name, f"{index}_{i:03d}.png"), "wb") as f:
                f.write(tf.io.encode_png(pixels).numpy())


def finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


@pytest.mark.timeout(240)
def test_tiny_emoji_quality_scores_every_row(tmp_path, monkeypatch):
    monkeypatch.setenv("TFGAN_STABLE_CACHE", str(tmp_path / "cache"))
    data, out = tmp_path / "emoji", tmp_path / "results"
    make_folder(str(data))
    result = run_python([
        "-m", "bench.emoji_quality", "--data", str(data), "--tiny", "--resolution", "16",
        "--runs", "sngan,peer_cgan", "--seeds", "0", "--jobs", "2",
        "--budget_minutes", "0.05", "--eval_every_minutes", "0.05", "--eval_samples", "32",
        "--per_class_samples", "8", "--per_class_min_count", "3", "--held_out", "0.25",
        "--classifier_epochs", "2", "--records", str(tmp_path / "records"),
        "--out", str(out)])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    folder = out / "emoji_quality"
    with open(folder / "emoji_quality.json") as f:
        report = json.load(f)
    assert report["classifier"]["class_names"] == sorted(CLASSES)
    held_out = report["classifier"]["held_out_counts"]
    assert sum(held_out) == math.ceil(0.25 * 3 * PER_CLASS) and min(held_out) >= 3  # stratified
    rows = {row["run"]: row for row in report["rows"]}
    assert set(rows) == {"sngan", "peer_cgan"}
    for row in rows.values():
        assert row["conditional"]
        for key in ("frechet", "kid", "precision", "recall", "density", "coverage",
                    "copy_share", "per_class_frechet", "conditional_accuracy",
                    "accuracy_ratio"):
            assert row[key] and all(finite(v) for v in row[key]), (row["run"], key, row[key])
        assert row["generator_steps"][0] > 0
    for record in report["records"]:
        assert record["curve"][-1]["cpu_seconds"] >= 0.05 * 60  # the last: at the budget
        assert set(record["curve"][-1]["per_class"]) == set(CLASSES)
    text = (folder / "emoji_quality.md").read_text()
    assert "Frechet distance (local classifier features)" in text
    assert "FID" not in text
    assert (folder / "emoji_quality_samples.png").is_file()
    assert stamped(folder / "emoji_quality.json")


def stamped(path):
    from bench import common

    return common.read_stamp(str(path)) is not None


@pytest.mark.timeout(240)
def test_tiny_emoji_speed_measures_both_precisions_and_the_pipeline(tmp_path, monkeypatch):
    monkeypatch.setenv("TFGAN_STABLE_CACHE", str(tmp_path / "cache"))
    data, out = tmp_path / "emoji", tmp_path / "results"
    make_folder(str(data))
    result = run_python([
        "-m", "bench.emoji_quality", "--data", str(data), "--tiny", "--resolution", "16",
        "--speed", "--speed_runs", "sngan", "--speed_seconds", "0.5",
        "--warm_seconds", "0.5", "--held_out", "0.25", "--name", "emoji_speed",
        "--out", str(out)])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with open(out / "emoji_quality" / "emoji_speed.json") as f:
        rows = json.load(f)["rows"]
    assert [(r["run"], r["precision"]) for r in rows] == [
        ("sngan", "float32"), ("sngan", "mixed_bfloat16")]
    for row in rows:
        assert row["training_images_per_second"] > 0
        assert row["pipeline_images_per_second"] > 0
