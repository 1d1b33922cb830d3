"""SavedModel export of a generator in TF Serving's layout.

``<export_dir>/<name>/<version>/`` where ``version`` is an integer one above
the largest already there. The model is written into a hidden temporary folder
(TF Serving only loads integer-named folders), reloaded and checked against the
live generator, and only then renamed into place: an interrupted or failed
export never leaves a version that a server would pick up.

Signatures:

* ``serving_default``: input ``z`` float32 ``[batch, latent_dim]`` (checked in
  the graph, so the signature declares no shape); output
  ``images`` float32 NHWC in [0, 1] for image generators, or ``samples``
  float32 ``[None, D]`` in data units for vector generators.
* ``generate``: inputs ``seed`` int64 and ``num`` int32 scalars, the same
  output for ``num`` latent vectors drawn statelessly from ``seed`` (same seed,
  same samples), so REST clients need not make noise themselves.

``assets.extra/tf_serving_warmup_requests`` holds one PredictionLog per
signature, so TF Serving runs each graph once before the first real request.
"""

import dataclasses
import errno
import json
import os
import shutil
import tempfile
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from tfgan_stable import workdir as workdir_lib
from tfgan_stable.errors import ConfigError, MissingPathError

SERVING_SIGNATURE = "serving_default"
GENERATE_SIGNATURE = "generate"
METADATA_FILE = "tfgan_stable.json"
DEFAULT_MAX_BATCH = 1024
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def existing_versions(model_dir):
    """Integer version folders already in ``model_dir`` (sorted)."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(name) for name in os.listdir(model_dir) if name.isdigit())


def next_version(model_dir):
    versions = existing_versions(model_dir)
    return versions[-1] + 1 if versions else 1


def _output_kind(generator):
    rank = len(generator.output_shape)
    if rank == 4:
        return "images"
    if rank == 2:
        return "samples"
    raise ValueError(
        f"export: the generator's output must be images [B, H, W, C] or vectors [B, D], "
        f"got shape {generator.output_shape}"
    )


def serving_outputs(generator, z):
    """The serving signature's outputs for latent batch ``z`` (a dict)."""
    samples = tf.cast(generator(z, training=False), tf.float32)
    if _output_kind(generator) == "images":
        return {"images": tf.clip_by_value((samples + 1.0) * 0.5, 0.0, 1.0)}
    return {"samples": samples}


def _checked_latent(z, latent_dim, max_batch):
    """``z`` after in-graph checks of its shape and batch size (served models too).

    The checks use the run-time shape: TF Serving and a loaded signature can be
    fed tensors that the signature's static shape does not describe.
    """
    shape = tf.shape(z)
    padded = tf.concat([shape, [-1, -1]], 0)  # rank-safe: a rank-1 z has no padded[1]
    shape_ok = tf.logical_and(tf.equal(tf.size(shape), 2), tf.equal(padded[1], latent_dim))
    check_shape = tf.debugging.Assert(
        shape_ok, [f"serving_default input z must be float32 [batch, {latent_dim}]; got shape",
                   shape])
    with tf.control_dependencies([check_shape]):
        check_batch = tf.debugging.Assert(
            padded[0] <= max_batch, [_batch_message("serving_default batch", max_batch), shape])
    with tf.control_dependencies([check_batch]):
        return tf.ensure_shape(z, [None, latent_dim])


def _batch_message(what, max_batch):
    return (f"{what} must be <= {max_batch} (export.max_batch); split the request or "
            "export again with a larger export.max_batch; got")


def stateless_latent(seed, num, latent_dim, distribution="normal", max_batch=None):
    """``num`` latent vectors drawn deterministically from an int64 ``seed``."""
    seeds = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
    checks = [tf.debugging.assert_non_negative(num, message="generate input num must be >= 0")]
    if max_batch is not None:
        checks.append(tf.debugging.Assert(num <= max_batch,
                                          [_batch_message("generate input num", max_batch), num]))
    with tf.control_dependencies(checks):
        shape = tf.stack([tf.cast(num, tf.int32), latent_dim])
    if distribution == "uniform":
        return tf.random.stateless_uniform(shape, seeds, minval=-1.0, maxval=1.0)
    return tf.random.stateless_normal(shape, seeds)


def _serve(generator, z):
    """:func:`serving_outputs`, with an empty batch answered without running the network.

    Some CPU kernels return the wrong channel count for a batch of 0, so an
    empty request gets an empty output of the generator's own shape.
    """
    sample_shape = list(generator.output_shape[1:])

    def empty():
        return tf.zeros([0, *sample_shape], tf.float32)

    key = "images" if _output_kind(generator) == "images" else "samples"
    out = tf.cond(tf.shape(z)[0] > 0, lambda: serving_outputs(generator, z)[key], empty)
    return {key: tf.ensure_shape(out, [None, *sample_shape])}


def export_generator(generator, export_dir="saved_models", name="generator",
                     version=None, metadata=None, verify=True, latent_distribution="normal",
                     warmup=True, max_batch=DEFAULT_MAX_BATCH):
    """Exports ``generator`` as a SavedModel for TF Serving; returns the version path.

    Args:
      generator: a built Keras model ``[B, latent_dim] -> samples`` (pass the EMA
        generator where there is one; ``GAN.sampler`` is the right choice).
      export_dir: the model base folder's parent.
      name: the model name (TF Serving's ``--model_name``).
      version: an integer; default one above the largest existing version.
      metadata: JSON-serialisable dict written to ``tfgan_stable.json`` beside
        the SavedModel (family, resolution, step, config, ...).
      verify: reload the written model and compare it with ``generator``.
      latent_distribution: ``"normal"`` or ``"uniform"`` (on [-1, 1]), for the
        ``generate`` signature.
      warmup: write TF Serving warm-up requests (needs tensorflow-serving-api).
      max_batch: the largest batch either signature serves; a larger request
        fails in the graph with a message naming the bound (memory grows with
        the batch, so an unbounded request could exhaust the server).

    Raises:
      ValueError: bad name or version, version already present, or a reloaded
        model that disagrees with the generator (nothing is published then).
    """
    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"export.name must be a plain folder name, got {name!r}")
    if max_batch < 1:
        raise ConfigError(f"export.max_batch must be >= 1, got {max_batch}")
    _output_kind(generator)  # fails early for a generator that is not images or vectors
    model_dir = os.path.join(export_dir, name)
    if version is not None and int(version) < 1:
        raise ConfigError(f"export version must be >= 1, got {version}")
    if version is not None and os.path.exists(os.path.join(model_dir, str(int(version)))):
        raise ConfigError(f"export version {os.path.join(model_dir, str(int(version)))!r} "
                          "already exists; not overwriting it")
    os.makedirs(model_dir, exist_ok=True)
    tmp = _hidden_folder(model_dir)
    try:
        _write_saved_model(generator, tmp, name, metadata, verify, latent_distribution,
                           warmup, max_batch)
        return _publish(tmp, model_dir, version)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def export_to_path(generator, path, metadata=None, verify=True, latent_distribution="normal",
                   warmup=True, max_batch=DEFAULT_MAX_BATCH):
    """The export of :func:`export_generator`, written to exactly ``path`` (not versioned).

    Written to a hidden folder beside ``path`` and renamed into place, so a
    failure leaves nothing at ``path``. What ``GAN.export`` (Keras' ``export``)
    writes.

    Raises:
      ConfigError: ``path`` exists already (it is never overwritten).
    """
    path = os.path.abspath(path)
    if os.path.exists(path):
        raise ConfigError(f"export path {path!r} already exists; not overwriting it")
    if max_batch < 1:
        raise ConfigError(f"export.max_batch must be >= 1, got {max_batch}")
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = _hidden_folder(parent)
    # TF Serving's model name: the folder above a version folder, else the folder itself
    name = os.path.basename(parent if os.path.basename(path).isdigit() else path)
    try:
        _write_saved_model(generator, tmp, name, metadata, verify, latent_distribution,
                           warmup, max_batch)
        os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _hidden_folder(parent):
    """A new hidden folder in ``parent`` (TF Serving loads integer-named folders only)."""
    tmp = tempfile.mkdtemp(prefix=".tmp-", dir=parent)
    os.chmod(tmp, 0o755)  # mkdtemp's 0o700 would hide it from a server run as another user
    return tmp


def _write_saved_model(generator, path, name, metadata, verify, latent_distribution, warmup,
                       max_batch):
    """Writes the SavedModel, warm-up requests and metadata into the folder ``path``."""
    kind = _output_kind(generator)
    latent_dim = generator.input_shape[-1]
    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint(
        name=SERVING_SIGNATURE,
        fn=lambda z: _serve(generator, _checked_latent(z, latent_dim, max_batch)),
        # Any rank: a static [None, latent_dim] would let graph optimisers fold the
        # shape checks away, and servers do not check shapes against a signature.
        input_signature=[tf.TensorSpec(None, tf.float32, name="z")],
    )
    archive.add_endpoint(
        name=GENERATE_SIGNATURE,
        fn=lambda seed, num: _serve(generator, stateless_latent(
            seed, num, latent_dim, latent_distribution, max_batch)),
        input_signature=[tf.TensorSpec([], tf.int64, name="seed"),
                         tf.TensorSpec([], tf.int32, name="num")],
    )
    archive.write_out(path, verbose=False)
    if warmup:
        write_warmup_requests(path, name, latent_dim)
    with open(os.path.join(path, METADATA_FILE), "w") as f:
        json.dump({"output": kind, "latent_dim": latent_dim, "max_batch": max_batch,
                   "latent_distribution": latent_distribution, **(metadata or {})}, f,
                  indent=2, sort_keys=True, default=str)
    if verify:
        verify_export(path, generator)


def _publish(tmp, model_dir, version):
    """Renames ``tmp`` to the next free version folder; returns its path.

    ``rename`` onto an existing non-empty folder fails, so two exports racing
    for one version number cannot both take it: the loser takes the next one.
    """
    while True:
        final = os.path.join(model_dir, str(next_version(model_dir) if version is None
                                            else int(version)))
        try:
            if os.path.exists(final) and version is not None:
                raise ConfigError(f"export version {final!r} already exists; "
                                  "not overwriting it")
            os.rename(tmp, final)
            return final
        except OSError as error:
            if version is not None or error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise


def predict_request(model_name, signature, inputs):
    """A ``tensorflow_serving.apis.predict_pb2.PredictRequest`` (the gRPC message)."""
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    return request


def rest_request_body(z):
    """The JSON body of a TF Serving REST ``:predict`` call for ``serving_default``."""
    return {"signature_name": SERVING_SIGNATURE, "instances": np.asarray(z).tolist()}


def write_warmup_requests(path, model_name, latent_dim):
    """Writes ``assets.extra/tf_serving_warmup_requests``: one request per signature."""
    from tensorflow_serving.apis import prediction_log_pb2

    requests = [
        predict_request(model_name, SERVING_SIGNATURE,
                        {"z": np.zeros((1, latent_dim), np.float32)}),
        predict_request(model_name, GENERATE_SIGNATURE,
                        {"seed": np.int64(0), "num": np.int32(1)}),
    ]
    os.makedirs(os.path.join(path, "assets.extra"), exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(path, WARMUP_FILE)) as writer:
        for request in requests:
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


# How far a reloaded export may differ from the generator, by the generator's
# compute dtype: the reload may fuse ops differently, and a reduced-precision
# network rounds each of its layers (4 units in the last place at 1.0).
VERIFY_TOLERANCE = {"float32": 1e-5, "float16": 4 * 2.0**-10, "bfloat16": 4 * 2.0**-7}


def compute_dtype(network):
    """The lowest-precision compute dtype among ``network``'s layers with weights."""
    dtypes = {layer.compute_dtype for layer in network._flatten_layers() if layer.weights}
    return next((d for d in ("bfloat16", "float16") if d in dtypes), "float32")


def verify_export(path, generator, batch_sizes=(1, 3), tolerance=None):
    """Reloads a SavedModel and checks its signature reproduces ``generator``.

    ``tolerance`` (absolute and relative; default: :data:`VERIFY_TOLERANCE` of
    the generator's compute dtype) bounds the difference.
    """
    tolerance = tolerance or VERIFY_TOLERANCE[compute_dtype(generator)]
    loaded = tf.saved_model.load(path)
    if SERVING_SIGNATURE not in loaded.signatures:
        raise ValueError(f"export {path!r} lacks the {SERVING_SIGNATURE!r} signature")
    signature = loaded.signatures[SERVING_SIGNATURE]
    latent_dim = generator.input_shape[-1]
    rng = np.random.default_rng(0)
    for batch in batch_sizes:
        z = tf.constant(rng.normal(size=(batch, latent_dim)), tf.float32)
        expected = {k: v.numpy() for k, v in serving_outputs(generator, z).items()}
        got = signature(z=z)
        for key, value in expected.items():
            if key not in got:
                raise ValueError(f"export {path!r}: signature output {key!r} missing")
            if not np.allclose(got[key].numpy(), value, atol=tolerance, rtol=tolerance):
                raise ValueError(
                    f"export {path!r}: reloaded output {key!r} differs from the generator "
                    f"(max abs diff {np.abs(got[key].numpy() - value).max():.3g})"
                )
    generate = loaded.signatures[GENERATE_SIGNATURE]
    first = generate(seed=tf.constant(7, tf.int64), num=tf.constant(2, tf.int32))
    again = generate(seed=tf.constant(7, tf.int64), num=tf.constant(2, tf.int32))
    for key, value in first.items():
        if value.shape[0] != 2 or not np.array_equal(value.numpy(), again[key].numpy()):
            raise ValueError(f"export {path!r}: signature {GENERATE_SIGNATURE!r} is not "
                             "deterministic in its seed")


@dataclasses.dataclass(frozen=True)
class Exported:
    """A loaded export: ``generate(z)`` runs ``serving_default`` and returns its output."""

    generate: Callable
    latent_dim: int
    output: str  # "images" (in [0, 1]) or "samples" (data units)
    distribution: str  # the latent distribution it was trained with
    path: str
    metadata: dict


def load_exported(source):
    """Loads an export from a version folder, a model folder or a training workdir.

    Args:
      source: a SavedModel version folder, a model folder (its newest version
        is used) or a training workdir (the export its ``export.json`` names).

    Raises:
      FileNotFoundError: no SavedModel there.
    """
    path = source
    record = workdir_lib.read_export_record(source) if os.path.isdir(source) else {}
    if record:
        path = record["path"]
    elif os.path.isdir(source) and not os.path.isfile(os.path.join(source, "saved_model.pb")):
        versions = existing_versions(source)
        if not versions:
            raise MissingPathError(
                f"{source!r} is neither a SavedModel, a model folder with versions, "
                "nor a workdir with export.json")
        path = os.path.join(source, str(versions[-1]))
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise MissingPathError(f"no SavedModel at {path!r}")
    signature = tf.saved_model.load(path).signatures[SERVING_SIGNATURE]
    output = next(iter(signature.structured_outputs))
    metadata = {}
    if os.path.isfile(os.path.join(path, METADATA_FILE)):
        with open(os.path.join(path, METADATA_FILE)) as f:
            metadata = json.load(f)
    latent_dim = metadata.get("latent_dim")
    if latent_dim is None:  # an export without metadata declares z's shape
        latent_dim = signature.structured_input_signature[1]["z"].shape[-1]
    latent_dim = int(latent_dim)

    def generate(z):
        return signature(z=tf.constant(z, tf.float32))[output].numpy()

    return Exported(generate, latent_dim, output,
                    metadata.get("latent_distribution", "normal"), path, metadata)
