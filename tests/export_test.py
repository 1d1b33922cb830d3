"""SavedModel export: TF Serving layout, fresh-process reload, no half-written versions."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import tfgan_stable as tg
from conftest import run_python
from tfgan_stable import export


@pytest.fixture(scope="module")
def image_generator():
    return tg.build_dcgan_generator(5, 8, 3, filters=4)


def test_export_reloads_in_a_fresh_process(tmp_path, image_generator):
    path = tg.export_generator(image_generator, str(tmp_path), "digits", metadata={"family": "x"})
    assert path == str(tmp_path / "digits" / "1")
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    meta = json.loads(open(os.path.join(path, export.METADATA_FILE)).read())
    assert meta == {"family": "x", "latent_dim": 5, "output": "images"}
    rng = np.random.default_rng(0)
    for batch in (1, 7):
        z = rng.normal(size=(batch, 5)).astype(np.float32)
        np.save(tmp_path / f"z{batch}.npy", z)
        expected = (image_generator(z, training=False).numpy() + 1) / 2
        np.save(tmp_path / f"expected{batch}.npy", expected)
    code = f"""
import numpy as np, tensorflow as tf
fn = tf.saved_model.load({path!r}).signatures["serving_default"]
for batch in (1, 7):
    z = np.load({str(tmp_path)!r} + f"/z{{batch}}.npy")
    out = fn(z=tf.constant(z))["images"].numpy()
    expected = np.load({str(tmp_path)!r} + f"/expected{{batch}}.npy")
    assert out.shape == (batch, 8, 8, 3), out.shape
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1
    np.testing.assert_allclose(out, expected, atol=1e-5)
print("RELOAD_OK")
"""
    result = run_python(code)
    assert "RELOAD_OK" in result.stdout, result.stderr[-3000:]


def test_versions_increase_and_are_never_overwritten(tmp_path, image_generator):
    assert tg.export_generator(image_generator, str(tmp_path), "m").endswith("/1")
    assert tg.export_generator(image_generator, str(tmp_path), "m").endswith("/2")
    with pytest.raises(ValueError, match="already exists; not overwriting"):
        tg.export_generator(image_generator, str(tmp_path), "m", version=2)
    assert export.existing_versions(str(tmp_path / "m")) == [1, 2]


def test_vector_generator_exports_samples_in_data_units(tmp_path):
    generator = tg.build_mlp_generator(2, 2, hidden_units=(4,))
    path = tg.export_generator(generator, str(tmp_path), "ring")
    z = tf.constant(np.ones((3, 2), np.float32))
    out = tf.saved_model.load(path).signatures["serving_default"](z=z)
    np.testing.assert_allclose(out["samples"].numpy(), generator(z).numpy(), atol=1e-6)


def test_failed_export_leaves_no_version(tmp_path, image_generator, monkeypatch):
    def broken(path, generator, **kwargs):
        raise ValueError("simulated verification failure")

    monkeypatch.setattr(export, "verify_export", broken)
    with pytest.raises(ValueError, match="simulated"):
        tg.export_generator(image_generator, str(tmp_path), "m")
    assert os.listdir(tmp_path / "m") == []  # no version folder, no temporary left


def test_bad_export_name(tmp_path, image_generator):
    with pytest.raises(ValueError, match="export.name must be a plain folder name"):
        tg.export_generator(image_generator, str(tmp_path), "a/b")
