"""What the machine offers for reduced precision: the choice behind ``train.mixed_precision: auto``.

bfloat16 pays only where the hardware computes in it: on CPUs with AMX-BF16
or AVX512-BF16 (oneDNN's bfloat16 kernels; elsewhere TensorFlow emulates
bfloat16 and is slower than float32), on NVIDIA GPUs of compute capability 8.0
(Ampere) and newer, and on TPUs. :func:`auto_precision` picks
``mixed_bfloat16`` there and ``float32`` everywhere else, with the reason.
"""

import os
import platform

# /proc/cpuinfo flags of the CPU instructions that compute in bfloat16
BF16_CPU_FEATURES = ("amx_bf16", "avx512_bf16")
MIN_BF16_GPU_CAPABILITY = (8, 0)


def _first_processor(cpuinfo):
    """``{field: value}`` of the first processor in a Linux ``/proc/cpuinfo`` (empty if none)."""
    fields = {}
    try:
        with open(cpuinfo) as f:
            for line in f:
                if not line.strip():
                    if fields:
                        break
                    continue
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU's feature flags (Linux ``/proc/cpuinfo``); empty where that file is missing."""
    return frozenset(_first_processor(cpuinfo).get("flags", "").split())


def cpu_description(cpuinfo="/proc/cpuinfo"):
    """``{"model", "cores", "bf16_features"}`` of this machine's CPU."""
    fields = _first_processor(cpuinfo)
    model = fields.get("model name") or platform.processor() or platform.machine()
    flags = frozenset(fields.get("flags", "").split())
    return {"model": model, "cores": os.cpu_count(),
            "bf16_features": [name for name in BF16_CPU_FEATURES if name in flags]}


def gpu_capabilities():
    """``[(name, (major, minor))]`` of the visible GPUs (empty without GPUs)."""
    import tensorflow as tf

    found = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        found.append((details.get("device_name", device.name),
                      tuple(details.get("compute_capability") or (0, 0))))
    return found


def choose_precision(cpu_features, gpus, tpu=False):
    """``(policy, reason)`` from what the hardware has: pure, for tests.

    Args:
      cpu_features: the CPU's flags (:func:`cpu_flags`).
      gpus: ``[(name, (major, minor))]`` the training will use (:func:`gpu_capabilities`).
      tpu: whether training runs on a TPU.
    """
    if tpu:
        return "mixed_bfloat16", "TPUs compute in bfloat16"
    if gpus:
        old = [f"{name} ({major}.{minor})" for name, (major, minor) in gpus
               if (major, minor) < MIN_BF16_GPU_CAPABILITY]
        if old:
            return "float32", (f"GPU {', '.join(old)} has compute capability below "
                               f"{MIN_BF16_GPU_CAPABILITY[0]}.{MIN_BF16_GPU_CAPABILITY[1]}, "
                               "no bfloat16 arithmetic")
        names = ", ".join(sorted({name for name, _ in gpus}))
        return "mixed_bfloat16", (f"GPU {names} computes in bfloat16 "
                                  "(compute capability 8.0+)")
    have = [name for name in BF16_CPU_FEATURES if name in cpu_features]
    if have:
        return "mixed_bfloat16", f"the CPU has {', '.join(name.upper() for name in have)}"
    return "float32", "the CPU has neither AMX-BF16 nor AVX512-BF16 (bfloat16 would be emulated)"


def auto_precision(strategy=None):
    """``(policy, reason)`` for the machine this process trains on (see :func:`choose_precision`)."""
    import tensorflow as tf

    tpu = isinstance(strategy, tf.distribute.TPUStrategy)
    return choose_precision(cpu_flags(), [] if tpu else gpu_capabilities(), tpu=tpu)
