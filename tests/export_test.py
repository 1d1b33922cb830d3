"""SavedModel export: TF Serving layout, fresh-process reload, no half-written versions."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import tfgan_stable as tg
from helpers import run_python
from tfgan_stable import export

pytestmark = pytest.mark.slow  # trains, or runs the binaries


@pytest.fixture(scope="module")
def image_generator():
    return tg.build_dcgan_generator(5, 8, 3, filters=4)


def test_export_reloads_in_a_fresh_process(tmp_path, image_generator):
    path = tg.export_generator(image_generator, str(tmp_path), "digits", metadata={"family": "x"})
    assert path == str(tmp_path / "digits" / "1")
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    meta = json.loads(open(os.path.join(path, export.METADATA_FILE)).read())
    assert meta == {"family": "x", "latent_dim": 5, "output": "images",
                    "latent_distribution": "normal", "max_batch": 1024}
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


def test_saved_model_cli_lists_both_signatures_and_runs_serving_default(tmp_path,
                                                                       image_generator):
    import shutil
    import subprocess
    import sys

    path = tg.export_generator(image_generator, str(tmp_path), "cli")
    cli = shutil.which("saved_model_cli") or os.path.join(os.path.dirname(sys.executable),
                                                          "saved_model_cli")
    shown = subprocess.run([cli, "show", "--dir", path, "--all"], capture_output=True,
                           text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "signature_def['serving_default']" in shown.stdout
    assert "signature_def['generate']" in shown.stdout
    z = np.zeros((3, 5), np.float32)
    np.save(tmp_path / "z.npy", z)
    ran = subprocess.run([cli, "run", "--dir", path, "--tag_set", "serve", "--signature_def",
                          "serving_default", "--inputs", f"z={tmp_path / 'z.npy'}",
                          "--outdir", str(tmp_path / "out")], capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    images = np.load(tmp_path / "out" / "images.npy")
    assert images.shape == (3, 8, 8, 3) and images.min() >= 0 and images.max() <= 1


def test_generate_signature_is_deterministic_in_its_seed(tmp_path, image_generator):
    path = tg.export_generator(image_generator, str(tmp_path), "gen",
                               latent_distribution="uniform")
    generate = tf.saved_model.load(path).signatures["generate"]
    a = generate(seed=tf.constant(3, tf.int64), num=tf.constant(4, tf.int32))["images"]
    b = generate(seed=tf.constant(3, tf.int64), num=tf.constant(4, tf.int32))["images"]
    c = generate(seed=tf.constant(4, tf.int64), num=tf.constant(4, tf.int32))["images"]
    assert a.shape == (4, 8, 8, 3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())
    z = export.stateless_latent(3, 4, 5, "uniform").numpy()
    assert np.abs(z).max() <= 1.0
    np.testing.assert_allclose(a.numpy(), export.serving_outputs(image_generator, z)["images"],
                               atol=1e-5)


def test_warmup_records_parse_and_match_the_signatures(tmp_path, image_generator):
    from tensorflow_serving.apis import prediction_log_pb2

    path = tg.export_generator(image_generator, str(tmp_path), "warm")
    loaded = tf.saved_model.load(path)
    records = list(tf.data.TFRecordDataset(os.path.join(path, export.WARMUP_FILE)))
    assert len(records) == 2
    for record in records:
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request = log.predict_log.request
        assert request.model_spec.name == "warm"
        signature = loaded.signatures[request.model_spec.signature_name]
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        assert set(inputs) == set(signature.structured_input_signature[1])
        outputs = signature(**{k: tf.constant(v) for k, v in inputs.items()})
        assert outputs["images"].shape[0] == 1


def test_rest_and_grpc_requests_run_against_the_saved_model(tmp_path, image_generator):
    path = tg.export_generator(image_generator, str(tmp_path), "digits")
    signature = tf.saved_model.load(path).signatures["serving_default"]
    z = np.random.default_rng(0).normal(size=(2, 5)).astype(np.float32)
    body = json.loads(json.dumps(export.rest_request_body(z)))  # what curl would send
    assert body["signature_name"] == "serving_default" and len(body["instances"]) == 2
    rest = signature(z=tf.constant(body["instances"], tf.float32))["images"].numpy()
    request = export.predict_request("digits", "serving_default", {"z": z})
    grpc_z = tf.make_ndarray(request.inputs["z"])
    grpc = signature(z=tf.constant(grpc_z))["images"].numpy()
    np.testing.assert_allclose(rest, grpc, atol=1e-6)
    np.testing.assert_allclose(rest, export.serving_outputs(image_generator, z)["images"],
                               atol=1e-5)


def test_wrong_shapes_and_dtypes_fail_with_a_clear_error(tmp_path, image_generator):
    path = tg.export_generator(image_generator, str(tmp_path), "strict")
    signature = tf.saved_model.load(path).signatures["serving_default"]
    with pytest.raises(Exception, match=r"input z must be float32 \[batch, 5\]"):
        signature(z=tf.zeros((2, 7), tf.float32))  # latent size is 5
    with pytest.raises(Exception, match="expected to be a float tensor but is a int32"):
        signature(z=tf.zeros((2, 5), tf.int32))
    generate = tf.saved_model.load(path).signatures["generate"]
    with pytest.raises(Exception, match="generate input num must be >= 0"):
        generate(seed=tf.constant(1, tf.int64), num=tf.constant(-2, tf.int32))


def test_serving_has_bounds_empty_batches_and_named_shapes(tmp_path, image_generator):
    import resource

    path = tg.export_generator(image_generator, str(tmp_path), "bounded", max_batch=4)
    loaded = tf.saved_model.load(path)
    serve, generate = loaded.signatures["serving_default"], loaded.signatures["generate"]
    assert serve(z=tf.zeros((4, 5)))["images"].shape == (4, 8, 8, 3)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"serving_default batch must be <= 4 \(export.max_batch\)"):
        serve(z=tf.zeros((5, 5)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for num in (5, 10**7, 2**31 - 1):  # refused before anything is allocated
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"generate input num must be <= 4 \(export.max_batch\)"):
            generate(seed=tf.constant(0, tf.int64), num=tf.constant(num, tf.int32))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 200_000  # KiB
    # an empty batch has the images' shape, not the network's last feature maps
    assert serve(z=tf.zeros((0, 5)))["images"].shape == (0, 8, 8, 3)
    empty = generate(seed=tf.constant(0, tf.int64), num=tf.constant(0, tf.int32))["images"]
    assert empty.shape == (0, 8, 8, 3)
    for z in (tf.zeros((5,)), tf.zeros((2, 5, 1)), tf.zeros((3, 4))):
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"input z must be float32 \[batch, 5\]; got shape"):
            serve(z=z)
    meta = json.loads(open(os.path.join(path, export.METADATA_FILE)).read())
    assert meta["max_batch"] == 4


def test_default_bound_refuses_a_100000_row_batch(tmp_path, image_generator):
    path = tg.export_generator(image_generator, str(tmp_path), "default_bound", verify=False)
    serve = tf.saved_model.load(path).signatures["serving_default"]
    assert serve(z=tf.zeros((1024, 5)))["images"].shape[0] == 1024
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"must be <= 1024"):
        serve(z=tf.zeros((100_000, 5)))
