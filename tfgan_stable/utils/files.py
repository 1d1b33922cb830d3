"""Atomic file writes (a reader, or a kill, sees the old file or the new one, whole), and
what they need: checksums, free space, output paths checked first, and the removal of the
partial files that killed writers leave."""

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile

from tfgan_stable.errors import ConfigError


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


_PARTIAL = re.compile(r"^\.partial\.(\d+)\.")


def pid_alive(pid):
    """Whether a process ``pid`` exists (on this machine's pid namespace)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_partials(folder):
    """Removes the ``.partial.<pid>.*`` files in ``folder`` left by processes that died
    (a SIGKILL during a write); a live writer's, this process's included, are kept.

    Returns the paths removed.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _PARTIAL.match(name)
        if not match or int(match.group(1)) == os.getpid() or pid_alive(int(match.group(1))):
            continue
        path = os.path.join(folder, name)
        try:
            os.remove(path)
            removed.append(path)
        except OSError:
            pass  # gone meanwhile, or not ours to remove
    return removed


def free_bytes(path):
    """Free bytes on the disk that holds ``path`` (or its nearest existing parent)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return shutil.disk_usage(path).free


def sha256(path):
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_writable(path, field):
    """Raises ConfigError unless ``path`` is, or can be created as, a writable folder."""
    path = os.path.abspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConfigError(f"{field}={path!r} is a file, not a folder")
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ConfigError(f"{field}={path!r} cannot be created: {existing!r} is a file")
    try:  # os.access alone is wrong for root and on read-only mounts
        with tempfile.TemporaryFile(dir=existing, prefix=".tfgan-write-probe-"):
            pass
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        where = "" if existing == path else f" (its parent {existing!r})"
        raise ConfigError(f"{field}={path!r} is not writable{where}: {reason}") from None


def check_output_file(path, flag, extensions=()):
    """Checks a binary's output file flag before any work is done.

    Raises ``ConfigError`` (exit status 2) when ``path`` is a folder, has an
    extension outside ``extensions`` (when given), or its folder cannot be
    created or written.
    """
    if not path:
        raise ConfigError(f"--{flag} must name a file, got an empty path")
    if os.path.isdir(path):
        raise ConfigError(f"--{flag}={path!r} is a folder; name a file inside it")
    if extensions and os.path.splitext(path)[1].lower() not in extensions:
        raise ConfigError(f"--{flag}={path!r} must end with one of {sorted(extensions)} "
                          "(the extension picks the format)")
    check_writable(os.path.dirname(os.path.abspath(path)), f"the folder of --{flag}")
