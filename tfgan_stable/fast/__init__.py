"""The hardware-specific speed wing: Keras layers swapped for faster equals, behind one switch.

On CPUs that compute bfloat16 (AMX-BF16 or AVX512-BF16), a DCGAN-style train
step runs 2.3-2.9x faster in bfloat16 with the library's layers than Keras'
in float32 (``docs/benchmarks.md``): ``FusedBatchNormalization`` (one fused
op per training step; :mod:`.batch_norm`) and ``small_conv.Conv2D`` /
``Conv2DTranspose`` (small feature maps, or their kernel gradients, as matrix
products; :mod:`.small_conv`). They compute what Keras' layers compute, with
the same variables, so a network built with them trains, saves and restores
like one built with Keras' own.

Everything outside this package sees one switch, ``fast_layers``:

* ``"auto"`` (the default): the library's layers where they were measured to
  pay: a bfloat16 compute policy on a CPU that computes bfloat16, and no GPU
  or TPU in use (cuDNN and XLA are the fast path there). Keras' layers
  everywhere else.
* ``"on"`` / ``"off"`` (or True / False): always / never.

:func:`resolve` makes the choice; the builders of :mod:`tfgan_stable.networks`
take it as their ``fast_layers`` argument and ``model.fast_layers`` in a
config. A family whose quality depends on a precision-specific setting of
these layers says so in its GAN class (``fast_layer_options``; WGAN-GP keeps
Keras' convolution forward in bfloat16), and the GAN applies it to its
networks (:func:`configure`), so no caller can forget it. Exports hold
Keras' layers whatever trained (:func:`with_keras_layers`).
"""

import keras

from tfgan_stable import hardware
from tfgan_stable.config import FAST_LAYERS
from tfgan_stable.fast import small_conv
from tfgan_stable.fast.batch_norm import FusedBatchNormalization
from tfgan_stable.fast.swap import library_layers, with_fast_layers, with_keras_layers

SETTINGS = FAST_LAYERS  # model.fast_layers

__all__ = ["FusedBatchNormalization", "SETTINGS", "batch_normalization", "configure",
           "conv2d", "conv2d_transpose", "devices_of", "library_layers", "resolve", "small_conv",
           "with_fast_layers", "with_keras_layers"]


def resolve(setting="auto", policy=None, devices=None, cpu_features=None):
    """Whether to build the library's layers: ``setting`` made concrete.

    Args:
      setting: ``"auto"``, ``"on"``, ``"off"``, True or False.
      policy: the dtype policy the networks compute in (a name or a
        ``keras.DTypePolicy``); default: Keras' global policy.
      devices: the device names training runs on; default: the current
        ``tf.distribute`` strategy's, or every GPU / TPU TensorFlow sees.
      cpu_features: the CPU's flags (default: this machine's).

    Raises:
      ValueError: an unknown setting.
    """
    if setting in (True, "on"):
        return True
    if setting in (False, "off"):
        return False
    if setting != "auto":
        raise ValueError(f"fast_layers must be one of {list(SETTINGS)} or a bool. "
                         f"Received: fast_layers={setting!r}")
    policy = keras.dtype_policies.get(policy) if policy is not None \
        else keras.mixed_precision.global_policy()
    if policy.compute_dtype != "bfloat16":
        return False
    devices = devices_of() if devices is None else list(devices)
    if any(_device_type(device) != "CPU" for device in devices):
        return False
    features = hardware.cpu_flags() if cpu_features is None else cpu_features
    return any(feature in features for feature in hardware.BF16_CPU_FEATURES)


def _device_type(name):
    """``"CPU"``, ``"GPU"``, ``"TPU"``, ... of a device name such as ``/device:GPU:0``."""
    last = name.rsplit("/", 1)[-1].upper().removeprefix("DEVICE:")
    return last.split(":")[0]


def devices_of(strategy=None):
    """The devices a ``tf.distribute`` strategy (default: the current one) trains on.

    The default strategy names none: there TensorFlow places ops on a GPU or
    TPU when it sees one, so those are the devices.
    """
    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    try:
        return list(strategy.extended.worker_devices)
    except (RuntimeError, NotImplementedError):  # the default strategy
        accelerators = (tf.config.list_logical_devices("GPU")
                        + tf.config.list_logical_devices("TPU"))
        return [device.name for device in accelerators] or ["/device:CPU:0"]


def conv2d(fast, *args, **kwargs):
    """``keras.layers.Conv2D(*args, **kwargs)``, or the library's equal when ``fast``."""
    return (small_conv.Conv2D if fast else keras.layers.Conv2D)(*args, **kwargs)


def conv2d_transpose(fast, *args, **kwargs):
    """``keras.layers.Conv2DTranspose``, or the library's equal when ``fast``."""
    return (small_conv.Conv2DTranspose if fast else keras.layers.Conv2DTranspose)(
        *args, **kwargs)


def batch_normalization(fast, **kwargs):
    """``keras.layers.BatchNormalization``, or ``FusedBatchNormalization`` when ``fast``."""
    return (FusedBatchNormalization if fast else keras.layers.BatchNormalization)(**kwargs)


def configure(model, **options):
    """Sets ``options`` (e.g. ``matrix_path=False``) on the library's convolutions in ``model``.

    What a family asks of these layers (its GAN class's ``fast_layer_options``),
    applied to the networks it trains; Keras' layers are left as they are.
    Returns the number of layers changed.
    """
    changed = 0
    for layer in library_layers(model):
        if isinstance(layer, (small_conv.Conv2D, small_conv.Conv2DTranspose)):
            for key, value in options.items():
                if not hasattr(layer, key):
                    raise ValueError(f"fast layer option {key!r} is not one of "
                                     f"{list(small_conv.OPTIONS)}. Received: {key}={value!r}")
                setattr(layer, key, value)
            changed += 1
    return changed
