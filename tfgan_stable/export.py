"""SavedModel export of a generator in TF Serving's layout.

``<export_dir>/<name>/<version>/`` where ``version`` is an integer one above
the largest already there. The model is written into a hidden temporary folder
(TF Serving only loads integer-named folders), reloaded and checked against the
live generator, and only then renamed into place: an interrupted or failed
export never leaves a version that a server would pick up.

Signature ``serving_default``: input ``z`` float32 ``[None, latent_dim]``;
output ``images`` float32 NHWC in [0, 1] for image generators, or ``samples``
float32 ``[None, D]`` in data units for vector generators.
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
METADATA_FILE = "tfgan_stable.json"


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


def export_generator(generator, export_dir="saved_models", name="generator",
                     version=None, metadata=None, verify=True):
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
            fn=lambda z: serving_outputs(generator, z),
            input_signature=[tf.TensorSpec([None, latent_dim], tf.float32, name="z")],
        )
        archive.write_out(tmp, verbose=False)
        if metadata is not None:
            with open(os.path.join(tmp, METADATA_FILE), "w") as f:
                json.dump({"output": kind, "latent_dim": latent_dim, **metadata}, f,
                          indent=2, sort_keys=True, default=str)
        if verify:
            verify_export(tmp, generator)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


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
