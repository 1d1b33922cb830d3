"""Shared test setup: quiet TensorFlow, tiny shapes, helpers to run the binaries."""

import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# The digit classifier behind FID / KID is trained once and cached; share it across tests.
os.environ.setdefault("TFGAN_STABLE_CACHE", os.path.join(
    __import__("tempfile").gettempdir(), "tfgan_stable_test_cache"))

import pytest  # noqa: E402

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


@pytest.fixture
def tiny_images():
    """16 random 8x8 one-channel images in [-1, 1]."""
    import numpy as np

    return np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
