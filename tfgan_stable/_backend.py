"""Makes sure Keras runs on its TensorFlow backend before anything imports it."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        "tfgan_stable needs Keras' TensorFlow backend, but KERAS_BACKEND is "
        f"{keras.backend.backend()!r}; unset KERAS_BACKEND or set it to 'tensorflow'."
    )
