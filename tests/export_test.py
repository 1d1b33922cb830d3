"""SavedModel export: TF Serving layout, fresh-process reload, no half-written versions,
plain serving graphs, declared and checked inputs, self-describing metadata."""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

import tfgan_stable as tg
from helpers import run_python
from tfgan_stable import export
from tfgan_stable.errors import ConfigError

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
    # overwrite=True replaces the version: the new export takes its place, nothing else moves
    path = tg.export_generator(image_generator, str(tmp_path), "m", version=2, overwrite=True,
                               metadata={"note": "again"})
    assert path.endswith("/2") and sorted(os.listdir(tmp_path / "m")) == ["1", "2"]
    assert json.load(open(os.path.join(path, export.METADATA_FILE)))["note"] == "again"


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
    with pytest.raises(Exception, match=r"input z must be float32 \[batch, 5\]|\[2,7\]"):
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
    # many times, over fresh loads: the network once raced the check now and then
    # and named a wrong-rank z itself ("In[0] ndims must be >= 2")
    for _ in range(3):
        serve = tf.saved_model.load(path).signatures["serving_default"]
        for z in [tf.zeros((5,)), tf.zeros((3, 4))] * 15:
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


# ------------------------------------------------ plain serving graphs, for every family
FAMILIES = ("dcgan", "wgan", "wgan_gp", "began", "progan")


def make_gan(family):
    """A tiny compiled GAN of ``family`` with the library's own networks (8x8, filters 4)."""
    if family == "progan":
        gan = tg.ProGAN(tg.ProgressiveGenerator(8, 8, 1, fmap_base=16, fmap_max=8),
                        tg.ProgressiveDiscriminator(8, 1, fmap_base=16, fmap_max=8), seed=1)
    elif family == "began":
        gan = tg.BEGAN(tg.build_began_generator(8, 8, 1, filters=4),
                       tg.build_began_discriminator(8, 1, filters=4, bottleneck=4), seed=1)
    else:
        gan_class = {"dcgan": tg.DCGAN, "wgan": tg.WGAN, "wgan_gp": tg.WGANGP}[family]
        gan = gan_class(tg.build_dcgan_generator(8, 8, 1, filters=4),
                        tg.build_dcgan_discriminator(
                            8, 1, filters=4,
                            normalization="layer" if family == "wgan_gp" else "batch"),
                        seed=1, g_ema_decay=0.9)
    gan.compile()
    return gan


def custom_gradient_traces(path):
    """Names of the functions and ops in a SavedModel that carry a custom gradient."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved.ParseFromString(f.read())
    found = []
    for meta_graph in saved.meta_graphs:
        library = meta_graph.graph_def.library
        nodes = [(None, node) for node in meta_graph.graph_def.node]
        for function in library.function:
            if "grad_fn" in function.signature.name:
                found.append(function.signature.name)
            nodes += [(function.signature.name, node) for node in function.node_def]
        found += [f"{owner}/{node.name}" for owner, node in nodes
                  if "_gradient_op_type" in node.attr]
    return found


def test_with_keras_layers_swaps_the_librarys_layers_back_with_the_same_outputs():
    from tfgan_stable import fast as fast_layers
    from tfgan_stable.fast import small_conv

    generator = tg.build_dcgan_generator(8, 8, 3, filters=4)
    discriminator = tg.build_dcgan_discriminator(8, 3, filters=4)
    rng = np.random.default_rng(0)
    for network, inputs in ((generator, rng.normal(size=(4, 8))),
                            (discriminator, rng.uniform(-1, 1, (4, 8, 8, 3)))):
        plain = tg.with_keras_layers(network)
        kinds = {type(layer) for layer in plain._flatten_layers()}
        assert not kinds & {tg.FusedBatchNormalization, small_conv.Conv2D,
                            small_conv.Conv2DTranspose}
        assert keras_class_present(kinds, network)
        for ours, theirs in zip(plain.weights, network.weights):
            np.testing.assert_array_equal(ours, theirs)
        inputs = inputs.astype("float32")
        np.testing.assert_allclose(plain(inputs, training=False),
                                   network(inputs, training=False), atol=1e-5)
    # a round trip to the fast layers and back keeps the outputs
    fast = tg.with_fast_layers(fast_layers.with_keras_layers(generator))
    z = rng.normal(size=(2, 8)).astype("float32")
    np.testing.assert_allclose(fast(z, training=False), generator(z, training=False), atol=1e-5)
    # networks without the library's layers are returned as they are (ProGAN's subclassed ones)
    progan = make_gan("progan")
    for network in (progan.export_network(), progan.generator, make_gan("began").generator):
        assert fast_layers.with_keras_layers(network) is network


def keras_class_present(kinds, network):
    """Keras' own convolution (and batch norm, where the network had the fused one)."""
    import keras

    needed = {keras.layers.Conv2D}
    if any(isinstance(layer, tg.FusedBatchNormalization) for layer in network._flatten_layers()):
        needed.add(keras.layers.BatchNormalization)
    return needed <= kinds


def test_with_keras_layers_refuses_library_layers_inside_subclassed_code():
    import keras
    from tfgan_stable import fast as fast_layers
    from tfgan_stable.fast import small_conv

    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.conv = small_conv.Conv2D(2, 3, padding="same")

        def call(self, inputs):
            return self.conv(inputs)

    images = keras.Input((4, 4, 1))
    model = keras.Model(images, Block(name="mine")(images))
    with pytest.raises(ValueError, match="layer 'mine' \\(Block\\) creates the library's layer"):
        fast_layers.with_keras_layers(model)
    with pytest.raises(ValueError, match="expected a Keras model, got Dense"):
        fast_layers.with_keras_layers(keras.layers.Dense(2))


def test_exports_hold_plain_ops_and_load_without_warnings(tmp_path):
    """Every family's library networks, float32 and mixed bfloat16: no custom-gradient
    function in the SavedModel, and a fresh process loads them all without a warning."""
    paths = []
    for policy in ("float32", "mixed_bfloat16"):
        for family in FAMILIES:
            with tg.mixed_precision(policy):
                gan = make_gan(family)
            path = gan.export(str(tmp_path / f"{family}_{policy}" / "1"), verbose=False)
            assert custom_gradient_traces(path) == [], (family, policy)
            paths.append(path)
    code = f"""
import tensorflow as tf
from tfgan_stable import export
for path in {paths!r}:
    tf.saved_model.load(path)
    export.load_exported(path)
print("LOADED_ALL")
"""
    result = run_python(code)
    assert "LOADED_ALL" in result.stdout, result.stderr[-3000:]
    assert "custom gradient" not in result.stderr, result.stderr[-3000:]


def test_load_exported_silences_old_exports_custom_gradient_warnings(tmp_path, monkeypatch):
    """An export written before the layer swap (the network exported as it is) holds
    custom gradients; loading it through the library's tools prints no warning."""
    with tg.mixed_precision("mixed_bfloat16"):
        generator = tg.build_dcgan_generator(8, 8, 1, filters=4)
    monkeypatch.setattr(export, "serving_network", lambda network: network)
    path = tg.export_generator(generator, str(tmp_path), "old", verify=False)
    assert custom_gradient_traces(path)  # what exports used to hold
    plain = run_python(f"import tensorflow as tf; tf.saved_model.load({path!r}); print('OK')")
    assert "OK" in plain.stdout and "unsaved custom gradients" in plain.stderr
    quiet = run_python("from tfgan_stable import export, interpolation\n"
                       f"export.load_exported({path!r}); interpolation.load_exported({path!r})\n"
                       "print('OK')")
    assert "OK" in quiet.stdout, quiet.stderr[-3000:]
    assert "unsaved custom gradients" not in quiet.stderr


# ---------------------------------------------------------------- declared, checked inputs
def test_z_is_declared_with_the_latent_width(tmp_path, image_generator):
    path = tg.export_generator(image_generator, str(tmp_path), "declared")
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--dir", path, "--tag_set", "serve",
                            "--signature_def", "serving_default"],
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr[-2000:]
    z_block = shown.stdout.split("inputs['z']")[1].split("outputs")[0]
    assert "dtype: DT_FLOAT" in z_block and "shape: (-1, 5)" in z_block, shown.stdout
    signature = tf.saved_model.load(path).signatures["serving_default"]
    assert signature.structured_input_signature[1]["z"].shape.as_list() == [None, 5]
    assert export.load_exported(path).latent_dim == 5


def served_session_call(path, signature="serving_default", output="images"):
    """A call of ``signature`` as TF Serving makes it: the graph in a session (graph
    optimisations on), inputs fed by name with no check against the declared shape."""
    from tensorflow.core.protobuf import config_pb2

    graph = tf.Graph()
    session = tf.compat.v1.Session(graph=graph)
    with graph.as_default():
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], path)
    definition = meta.signature_def[signature]
    names = sorted(definition.inputs)
    options = config_pb2.CallableOptions(feed=[definition.inputs[name].name for name in names],
                                         fetch=[definition.outputs[output].name])
    run = session._make_callable_from_options(options)
    return lambda **inputs: run(*[inputs[name] for name in names])[0]


def test_in_graph_checks_hold_where_a_server_feeds_any_shape(tmp_path, image_generator):
    """With z declared [None, 5], grappler would fold checks of the declared shape to
    True; the checks read run-time values, so a server feeding any tensor meets them."""
    path = tg.export_generator(image_generator, str(tmp_path), "served", max_batch=4)
    serve = served_session_call(path)
    assert serve(z=np.zeros((3, 5), np.float32)).shape == (3, 8, 8, 3)
    assert serve(z=np.zeros((0, 5), np.float32)).shape == (0, 8, 8, 3)
    for z in (np.zeros((2, 7)), np.zeros((5,)), np.zeros((3, 4)), np.zeros(()),
              np.zeros((1, 10))):
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"serving_default input z must be float32 \[batch, 5\]; "
                                 r"got shape"):
            serve(z=z.astype(np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"serving_default batch must be <= 4 \(export.max_batch\)"):
        serve(z=np.zeros((5, 5), np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="must hold finite numbers"):
        serve(z=np.full((2, 5), np.nan, np.float32))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_z_is_refused_in_the_graph(tmp_path, image_generator, bad):
    path = tg.export_generator(image_generator, str(tmp_path), "finite", verify=False)
    serve = tf.saved_model.load(path).signatures["serving_default"]
    z = np.zeros((3, 5), np.float32)
    z[1, 2] = bad
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"serving_default input z must hold finite numbers; NaN or inf "
                             r"values found:\] \[1\]"):
        serve(z=tf.constant(z))
    assert np.isfinite(serve(z=tf.zeros((3, 5)))["images"].numpy()).all()


# --------------------------------------------------------------------- self-describing
def nulls(value, where=""):
    """Paths of the None values inside a JSON-like value."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in nulls(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in nulls(item, f"{where}[{i}]")]
    return [where] if value is None else []


@pytest.mark.parametrize("family", ["wgan", "progan"])
def test_gan_export_records_family_settings_and_data(tmp_path, family):
    gan = make_gan(family)
    meta = json.load(open(os.path.join(gan.export(str(tmp_path / "m" / "1"), verbose=False),
                                       export.METADATA_FILE)))
    assert nulls(meta) == []
    assert meta["family"] == family and meta["data"] == "unknown"
    assert meta["latent_dim"] == 8 and meta["sample_shape"] == [8, 8, 1]
    assert meta["resolution"] == 8 and meta["kind"] == "image" and meta["output"] == "images"
    assert meta["n_critic"] == gan.n_critic and meta["mixed_precision"] == "float32"
    d_settings = meta["optimizers"]["discriminator"]
    assert d_settings["class"] == type(gan.d_optimizer).__name__
    assert d_settings["learning_rate"] == type(gan).default_learning_rate  # 5e-05, not 4.99e-05
    if family == "progan":  # Adam(1e-3, 0, 0.99) and an EMA of 0.999 by default
        assert (d_settings["beta_1"], d_settings["beta_2"]) == (0.0, 0.99)
        assert meta["ema"] == {"enabled": True, "decay": 0.999}
    else:
        assert meta["ema"] == {"enabled": True, "decay": 0.9}
        assert meta["options"]["clip_value"] == gan.clip_value
    gan.data_source = "my own faces"  # what fit records where it knows (else "unknown")
    meta = json.load(open(os.path.join(gan.export(str(tmp_path / "m" / "1"), verbose=False),
                                       export.METADATA_FILE)))
    assert meta["data"] == "my own faces"
    assert gan.export(str(tmp_path / "n"), verbose=False, metadata={"data": "x"})
    assert json.load(open(tmp_path / "n" / export.METADATA_FILE))["data"] == "x"


def test_binary_export_records_the_values_the_run_used(tmp_path):
    from helpers import CONFIGS
    from tfgan_stable import config as config_lib
    from tfgan_stable import train_lib

    raw = config_lib.apply_overrides(
        __import__("yaml").safe_load(open(os.path.join(CONFIGS, "smoke", "wgan_gp.yaml"))),
        [f"export.dir={tmp_path / 'exports'}", "train.steps=2"])
    result = train_lib.run(config_lib.from_dict(raw), str(tmp_path / "work"))
    meta = json.load(open(os.path.join(result.export_path, export.METADATA_FILE)))
    config = meta["config"]
    assert config["model"]["n_critic"] == 5 == meta["n_critic"]
    assert config["model"]["architecture"] == "dcgan"
    assert {key: config["optimizer"][key] for key in
            ("name", "d_learning_rate", "g_learning_rate", "beta_1", "beta_2")} == {
        "name": "adam", "d_learning_rate": 1e-4, "g_learning_rate": 1e-4,
        "beta_1": 0.5, "beta_2": 0.9}
    assert config["train"]["mixed_precision"] in ("float32", "mixed_bfloat16")
    assert meta["mixed_precision"] == config["train"]["mixed_precision"]
    assert meta["family"] == "wgan_gp" and meta["data"] == "digits"
    assert meta["optimizers"]["generator"]["learning_rate"] == 1e-4
    assert meta["ema"] == {"enabled": False} and meta["generator_steps"] == 2
    # what stays null means "off" (no EMA, no adaptive augmentation), nothing else
    assert sorted(nulls(meta)) == [".config.augment.target", ".config.model.g_ema_decay",
                                   ".config.model.g_ema_half_life_images",
                                   ".config.model.g_ema_rampup"]


# -------------------------------------------------------- existing paths, full disks, kills
def hidden(folder):
    return sorted(name for name in os.listdir(folder) if name.startswith("."))


def test_gan_export_twice_to_a_version_takes_the_next_one(tmp_path, capsys):
    gan = make_gan("wgan_gp")
    first = gan.export(str(tmp_path / "my_gan" / "1"))
    second = gan.export(str(tmp_path / "my_gan" / "1"))
    assert (first, second) == (str(tmp_path / "my_gan" / "1"), str(tmp_path / "my_gan" / "2"))
    printed = capsys.readouterr().out
    assert f"{tmp_path / 'my_gan' / '1'} already exists; saved" in printed
    assert f"the next version, {second}" in printed
    assert sorted(os.listdir(tmp_path / "my_gan")) == ["1", "2"]


def test_gan_export_to_an_existing_folder_needs_overwrite(tmp_path):
    gan = make_gan("dcgan")
    path = gan.export(str(tmp_path / "plain"), verbose=False)
    stamp = os.path.join(path, "mine.txt")
    open(stamp, "w").write("old export")
    with pytest.raises(ConfigError, match="already exists; not overwriting it \\(pass "
                                          "overwrite=True"):
        gan.export(path, verbose=False)
    assert os.path.exists(stamp)
    # a replacement whose verification fails leaves the old export as it was
    original = export.verify_export
    export.verify_export = lambda *args, **kwargs: (_ for _ in ()).throw(
        ValueError("simulated verification failure"))
    try:
        with pytest.raises(ValueError, match="simulated"):
            gan.export(path, verbose=False, overwrite=True)
    finally:
        export.verify_export = original
    assert os.path.exists(stamp) and hidden(tmp_path) == []
    assert gan.export(path, verbose=False, overwrite=True) == path
    assert not os.path.exists(stamp) and os.path.isfile(os.path.join(path, "saved_model.pb"))
    assert sorted(os.listdir(tmp_path)) == ["plain"]  # nothing aside, nothing temporary


@pytest.mark.parametrize("failure", ["oserror", "tensorflow"])
def test_a_full_disk_ends_in_one_line_and_keeps_earlier_versions(tmp_path, image_generator,
                                                                 monkeypatch, failure):
    first = tg.export_generator(image_generator, str(tmp_path), "m")
    before = sorted(os.listdir(first))

    def full(path, *args):
        open(os.path.join(path, "partial"), "w").write("x")  # something already written
        if failure == "oserror":
            raise OSError(errno.ENOSPC, "No space left on device", path)
        raise tf.errors.ResourceExhaustedError(None, None, f"{path}/variables; No space left "
                                                           "on device")

    monkeypatch.setattr(export, "write_warmup_requests", full)
    with pytest.raises(ConfigError) as raised:
        tg.export_generator(image_generator, str(tmp_path), "m")
    message = str(raised.value)
    assert "\n" not in message and "no space left" in message
    assert repr(str(tmp_path / "m")) in message
    assert sorted(os.listdir(tmp_path / "m")) == ["1"]  # no version 2, no temporary folder
    assert sorted(os.listdir(first)) == before
    gan = make_gan("wgan_gp")
    with pytest.raises(ConfigError, match=r"export to '.*/g/1' failed: no space left"):
        gan.export(str(tmp_path / "g" / "1"), verbose=False)
    assert os.listdir(tmp_path / "g") == []


def test_too_little_free_space_is_refused_before_writing(tmp_path, image_generator,
                                                         monkeypatch):
    import shutil

    usage = shutil.disk_usage(str(tmp_path))
    monkeypatch.setattr(export.shutil, "disk_usage",
                        lambda path: usage._replace(free=1000))
    with pytest.raises(ConfigError, match=r"export to '.*/m': 0.0 MiB free on its disk, "
                                          r"the export needs about"):
        tg.export_generator(image_generator, str(tmp_path), "m")
    assert os.listdir(tmp_path / "m") == []


def test_a_killed_export_leaves_a_folder_the_next_export_removes(tmp_path, image_generator):
    code = f"""
import os, signal
import tfgan_stable as tg
from tfgan_stable import export

def killed(path, *args):
    open(os.path.join(path, "half"), "w").write("x")
    os.kill(os.getpid(), signal.SIGKILL)

export.write_warmup_requests = killed
tg.export_generator(tg.build_dcgan_generator(5, 8, 3, filters=4), {str(tmp_path)!r}, "m")
"""
    result = run_python(code)
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    left = hidden(tmp_path / "m")
    assert len(left) == 1 and left[0].startswith(".tmp-")
    # kept: a live writer's folder; an earlier release's (no pid) until a day old; a
    # user's own hidden folder, whatever its age
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        live = tmp_path / "m" / f".tmp-tfgan-{sleeper.pid}-abc"
        legacy_fresh, legacy_old = tmp_path / "m" / ".tmp-fresh", tmp_path / "m" / ".tmp-old"
        mine = tmp_path / "m" / ".tmp-mine"
        for folder in (live, legacy_fresh, legacy_old, mine):
            folder.mkdir()
        (legacy_old / "saved_model.pb").write_bytes(b"half")
        (mine / "notes.txt").write_text("not an export")
        two_days_ago = time.time() - 2 * 24 * 3600
        for folder in (legacy_old, mine):
            os.utime(folder, (two_days_ago, two_days_ago))
        path = tg.export_generator(image_generator, str(tmp_path), "m")
        assert path.endswith("/1")
        assert hidden(tmp_path / "m") == sorted([live.name, legacy_fresh.name, mine.name])
    finally:
        sleeper.kill()
        sleeper.wait()
    # once its writer is gone, the next export (GAN.export too) removes it
    make_gan("dcgan").export(str(tmp_path / "m" / "1"), verbose=False)
    assert hidden(tmp_path / "m") == sorted([legacy_fresh.name, mine.name])
    assert sorted(name for name in os.listdir(tmp_path / "m") if name.isdigit()) == ["1", "2"]


def test_a_replacement_killed_between_its_renames_is_rolled_back(tmp_path, image_generator):
    path = tg.export_generator(image_generator, str(tmp_path), "m")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    aside = f".old-tfgan-{dead.pid}-1"
    os.rename(path, tmp_path / "m" / aside)  # renamed aside; the new one never arrived
    assert export.remove_stale_folders(str(tmp_path / "m")) == [aside]
    assert os.listdir(tmp_path / "m") == ["1"]
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
