"""SavedModel export of a generator in TF Serving's layout.

``<export_dir>/<name>/<version>/`` where ``version`` is an integer one above
the largest already there. The model is written into a hidden temporary folder
(TF Serving only loads integer-named folders), reloaded and checked against the
live generator, and only then renamed into place: an interrupted or failed
export never leaves a version that a server would pick up.

Signatures:

* ``serving_default``: input ``z`` float32 ``[None, latent_dim]``; output
  ``images`` float32 NHWC in [0, 1] for image generators, or ``samples``
  float32 ``[None, D]`` in data units for vector generators.
* ``generate``: inputs ``seed`` int64 and ``num`` int32 scalars, the same
  output for ``num`` latent vectors drawn statelessly from ``seed`` (same seed,
  same samples), so REST clients need not make noise themselves.

``assets.extra/tf_serving_warmup_requests`` holds one PredictionLog per
signature, so TF Serving runs each graph once before the first real request.
"""

import dataclasses
import json
import os
import shutil
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

SERVING_SIGNATURE = "serving_default"
GENERATE_SIGNATURE = "generate"
METADATA_FILE = "tfgan_stable.json"
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


def _checked_latent(z, latent_dim):
    """``z`` after an in-graph check that names the expected shape (served models too)."""
    check = tf.debugging.assert_equal(
        tf.shape(z)[1], latent_dim,
        message=f"serving_default input z must be float32 [batch, {latent_dim}]")
    with tf.control_dependencies([check]):
        return tf.identity(z)


def stateless_latent(seed, num, latent_dim, distribution="normal"):
    """``num`` latent vectors drawn deterministically from an int64 ``seed``."""
    seeds = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
    check = tf.debugging.assert_non_negative(num, message="generate input num must be >= 0")
    with tf.control_dependencies([check]):
        shape = tf.stack([tf.cast(num, tf.int32), latent_dim])
    if distribution == "uniform":
        return tf.random.stateless_uniform(shape, seeds, minval=-1.0, maxval=1.0)
    return tf.random.stateless_normal(shape, seeds)


def export_generator(generator, export_dir="saved_models", name="generator",
                     version=None, metadata=None, verify=True, latent_distribution="normal",
                     warmup=True):
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

    Raises:
      ValueError: bad name or version, version already present, or a reloaded
        model that disagrees with the generator (nothing is published then).
    """
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"export.name must be a plain folder name, got {name!r}")
    kind = _output_kind(generator)
    latent_dim = generator.input_shape[-1]
    model_dir = os.path.join(export_dir, name)
    version = next_version(model_dir) if version is None else int(version)
    if version < 1:
        raise ValueError(f"export version must be >= 1, got {version}")
    final = os.path.join(model_dir, str(version))
    if os.path.exists(final):
        raise ValueError(f"export version {final!r} already exists; not overwriting it")
    os.makedirs(model_dir, exist_ok=True)
    tmp = os.path.join(model_dir, f".tmp-{version}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        archive = keras.export.ExportArchive()
        archive.track(generator)
        archive.add_endpoint(
            name=SERVING_SIGNATURE,
            fn=lambda z: serving_outputs(generator, _checked_latent(z, latent_dim)),
            input_signature=[tf.TensorSpec([None, latent_dim], tf.float32, name="z")],
        )
        archive.add_endpoint(
            name=GENERATE_SIGNATURE,
            fn=lambda seed, num: serving_outputs(
                generator, stateless_latent(seed, num, latent_dim, latent_distribution)),
            input_signature=[tf.TensorSpec([], tf.int64, name="seed"),
                             tf.TensorSpec([], tf.int32, name="num")],
        )
        archive.write_out(tmp, verbose=False)
        if warmup:
            write_warmup_requests(tmp, name, latent_dim)
        with open(os.path.join(tmp, METADATA_FILE), "w") as f:
            json.dump({"output": kind, "latent_dim": latent_dim,
                       "latent_distribution": latent_distribution, **(metadata or {})}, f,
                      indent=2, sort_keys=True, default=str)
        if verify:
            verify_export(tmp, generator)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


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


def verify_export(path, generator, batch_sizes=(1, 3), atol=1e-5):
    """Reloads a SavedModel and checks its signature reproduces ``generator``."""
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
            if not np.allclose(got[key].numpy(), value, atol=atol):
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
    record = os.path.join(source, "export.json")
    if os.path.isfile(record):
        with open(record) as f:
            path = json.load(f)["path"]
    elif os.path.isdir(source) and not os.path.isfile(os.path.join(source, "saved_model.pb")):
        versions = existing_versions(source)
        if not versions:
            raise FileNotFoundError(
                f"{source!r} is neither a SavedModel, a model folder with versions, "
                "nor a workdir with export.json")
        path = os.path.join(source, str(versions[-1]))
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise FileNotFoundError(f"no SavedModel at {path!r}")
    signature = tf.saved_model.load(path).signatures[SERVING_SIGNATURE]
    latent_dim = int(signature.structured_input_signature[1]["z"].shape[-1])
    output = next(iter(signature.structured_outputs))
    metadata = {}
    if os.path.isfile(os.path.join(path, METADATA_FILE)):
        with open(os.path.join(path, METADATA_FILE)) as f:
            metadata = json.load(f)

    def generate(z):
        return signature(z=tf.constant(z, tf.float32))[output].numpy()

    return Exported(generate, latent_dim, output,
                    metadata.get("latent_distribution", "normal"), path, metadata)
