"""Atomic file writes: a reader, or a kill, sees the old file or the new one, whole."""

import contextlib
import json
import os


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yields a temporary path beside ``path``; renames it over ``path`` on success.

    The temporary name is hidden (``.partial.<pid>.<name>``) and ends with
    ``suffix`` (some writers pick the format from the extension). On an
    exception the temporary file is removed and ``path`` is untouched.
    """
    folder, name = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".partial.{os.getpid()}.{name}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text):
    """Writes ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)


def write_json(path, value):
    """Writes ``value`` as indented JSON to ``path`` atomically."""
    write_text(path, json.dumps(value, indent=2) + "\n")


def cache_dir():
    """Where the library caches what it computed once: ``$TFGAN_STABLE_CACHE`` or
    ``~/.cache/tfgan_stable``."""
    return os.environ.get("TFGAN_STABLE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "tfgan_stable")
