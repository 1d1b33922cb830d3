"""Helpers the tests share: paths, and the binaries run in fresh processes."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(REPO, "configs")
SMOKE_CONFIGS = sorted(
    os.path.join(CONFIGS, "smoke", name)
    for name in os.listdir(os.path.join(CONFIGS, "smoke"))
    if name.endswith(".yaml")
)


def run_python(code_or_args, cwd=None, timeout=300):
    """Runs a fresh Python process (a list of args, or code for -c)."""
    args = code_or_args if isinstance(code_or_args, list) else ["-c", code_or_args]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, *args], cwd=cwd or REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def run_train(*flags, cwd=None):
    """Runs the ``tfgan-train`` binary as ``python -m tfgan_stable.main``."""
    return run_python(["-m", "tfgan_stable.main", *flags], cwd=cwd)
