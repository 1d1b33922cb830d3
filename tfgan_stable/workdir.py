"""A run's folder: it belongs to one run, one process trains in it at a time.

    <workdir>/config.yaml   the resolved config; the part of it that shapes the
                            trained weights is the run's fingerprint
    <workdir>/.lock         locked (``flock``) by the process training in the
                            workdir and holding its pid; the kernel drops the
                            lock when that process ends, SIGKILL included
    <workdir>/export.json   the newest export: its path relative to the workdir
                            and the generator steps it holds

Everything here checks before it writes: :func:`check` reads only, so a
rerun refused for a changed config, a held lock or an unwritable folder
leaves the workdir as it was.
"""

import errno
import fcntl
import json
import os
import tempfile

import yaml

from tfgan_stable import config as config_lib
from tfgan_stable.errors import ConfigError
from tfgan_stable.export import (  # noqa: F401  (the export record, named here too)
    EXPORT_RECORD,
    read_export_record,
    write_export_record,
)
from tfgan_stable.utils.files import check_writable

CONFIG_FILE = "config.yaml"
CLASSES_FILE = "classes.json"  # a labelled data set's class names and counts
LOCK_FILE = ".lock"
# errno values of a non-blocking flock on a lock another process holds
_LOCK_HELD = (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)

# Config keys that do not change what the trained weights are: how long to
# train, where the data and exports live, what is logged and how the steps are
# executed. A rerun may change these; every other key is the fingerprint.
FREE_KEYS = frozenset({
    "data.path",
    "train.steps", "train.verbose", "train.sample_grid_size", "train.eval_every",
    "train.eval_samples", "train.eval_metrics", "train.steps_per_execution",
    "train.jit_compile", "train.strategy", "train.devices", "train.tpu",
    "train.deterministic",
})
# What a run written before a key existed trained with, where that differs from
# the key's default today: every earlier version built the library's fast layers
# (their weights files name the layers by class, so a resume must build the same).
BEFORE_THE_KEY = {"model.fast_layers": "on"}
FREE_SECTIONS = frozenset({"export"})
# Keys whose null the run resolves from the data (see train_lib._run).
RESOLVED_FROM_DATA = ("model.architecture",)


def fingerprint(config_dict):
    """``{"section.key": value}`` of everything in a config dict that shapes the weights."""
    return {
        f"{section}.{key}": value
        for section, values in config_dict.items() if section not in FREE_SECTIONS
        for key, value in (values or {}).items() if f"{section}.{key}" not in FREE_KEYS
    }


def fingerprint_differences(stored, current):
    """``["key: stored -> current", ...]`` for the weight-shaping keys that differ.

    A key the stored config lacks (one added to the library since the workdir
    was written), or holds as null (written before defaults were resolved),
    counts at its default, the value that run trained with; a key only the
    stored config has (one the library dropped) is not a difference.
    """
    old, new = fingerprint(stored), fingerprint(current)
    added = set(new) - set(old)
    # A null in a config written before defaults were resolved meant the default.
    unresolved = {key for key, value in old.items() if value is None and new.get(key) is not None}
    if added or unresolved:
        stored_defaults = {**fingerprint(_defaults_of(stored)), **BEFORE_THE_KEY}
        old.update({key: stored_defaults[key] for key in added | unresolved
                    if key in stored_defaults})
    # a null architecture is resolved from the data once it is loaded, after this
    # check: with the same data (data.name is compared too) it resolves as before
    for key in RESOLVED_FROM_DATA:
        if new.get(key) is None:
            new.pop(key, None)
    return [f"{key}: {old[key]!r} -> {new[key]!r}"
            for key in sorted(set(old) & set(new)) if old[key] != new[key]]


def _defaults_of(stored):
    """Every key's default for the stored run's family; {} if that family is unknown."""
    family = (stored.get("model") or {}).get("family", config_lib.ModelConfig.family)
    try:
        return config_lib.defaults(family)
    except ConfigError:
        return {}


def write_classes(workdir, class_names, class_counts):
    """Writes ``classes.json``: the data's class names in label order and their counts."""
    from tfgan_stable.utils import files as files_lib

    files_lib.write_json(os.path.join(workdir, CLASSES_FILE), {
        "class_names": list(class_names),
        "class_counts": [int(count) for count in class_counts]})


def read_classes(workdir):
    """``classes.json`` of a run (``{}`` if it has none)."""
    path = os.path.join(workdir, CLASSES_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f)


def stored_config(workdir):
    """The config dict of the run ``workdir`` holds, or None for a new workdir.

    Raises:
      ConfigError: the stored config is unreadable or not a config.
    """
    path = os.path.join(workdir, CONFIG_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            stored = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"workdir {workdir!r}: its {CONFIG_FILE} is unreadable ({error}); "
                          "use a new workdir") from None
    if not isinstance(stored, dict):
        raise ConfigError(f"workdir {workdir!r}: its {CONFIG_FILE} is not a config; "
                          "use a new workdir")
    return stored


def check_fingerprint(config_dict, workdir):
    """Raises ConfigError if ``workdir`` holds a run whose weights another config shaped."""
    stored = stored_config(workdir)
    if stored is None:
        return
    path = os.path.join(workdir, CONFIG_FILE)
    differences = fingerprint_differences(stored, config_dict)
    if differences:
        raise ConfigError(
            f"workdir {workdir!r} holds a run trained with another config "
            f"({'; '.join(differences)}); these keys shape the weights, so use a new "
            f"workdir (or rerun with {path})")


def lock_holder(workdir):
    """The pid holding ``workdir``'s lock, or None when nobody holds it (reads only)."""
    path = os.path.join(workdir, LOCK_FILE)
    if not os.path.isfile(path):
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in _LOCK_HELD:
                raise
            return _read_pid(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_pid(fd):
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 64).decode(errors="replace").strip()
    return text or "unknown"


def _in_use(workdir, holder):
    return ConfigError(f"workdir {workdir!r} is in use by process {holder} (another training "
                       "run); wait for it to end or use another workdir")


def check(config_dict, workdir, export_dir=None):
    """Every workdir check that reads only: writable folders, same run, not in use."""
    check_writable(workdir, "workdir")
    if export_dir is not None:
        check_writable(export_dir, "export.dir")
    check_fingerprint(config_dict, workdir)
    holder = lock_holder(workdir)
    if holder is not None:
        raise _in_use(workdir, holder)


class Lock:
    """The workdir's lock, held for the life of a run (a context manager).

    ``flock`` on ``<workdir>/.lock``: a second process fails at once with the
    holder's pid, and the kernel releases the lock when its holder dies.
    """

    def __init__(self, workdir):
        self.workdir = workdir
        self._fd = None

    def __enter__(self):
        os.makedirs(self.workdir, exist_ok=True)
        fd = os.open(os.path.join(self.workdir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = _read_pid(fd)
            os.close(fd)
            if error.errno in _LOCK_HELD:
                raise _in_use(self.workdir, holder) from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc):
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        return False
