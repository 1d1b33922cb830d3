"""SavedModel export of a generator in TF Serving's layout.

``<export_dir>/<name>/<version>/`` where ``version`` is an integer one above
the largest already there. The model is written into a hidden temporary folder
(TF Serving only loads integer-named folders), reloaded and checked against the
live generator, and only then renamed into place: an interrupted or failed
export never leaves a version that a server would pick up. A temporary folder
left by a killed export is removed by the next export into the same folder.

The served graph holds plain TensorFlow ops: the library's fast layers are
swapped for Keras' own first (:func:`tfgan_stable.fast.with_keras_layers`),
so loading an export warns about no custom gradients.

Signatures:

* ``serving_default``: input ``z`` float32 ``[None, latent_dim]`` (declared,
  and checked again in the graph: batch x latent_dim finite numbers, at most
  ``max_batch`` rows); output ``images`` float32 NHWC in [0, 1] for image
  generators, or ``samples`` float32 ``[None, D]`` in data units for vector
  generators.
* ``generate``: inputs ``seed`` int64 and ``num`` int32 scalars, the same
  output for ``num`` latent vectors drawn statelessly from ``seed`` (same seed,
  same samples), so REST clients need not make noise themselves.

A class-conditional generator (``[z, label]``,
:mod:`tfgan_stable.networks.conditional`) takes a label in both: ``label``
int32 ``[None]``, one per row of ``z``, in ``serving_default``; ``label`` int32
scalar, the class of all ``num`` samples, in ``generate``. Labels outside
``[0, num_classes)`` fail in the graph with a message naming the bound; the
metadata records ``num_classes`` and ``class_names``.

``assets.extra/tf_serving_warmup_requests`` holds one PredictionLog per
signature, so TF Serving runs each graph once before the first real request.
"""

import contextlib
import dataclasses
import errno
import json
import logging
import os
import shutil
import tempfile
import time
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from tfgan_stable import fast
from tfgan_stable import log
from tfgan_stable.errors import ConfigError, MissingPathError
from tfgan_stable.networks import conditional
from tfgan_stable.utils import files

SERVING_SIGNATURE = "serving_default"
GENERATE_SIGNATURE = "generate"
METADATA_FILE = "tfgan_stable.json"
DEFAULT_MAX_BATCH = 1024
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
# Hidden folders an export writes beside the versions: ``.tmp-tfgan-<pid>-*``
# (the export being written) and ``.old-tfgan-<pid>-<name>`` (a replaced
# export, until the new one is in place). The pid says whether their writer
# still runs; the tag keeps a user's own hidden folders out of the clean-up.
TMP_PREFIX = ".tmp-tfgan-"
OLD_PREFIX = ".old-tfgan-"
# Earlier releases wrote ``.tmp-<random>``, with no pid.
LEGACY_TMP_PREFIX = ".tmp-"
# A hidden folder this old is stale even where its pid is alive (pids are reused).
STALE_SECONDS = 24 * 3600


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


def latent_size(generator):
    """The width of a generator's latent input (its first input when conditional)."""
    shape = generator.input_shape
    return int((shape[0] if isinstance(shape, list) else shape)[-1])


def serving_outputs(generator, z, labels=None):
    """The serving signature's outputs for latent batch ``z`` (a dict); a conditional
    generator's ``labels`` beside it."""
    inputs = z if labels is None else [z, labels]
    samples = tf.cast(generator(inputs, training=False), tf.float32)
    if _output_kind(generator) == "images":
        return {"images": tf.clip_by_value((samples + 1.0) * 0.5, 0.0, 1.0)}
    return {"samples": samples}


def _latent_checks(z, latent_dim, max_batch):
    """In-graph checks of a served ``z``'s shape, batch size and values: ``(ok, last)``,
    a boolean that is true when ``z`` may enter the network, and the last check op.

    The signature declares ``z`` as ``[None, latent_dim]``, but a server (TF
    Serving) passes on whatever a request holds without comparing it with the
    declared shape, while TensorFlow's graph optimiser (grappler) folds what
    the declared shape answers into constants: a check of ``tf.rank(z) == 2``
    or ``tf.shape(z)[1] == latent_dim`` would become ``True`` and never run.
    So the checks read only what is unknown until a request comes: the
    element count ``tf.size(z)`` and the batch ``tf.shape(z)[0]`` (declared
    None). ``z`` must hold exactly batch x latent_dim numbers, all finite, in
    at most ``max_batch`` rows. Each check waits for the one before, so the
    first that fails names the problem. Nothing orders them before the
    network, though: grappler may drop a reshape it deems redundant, and with
    it the control edges through it (a rank-1 ``z`` then reached the first
    MatMul before its check, now and then). So :func:`_serve` runs the network
    only where ``ok`` holds. (Rank is static, so no check of it survives
    folding: a fed tensor of another rank whose numbers make whole rows, such
    as ``[batch, latent_dim, 1]``, is read as ``[batch, latent_dim]`` or meets
    TensorFlow's own shape errors in the network.)
    """
    shape = tf.shape(z)
    batch = tf.concat([shape, [1]], 0)[0]  # rank-safe: a scalar z has no shape[0]
    count_ok = tf.equal(tf.cast(tf.size(z), tf.int64),
                        tf.cast(batch, tf.int64) * latent_dim)
    check_shape = tf.debugging.Assert(
        count_ok, [f"serving_default input z must be float32 [batch, {latent_dim}]; got shape",
                   shape])
    with tf.control_dependencies([check_shape]):
        batch_ok = batch <= max_batch
        check_batch = tf.debugging.Assert(
            batch_ok, [_batch_message("serving_default batch", max_batch), shape])
    with tf.control_dependencies([check_batch]):
        # over a rank-1 view: a reduction over "all axes" takes its axes from the
        # declared rank, which a fed tensor need not have
        finite = tf.math.is_finite(tf.reshape(z, [-1]))
        finite_ok = tf.reduce_all(finite)
        check_finite = tf.debugging.Assert(
            finite_ok,
            ["serving_default input z must hold finite numbers; NaN or inf values found:",
             tf.reduce_sum(tf.cast(tf.logical_not(finite), tf.int64))])
    return tf.logical_and(count_ok, tf.logical_and(batch_ok, finite_ok)), check_finite


def _label_checks(labels, z, latent_dim, num_classes, after):
    """A conditional request's ``labels`` (flattened) and a boolean that is true when
    they pass the in-graph checks: one label per row of ``z``, each in [0,
    num_classes). The checks run after the op ``after`` (z's last check), so a
    bad ``z`` is named first."""
    labels = tf.reshape(labels, [-1])
    rows = tf.size(z) // latent_dim
    with tf.control_dependencies([after]):
        count_ok = tf.equal(tf.size(labels), rows)
        check_count = tf.debugging.Assert(
            count_ok, ["serving_default input label must hold one class index per row of z; "
                       "got labels and rows", tf.size(labels), rows])
    with tf.control_dependencies([check_count]):
        range_ok = _class_checks(labels, num_classes, "serving_default input label")
    return labels, tf.logical_and(count_ok, range_ok)


def _class_checks(labels, num_classes, what):
    """An in-graph check that each of ``labels`` lies in [0, num_classes); returns
    whether they do (the network runs only then: see :func:`_serve`)."""
    in_range = tf.logical_and(tf.reduce_all(labels >= 0),
                              tf.reduce_all(labels < num_classes))
    tf.debugging.Assert(in_range, [f"{what} must be a class index in [0, {num_classes}); got",
                                   labels])
    return in_range


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


def _serve(generator, z, labels=None, ok=True):
    """:func:`serving_outputs` for a request whose checks passed (``ok``), else nothing.

    The network runs inside a ``tf.cond`` on ``ok`` and a non-empty batch: a
    request that fails a check gets that check's message, never a kernel's
    error from the bad tensor reaching the network first, and an empty
    request gets an empty output of the generator's own shape (some CPU
    kernels return the wrong channel count for a batch of 0). ``z`` enters
    the network as ``[rows, latent_dim]``.
    """
    sample_shape = list(generator.output_shape[1:])
    latent_dim = latent_size(generator)
    rows = tf.size(z) // latent_dim

    def network():
        return serving_outputs(generator, tf.reshape(z, tf.stack([rows, latent_dim])),
                               labels)[key]

    def empty():
        return tf.zeros([0, *sample_shape], tf.float32)

    key = "images" if _output_kind(generator) == "images" else "samples"
    out = tf.cond(tf.logical_and(ok, rows > 0), network, empty)
    return {key: tf.ensure_shape(out, [None, *sample_shape])}


def export_generator(generator, export_dir="saved_models", name="generator",
                     version=None, metadata=None, verify=True, latent_distribution="normal",
                     warmup=True, max_batch=DEFAULT_MAX_BATCH, overwrite=False):
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
      overwrite: with ``version``, replace that version if it exists (the new
        one is written beside it first, then the two folders are swapped by
        renames); without it an existing ``version`` is refused.

    Raises:
      ConfigError: bad name, version or max_batch; ``version`` exists and
        ``overwrite`` is False; the disk is full (the message names the path;
        nothing is published and earlier versions are untouched).
      ValueError: the reloaded model disagrees with the generator (nothing is
        published then).
    """
    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"export.name must be a plain folder name, got {name!r}")
    _check_max_batch(max_batch)
    _output_kind(generator)  # fails early for a generator that is not images or vectors
    model_dir = os.path.join(export_dir, name)
    if version is not None and int(version) < 1:
        raise ConfigError(f"export version must be >= 1, got {version}")
    if version is not None:
        final = os.path.join(model_dir, str(int(version)))
        if os.path.exists(final) and not overwrite:
            raise ConfigError(f"export version {final!r} already exists; not overwriting it "
                              "(pass overwrite=True to replace it, or no version to take the "
                              "next free one)")
    where = model_dir if version is None else final
    if_exists = "replace" if overwrite else "error"
    return _write_and_publish(
        generator, model_dir, where, name,
        lambda tmp: _publish_version(tmp, model_dir, version, if_exists),
        metadata, verify, latent_distribution, warmup, max_batch)


def export_to_path(generator, path, metadata=None, verify=True, latent_distribution="normal",
                   warmup=True, max_batch=DEFAULT_MAX_BATCH, overwrite=False):
    """The export of :func:`export_generator`, written to ``path``; returns where it went.

    Written to a hidden folder beside ``path`` and renamed into place, so a
    failure leaves nothing at ``path``. What ``GAN.export`` (Keras' ``export``)
    writes. Where ``path`` exists already:

    * its last part is a TF Serving version (``saved_models/my_gan/1``): the
      next free version beside it is written instead (the returned path says
      which), so the same call twice gives versions 1 and 2;
    * otherwise it is refused, unless ``overwrite=True``: then the new export
      is written beside it, the old one renamed aside, the new one renamed
      into place and the old one removed (a reader never sees half of one).

    ``overwrite=True`` replaces an existing version folder too.

    Raises:
      ConfigError: ``path`` exists, is not a version folder and ``overwrite``
        is False; the disk is full (see :func:`export_generator`).
    """
    path = os.path.abspath(path)
    _check_max_batch(max_batch)
    _output_kind(generator)
    parent, leaf = os.path.split(path)
    version = int(leaf) if leaf.isdigit() and leaf == str(int(leaf)) and int(leaf) >= 1 else None
    # TF Serving's model name: the folder above a version folder, else the folder itself
    name = os.path.basename(parent if version is not None else path)
    if version is not None:
        if_exists = "replace" if overwrite else "next"
        publish = lambda tmp: _publish_version(tmp, parent, version, if_exists)  # noqa: E731
    else:
        if os.path.exists(path) and not overwrite:
            raise ConfigError(f"export path {path!r} already exists; not overwriting it (pass "
                              "overwrite=True to replace it, or end the path with a version "
                              "number such as /1 to take the next free version)")
        publish = lambda tmp: _publish_path(tmp, path, overwrite)  # noqa: E731
    return _write_and_publish(generator, parent, path, name, publish, metadata, verify,
                              latent_distribution, warmup, max_batch)


def _check_max_batch(max_batch):
    if isinstance(max_batch, bool) or not isinstance(max_batch, (int, np.integer)) \
            or max_batch < 1:
        raise ConfigError(f"export.max_batch must be an integer >= 1, got {max_batch!r}")


def _write_and_publish(generator, parent, where, name, publish, metadata, verify,
                       latent_distribution, warmup, max_batch):
    """Writes the export into a hidden folder in ``parent``, then ``publish(tmp)``.

    ``where`` names the destination in messages. Stale hidden folders of
    killed exports in ``parent`` are removed first. A full disk ends in one
    :class:`ConfigError` naming ``where``; whatever fails, the hidden folder
    is removed and nothing else in ``parent`` is touched.
    """
    full = ConfigError(f"export to {where!r} failed: no space left on the device; nothing "
                       "was published and earlier exports are untouched; free some space and "
                       "export again")
    try:
        os.makedirs(parent, exist_ok=True)
        remove_stale_folders(parent)
        _check_free_space(generator, parent, where)
        tmp = _hidden_folder(parent)
    except OSError as error:
        if disk_full(error):
            raise full from None
        raise
    try:
        try:
            _write_saved_model(generator, tmp, name, metadata, verify, latent_distribution,
                               warmup, max_batch)
        except (OSError, tf.errors.OpError) as error:
            if disk_full(error):
                raise full from None
            raise
        return publish(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def disk_full(error):
    """True when ``error`` (an ``OSError`` or a TensorFlow error) says the disk is full."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return "No space left on device" in str(error) or "Disk quota exceeded" in str(error)


# Room an export needs beyond its variables (graph, warm-up requests, metadata).
EXPORT_OVERHEAD_BYTES = 4 * 2**20


def _check_free_space(generator, parent, where):
    """Refuses an export that cannot fit on ``parent``'s disk before anything is written."""
    needed = 4 * sum(int(np.prod(w.shape)) for w in generator.weights) + EXPORT_OVERHEAD_BYTES
    try:
        free = shutil.disk_usage(parent).free
    except OSError:
        return
    if free < needed:
        raise ConfigError(f"export to {where!r}: {free / 2**20:.1f} MiB free on its disk, the "
                          f"export needs about {needed / 2**20:.1f} MiB; free some space and "
                          "export again")


def _hidden_folder(parent):
    """A new hidden folder ``.tmp-tfgan-<pid>-*`` in ``parent`` (TF Serving loads
    integer-named folders only; the pid lets a later export tell whether its writer
    still runs)."""
    tmp = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=parent)
    os.chmod(tmp, 0o755)  # mkdtemp's 0o700 would hide it from a server run as another user
    return tmp


def _writer_pid(name):
    """The pid in a hidden folder's name (``.tmp-tfgan-<pid>-...``), None if it has none."""
    prefix = next((p for p in (TMP_PREFIX, OLD_PREFIX) if name.startswith(p)), None)
    if prefix is None:
        return None
    pid, dash, _ = name[len(prefix):].partition("-")
    return int(pid) if dash and pid.isdigit() else None


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: it exists
        return True
    return True


# What an export folder holds: an earlier release's temporary folder with
# nothing else in it may be removed.
EXPORT_CONTENTS = frozenset({"saved_model.pb", "fingerprint.pb", "variables", "assets",
                             "assets.extra", METADATA_FILE})


def _stale(name, path):
    """True when the hidden folder ``name`` at ``path`` is an export whose writer is gone."""
    try:
        if not os.path.isdir(path) or os.path.islink(path):
            return False
        old = time.time() - os.path.getmtime(path) > STALE_SECONDS
        if name.startswith((TMP_PREFIX, OLD_PREFIX)):
            pid = _writer_pid(name)
            return old or (pid is not None and not _pid_alive(pid))
        if name.startswith(LEGACY_TMP_PREFIX):  # an earlier release's: no pid, so by age
            return old and set(os.listdir(path)) <= EXPORT_CONTENTS
    except OSError:
        pass
    return False


def remove_stale_folders(parent):
    """Removes the hidden folders of exports into ``parent`` whose writer is gone.

    A folder counts as stale when the process named in it no longer runs, or
    when it is older than :data:`STALE_SECONDS` (pids are reused); an earlier
    release's ``.tmp-*`` folder (no pid) when it is that old and holds
    nothing but an export's files. A replaced export renamed aside
    (``.old-tfgan-*``) whose writer died before the new one took its place is
    renamed back. Returns the names removed or restored.
    """
    try:
        names = sorted(os.listdir(parent))
    except OSError:
        return []
    handled = []
    for name in names:
        path = os.path.join(parent, name)
        if not name.startswith((TMP_PREFIX, OLD_PREFIX, LEGACY_TMP_PREFIX)) \
                or not _stale(name, path):
            continue
        pid = _writer_pid(name)
        if name.startswith(OLD_PREFIX) and pid is not None:
            target = os.path.join(parent, name[len(OLD_PREFIX):].partition("-")[2])
            if not os.path.exists(target):  # killed between the two renames of a replacement
                os.rename(path, target)
                log.info(f"restored {target} from a replacement export that was interrupted")
                handled.append(name)
                continue
        shutil.rmtree(path, ignore_errors=True)
        handled.append(name)
    return handled


def _publish_version(tmp, model_dir, version, if_exists):
    """Renames ``tmp`` to the version folder ``version`` in ``model_dir``; returns its path.

    ``version`` None: the next free one. Where ``version`` exists,
    ``if_exists`` says what happens: ``"next"`` takes the next free version,
    ``"replace"`` replaces it (:func:`_replace`), ``"error"`` refuses.
    ``rename`` onto an existing non-empty folder fails, so two exports racing
    for one version number cannot both take it: the loser takes the next one.
    """
    while True:
        final = os.path.join(model_dir, str(next_version(model_dir) if version is None
                                            else int(version)))
        if version is not None and os.path.exists(final):
            if if_exists == "replace":
                _replace(tmp, final)
                return final
            if if_exists == "error":
                raise ConfigError(f"export version {final!r} already exists; not overwriting it")
            version = None
            continue
        try:
            os.rename(tmp, final)
            return final
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise


def _publish_path(tmp, path, overwrite):
    """Renames ``tmp`` to ``path``, replacing an existing ``path`` when ``overwrite``."""
    if os.path.exists(path):
        if not overwrite:
            raise ConfigError(f"export path {path!r} already exists; not overwriting it")
        _replace(tmp, path)
    else:
        os.rename(tmp, path)
    return path


def _replace(tmp, path):
    """Puts the folder ``tmp`` in the place of the existing ``path``.

    ``path`` is renamed aside to ``.old-tfgan-<pid>-<name>``, ``tmp`` renamed into
    place, then the old folder removed; if the second rename fails the old
    folder is renamed back. A process killed between the renames leaves the
    old folder aside, which the next export renames back
    (:func:`remove_stale_folders`).
    """
    parent, leaf = os.path.split(path)
    aside = os.path.join(parent, f"{OLD_PREFIX}{os.getpid()}-{leaf}")
    if os.path.exists(aside):
        shutil.rmtree(aside)
    os.rename(path, aside)
    os.utime(aside)  # its age says whether its writer may still run (remove_stale_folders)
    try:
        os.rename(tmp, path)
    except BaseException:
        os.rename(aside, path)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def serving_network(generator):
    """The network an export serves: ``generator`` with Keras' layers in place of the library's.

    The library's bfloat16 layers take their kernel gradients through a
    ``tf.custom_gradient``, which a SavedModel cannot keep: every load of one
    would warn of "unsaved custom gradients". Keras' own layers compute the
    same forward pass with plain ops (:func:`fast.with_keras_layers`).
    A network whose subclassed code builds the library's layers is exported
    as it is, with a notice.
    """
    try:
        return fast.with_keras_layers(generator)
    except ValueError as error:
        log.info(f"export: {error}; exporting the network as it is (loading the export may "
                 "warn about custom gradients; the served outputs are the same)")
        return generator


def _write_saved_model(generator, path, name, metadata, verify, latent_distribution, warmup,
                       max_batch):
    """Writes the SavedModel, warm-up requests and metadata into the folder ``path``."""
    kind = _output_kind(generator)
    latent_dim = latent_size(generator)
    num_classes = conditional.class_count(generator)
    network = serving_network(generator)
    archive = keras.export.ExportArchive()
    archive.track(network)
    # z declared, so that clients can discover the latent width; the checks in
    # _latent_checks still run, as they read only run-time values.
    z_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="z")
    seed_specs = [tf.TensorSpec([], tf.int64, name="seed"),
                  tf.TensorSpec([], tf.int32, name="num")]
    if num_classes:
        def serve(z, label):
            z_ok, z_checked = _latent_checks(z, latent_dim, max_batch)
            label, label_ok = _label_checks(label, z, latent_dim, num_classes, z_checked)
            return _serve(network, z, label, tf.logical_and(z_ok, label_ok))

        def generate(seed, num, label):
            z = stateless_latent(seed, num, latent_dim, latent_distribution, max_batch)
            label_ok = _class_checks(label, num_classes, "generate input label")
            return _serve(network, z, tf.fill(tf.shape(z)[:1], label), label_ok)

        archive.add_endpoint(name=SERVING_SIGNATURE, fn=serve, input_signature=[
            z_spec, tf.TensorSpec([None], tf.int32, name="label")])
        archive.add_endpoint(name=GENERATE_SIGNATURE, fn=generate, input_signature=[
            *seed_specs, tf.TensorSpec([], tf.int32, name="label")])
    else:
        def serve(z):
            return _serve(network, z, ok=_latent_checks(z, latent_dim, max_batch)[0])

        archive.add_endpoint(name=SERVING_SIGNATURE, fn=serve, input_signature=[z_spec])
        archive.add_endpoint(
            name=GENERATE_SIGNATURE,
            fn=lambda seed, num: _serve(network, stateless_latent(
                seed, num, latent_dim, latent_distribution, max_batch)),
            input_signature=seed_specs)
    archive.write_out(path, verbose=False)
    if warmup:
        write_warmup_requests(path, name, latent_dim, num_classes)
    record = {"output": kind, "latent_dim": latent_dim, "max_batch": max_batch,
              "latent_distribution": latent_distribution}
    if num_classes:
        record.update(num_classes=num_classes,
                      class_names=[str(i) for i in range(num_classes)])
    with open(os.path.join(path, METADATA_FILE), "w") as f:
        json.dump({**record, **(metadata or {})}, f, indent=2, sort_keys=True, default=str)
    if verify:
        verify_export(path, generator)


def optimizer_settings(optimizer):
    """An optimizer's settings as used (learning rate, betas, ...), JSON-ready.

    Settings left unset (None) are dropped; a ``LossScaleOptimizer`` is
    described by its inner optimizer, with ``"loss_scaling": True``.
    """
    if optimizer is None:
        return None
    loss_scaling = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    inner = optimizer.inner_optimizer if loss_scaling else optimizer
    config = inner.get_config()
    settings = {"class": type(inner).__name__, **{key: _short_float(value)
                                                   for key, value in config.items()
                                                   if value is not None and key != "name"}}
    if loss_scaling:
        settings["loss_scaling"] = True
    return settings


def _short_float(value):
    """A float read from a float32 variable as its shortest float32 spelling (1e-4, not
    9.999999747378752e-05); other values as they are."""
    if isinstance(value, float):
        return float(np.format_float_positional(np.float32(value), unique=True, trim="-"))
    return value


def gan_metadata(gan):
    """What an export records about the GAN it comes from, every value concrete.

    The family, latent size, sample shape (and resolution for images),
    ``n_critic``, packing, both optimizers' settings as used, the generator
    EMA, the networks' dtype policy, the generator steps, the family's options
    (the GAN's ``get_config`` without the networks) and the data source:
    ``gan.data_source`` where ``fit`` recorded one, else ``"unknown"``.
    """
    shape = [int(size) for size in gan.sample_shape]
    ema = {"enabled": gan.generator_ema is not None}
    if gan.generator_ema is not None:
        ema.update({key: value for key, value in (
            ("decay", gan.g_ema_decay), ("half_life_images", gan.g_ema_half_life_images),
            ("rampup", gan.g_ema_rampup)) if value is not None})
    options = {key: value for key, value in gan.get_config().items()
               if key not in ("generator", "discriminator", "name") and value is not None}
    data = getattr(gan, "data_source", None)
    return {
        "family": gan.family or type(gan).__name__,
        "data": str(data) if data else "unknown",
        "latent_dim": int(gan.latent_dim),
        "latent_distribution": gan.latent_distribution,
        "kind": "image" if len(shape) == 3 else "vector",
        "sample_shape": shape,
        **({"resolution": shape[0]} if len(shape) == 3 else {}),
        "n_critic": int(gan.n_critic),
        "pack": int(gan.pack),
        **({"num_classes": int(gan.num_classes), "class_names": list(gan.class_names)}
           if gan.num_classes else {}),
        "optimizers": {
            "discriminator": optimizer_settings(getattr(gan, "d_optimizer", None)),
            "generator": optimizer_settings(getattr(gan, "g_optimizer", None)),
        },
        "ema": ema,
        "mixed_precision": gan.generator.dtype_policy.name,
        "generator_steps": int(keras.ops.convert_to_numpy(gan.generator_steps)),
        "options": options,
    }


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


def write_warmup_requests(path, model_name, latent_dim, num_classes=0):
    """Writes ``assets.extra/tf_serving_warmup_requests``: one request per signature."""
    from tensorflow_serving.apis import prediction_log_pb2

    serving = {"z": np.zeros((1, latent_dim), np.float32)}
    generate = {"seed": np.int64(0), "num": np.int32(1)}
    if num_classes:
        serving["label"] = np.zeros((1,), np.int32)
        generate["label"] = np.int32(0)
    requests = [predict_request(model_name, SERVING_SIGNATURE, serving),
                predict_request(model_name, GENERATE_SIGNATURE, generate)]
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
    latent_dim = latent_size(generator)
    num_classes = conditional.class_count(generator)
    rng = np.random.default_rng(0)
    for batch in batch_sizes:
        z = tf.constant(rng.normal(size=(batch, latent_dim)), tf.float32)
        labels = (tf.constant(np.arange(batch) % num_classes, tf.int32) if num_classes
                  else None)
        expected = {k: v.numpy() for k, v in serving_outputs(generator, z, labels).items()}
        got = signature(z=z) if labels is None else signature(z=z, label=labels)
        for key, value in expected.items():
            if key not in got:
                raise ValueError(f"export {path!r}: signature output {key!r} missing")
            if not np.allclose(got[key].numpy(), value, atol=tolerance, rtol=tolerance):
                raise ValueError(
                    f"export {path!r}: reloaded output {key!r} differs from the generator "
                    f"(max abs diff {np.abs(got[key].numpy() - value).max():.3g})"
                )
    generate = loaded.signatures[GENERATE_SIGNATURE]
    request = {"seed": tf.constant(7, tf.int64), "num": tf.constant(2, tf.int32)}
    if num_classes:
        request["label"] = tf.constant(num_classes - 1, tf.int32)
    first, again = generate(**request), generate(**request)
    for key, value in first.items():
        if value.shape[0] != 2 or not np.array_equal(value.numpy(), again[key].numpy()):
            raise ValueError(f"export {path!r}: signature {GENERATE_SIGNATURE!r} is not "
                             "deterministic in its seed")


class _CustomGradientFilter(logging.Filter):
    def filter(self, record):
        return "with ops with unsaved custom gradients" not in record.getMessage()


@contextlib.contextmanager
def _no_custom_gradient_warnings():
    """Silences TensorFlow's "unsaved custom gradients" warnings while loading an export.

    Exports written since the library swaps in Keras' layers hold no custom
    gradients; older ones warn once per function on every load, although
    serving them never takes a gradient. Only that warning is dropped.
    """
    logger = logging.getLogger("absl")
    quiet = _CustomGradientFilter()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


@dataclasses.dataclass(frozen=True)
class Exported:
    """A loaded export: ``generate(z)`` runs ``serving_default`` and returns its output
    (``generate(z, labels)`` for a conditional one, ``num_classes`` > 0)."""

    generate: Callable
    latent_dim: int
    output: str  # "images" (in [0, 1]) or "samples" (data units)
    distribution: str  # the latent distribution it was trained with
    path: str
    metadata: dict
    num_classes: int = 0
    class_names: tuple = ()


def load_exported(source):
    """Loads an export from a version folder, a model folder or a training workdir.

    Args:
      source: a SavedModel version folder, a model folder (its newest version
        is used) or a training workdir (the export its ``export.json`` names).

    Raises:
      FileNotFoundError: no SavedModel there.
    """
    path = source
    record = read_export_record(source) if os.path.isdir(source) else {}
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
    with _no_custom_gradient_warnings():
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

    inputs = signature.structured_input_signature[1]
    num_classes = int(metadata.get("num_classes") or 0) if "label" in inputs else 0

    def generate(z, labels=None):
        request = {"z": tf.constant(z, tf.float32)}
        if num_classes and labels is None:
            raise ValueError(f"the export at {path!r} is conditional on {num_classes} "
                             "classes: pass labels, generate(z, labels)")
        if labels is not None:
            if not num_classes:
                raise ValueError(f"the export at {path!r} is unconditional: it takes no "
                                 "labels")
            request["label"] = tf.constant(np.broadcast_to(labels, (len(z),)), tf.int32)
        return signature(**request)[output].numpy()

    return Exported(generate, latent_dim, output,
                    metadata.get("latent_distribution", "normal"), path, metadata,
                    num_classes, tuple(metadata.get("class_names") or ()))


# The newest export of a training workdir, relative to the workdir.
EXPORT_RECORD = "export.json"


def read_export_record(workdir):
    """``export.json`` with its paths joined to the workdir ({} if there is none).

    ``{"path": newest version folder, "generator_steps": int, "resolutions":
    {"4x4": path, ...}}`` (``resolutions``: ProGAN's ``export.all_resolutions``).
    Paths are stored relative to the workdir, so the record holds wherever the
    workdir is read from (an absolute path stays as it is).
    """
    path = os.path.join(workdir, EXPORT_RECORD)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        record = json.load(f)

    def resolve(value):
        return os.path.normpath(os.path.join(workdir, value))

    record["path"] = resolve(record["path"])
    record["resolutions"] = {key: resolve(value)
                             for key, value in record.get("resolutions", {}).items()}
    return record


def write_export_record(workdir, export_path, generator_steps, resolutions=None):
    """Writes ``export.json`` atomically (see :func:`read_export_record`)."""
    def relative(path):
        return os.path.relpath(os.path.abspath(path), os.path.abspath(workdir))

    files.write_json(os.path.join(workdir, EXPORT_RECORD), {
        "path": relative(export_path),
        "generator_steps": int(generator_steps),
        "resolutions": {key: relative(value) for key, value in (resolutions or {}).items()},
    })
