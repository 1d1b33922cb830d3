"""The whole training state, saved atomically at every epoch end (exact resume).

Each weights file ``<name>.weights.h5`` written here has a record ``<name>.json``
beside it: the file's SHA-256, its size and the step counts it holds. A resume
checks the file against its record before anything is rewritten, so a truncated
or altered backup is named instead of loaded (or failing half-way through
``load_weights``). Free space is checked before a write, and a write that fails
(a full disk) removes its partial file and leaves the previous state whole.
"""

import os
import re

import keras
import numpy as np

from tfgan_stable.errors import ConfigError
from tfgan_stable.utils import files

WEIGHTS_SUFFIX = ".weights.h5"
# a weights file holds each variable once, plus HDF5's headers; before the first
# file exists its size is estimated from the variables with this margin
_OVERHEAD_BYTES = 1 << 20
_MARGIN = 1.2


def record_path(path):
    """The record beside a weights file: ``state.weights.h5`` -> ``state.json``."""
    stem = path[:-len(WEIGHTS_SUFFIX)] if path.endswith(WEIGHTS_SUFFIX) else path
    return stem + ".json"


def _read_record(path):
    import json

    try:
        with open(record_path(path)) as f:
            record = json.load(f)
        states = record["states"]
        return states if isinstance(states, list) else []
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _steps(model):
    counts = {}
    for name in ("generator_steps", "train_steps"):
        value = getattr(model, name, None)
        if value is not None:
            counts[name] = int(keras.ops.convert_to_numpy(value))
    return counts


def _expected_bytes(model, path):
    """About the size of the file ``model.save_weights`` will write at ``path``."""
    if os.path.isfile(path):  # the same variables were saved there before
        size = os.path.getsize(path)
    else:
        variables = list(model.variables)
        for name in ("optimizer", "d_optimizer", "g_optimizer"):
            optimizer = getattr(model, name, None)
            variables += list(getattr(optimizer, "variables", []) or [])
        import tensorflow as tf

        size = sum(int(np.prod(v.shape)) * tf.as_dtype(v.dtype).size for v in variables)
    return int(size * _MARGIN) + _OVERHEAD_BYTES


def _write_failed(path, error):
    reason = os.strerror(error.errno) if getattr(error, "errno", None) else str(error)
    return ConfigError(
        f"could not write the backup {path!r}: {reason}; nothing is lost: the previous "
        "backup is whole and no partial file is left; free some space and rerun the same "
        "command to resume from it")


def save_weights_atomically(model, path):
    """``model.save_weights(path)`` through a temporary file renamed over ``path``.

    A kill at any moment leaves either the previous file or the new one whole,
    with a record (:func:`record_path`) that matches whichever it is: the new
    file's checksum is recorded beside the old one's before the rename, and the
    old one's dropped after it.

    Raises:
      ConfigError: too little free space for the file (checked first), or the
        write failed; the previous file and its record are untouched.
    """
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    needed = _expected_bytes(model, path)
    free = files.free_bytes(folder)
    if free < needed:
        raise ConfigError(
            f"could not write the backup {path!r}: {free / 2**20:.1f} MiB free on its disk, "
            f"it needs about {needed / 2**20:.1f} MiB; nothing is lost: the previous backup "
            "is whole; free some space and rerun the same command to resume from it")
    previous = _read_record(path)
    name = os.path.basename(path)
    try:
        with files.atomic_path(path, suffix=WEIGHTS_SUFFIX) as tmp:
            model.save_weights(tmp)
            entry = {"sha256": files.sha256(tmp), "bytes": os.path.getsize(tmp),
                     **_steps(model)}
            files.write_json(record_path(path), {"file": name, "states": [entry, *previous]})
        files.write_json(record_path(path), {"file": name, "states": [entry]})
    except OSError as error:
        raise _write_failed(path, error) from None


def verify(path):
    """Checks a weights file against its record before it is loaded.

    Returns:
      None when there is no file at ``path``, else the record entry of the file
      (``{"sha256", "bytes", "generator_steps", "train_steps"}``; ``{}`` for a
      file written before records were kept, checked by reading it whole).

    Raises:
      ConfigError: the file is truncated or altered; the message names it and
        how to start afresh.
    """
    if not os.path.isfile(path):
        return None
    states = _read_record(path)
    if os.path.isfile(record_path(path)):
        digest = files.sha256(path)
        for entry in states:
            if isinstance(entry, dict) and entry.get("sha256") == digest:
                return entry
        sizes = sorted({e.get("bytes") for e in states if isinstance(e, dict)} - {None})
        size = os.path.getsize(path)
        reason = (f"{size} bytes, {sizes[0]} were written: truncated"
                  if len(sizes) == 1 and size != sizes[0]
                  else "its SHA-256 differs from the one recorded when it was written")
        raise _damaged(path, reason)
    try:  # an older backup without a record: HDF5 must read it whole
        import h5py

        def read(_, item):
            if isinstance(item, h5py.Dataset):
                item[()]

        with h5py.File(path, "r") as f:
            f.visititems(read)
    except Exception as error:  # h5py raises OSError, KeyError, RuntimeError, ...
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise _damaged(path, f"it does not read as HDF5: {first}") from None
    return {}


def _damaged(path, reason):
    folder = os.path.dirname(path)
    return ConfigError(
        f"the backup {path!r} is damaged ({reason}); nothing was changed. To start this "
        f"run afresh delete {folder!r} (or use a new workdir); to roll back, put a copy of "
        "the workdir saved earlier in its place")


def verify_tree(backup_dir):
    """:func:`verify` for every weights file below ``backup_dir``; returns
    ``{path: entry}`` (reads only)."""
    found = {}
    for root, _, names in os.walk(backup_dir):
        for name in sorted(names):
            if name.endswith(WEIGHTS_SUFFIX) and not name.startswith(".partial."):
                path = os.path.join(root, name)
                found[path] = verify(path)
    return found


def remove_stale_partials(backup_dir):
    """Removes partial files that killed writers left below ``backup_dir``."""
    removed = []
    for root, _, _ in os.walk(backup_dir):
        removed += files.remove_stale_partials(root)
    return removed


class Backup(keras.callbacks.Callback):
    """Saves the whole training state at every epoch end, atomically.

    The state is everything ``model.save_weights`` writes: both networks, the
    EMA generator, both optimizers, the latent noise's seed state and the
    family's variables (k_t, alpha, images seen, the train-step count). It is
    written to a temporary file and renamed over ``<backup_dir>/state.weights.h5``,
    so a kill at any moment leaves the previous epoch's state intact; its
    checksum and step counts go to ``state.json`` (see :func:`save_weights_atomically`).
    :func:`restore` checks and loads it before ``fit``; the train-step count it holds
    tells where the data and the epochs resume (see ``train_lib``).
    Put :class:`StopOnNonFiniteLoss` before it.
    """

    FILENAME = "state.weights.h5"

    def __init__(self, backup_dir):
        super().__init__()
        self.backup_dir = backup_dir

    def on_epoch_end(self, epoch, logs=None):
        save_weights_atomically(self.model, os.path.join(self.backup_dir, self.FILENAME))

    @classmethod
    def restore(cls, model, backup_dir):
        """Checks and loads the last backup into ``model``; returns False when there is
        none. Partial files of killed writers are removed first."""
        remove_stale_partials(backup_dir)
        path = os.path.join(backup_dir, cls.FILENAME)
        if verify(path) is None:
            return False
        try:
            model.load_weights(path)
        except ValueError as error:  # Keras names each layer's weights by its class
            failed = re.search(r"A total of (\d+) objects", str(error))
            count = f"{failed.group(1)} of its layers" if failed else "its layers"
            raise ValueError(
                f"the backup {path!r} holds other networks than {model.name!r} ({count} "
                "do not match). Restore it into networks built the same way (layer classes "
                "included: fast_layers on or off, the same architecture), or start afresh "
                "with another backup folder") from None
        return True

    @classmethod
    def recorded_steps(cls, backup_dir):
        """The ``generator_steps`` the backup holds (checked, reads only), or None."""
        entry = verify(os.path.join(backup_dir, cls.FILENAME))
        return None if entry is None else entry.get("generator_steps")
