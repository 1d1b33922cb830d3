"""Test setup: quiet TensorFlow, a shared cache, tiny fixtures. Helpers: ``helpers.py``."""

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# The digit classifier behind FID / KID is trained once and cached; share it across tests.
os.environ.setdefault("TFGAN_STABLE_CACHE",
                      os.path.join(tempfile.gettempdir(), "tfgan_stable_test_cache"))

import pytest  # noqa: E402


@pytest.fixture
def tiny_images():
    """16 random 8x8 one-channel images in [-1, 1]."""
    import numpy as np

    return np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
