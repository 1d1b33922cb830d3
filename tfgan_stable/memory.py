"""How much memory a train step needs, estimated before training starts.

An absurd resolution or batch size should be refused with a number, not found
by the kernel's OOM killer an hour later. The estimate traces each network
once at batch 1 and adds up the tensors of its graph: the activations a
backward pass keeps, per example. A train step holds the generator's and two
discriminator passes' activations (real and generated batch), about as much
again for their gradients, and the weights with their gradients, optimizer
slots and EMA copy. A gradient penalty (WGAN-GP, ProGAN; Gulrajani 2017, arXiv
1704.00028) adds a third discriminator pass on the interpolates and the graph of
its double backpropagation, counted as three more passes. It is a rough upper
bound, meant to catch settings that are off by an order of magnitude, and it is
compared with the memory available now (not the machine's total: other
processes hold some).
"""

import os

import numpy as np
import tensorflow as tf

from tfgan_stable import packing
from tfgan_stable.errors import ConfigError

_NOT_ACTIVATIONS = {"ReadVariableOp", "Const", "VarHandleOp", "Placeholder", "NoOp",
                    "Identity", "Shape", "Reshape"}
# weights, their gradients, two Adam slots and an EMA copy
_COPIES_PER_WEIGHT = 5


def activation_bytes(model, input_shape):
    """Bytes of the tensors one example creates in ``model``'s training-mode forward pass.

    A conditional network (a second, label input) is traced with one label beside it.
    """
    spec = tf.TensorSpec([1, *input_shape], tf.float32)
    if len(getattr(model, "inputs", None) or ()) == 2:
        label = tf.TensorSpec([1], tf.int32)
        function = tf.function(lambda x, y: model([x, y], training=True))
        graph = function.get_concrete_function(spec, label).graph
    else:
        graph = tf.function(lambda x: model(x, training=True)).get_concrete_function(spec).graph
    total = 0
    for op in graph.get_operations():
        if op.type in _NOT_ACTIVATIONS:
            continue
        for tensor in op.outputs:
            if tensor.dtype.is_floating and tensor.shape.is_fully_defined():
                total += int(np.prod(tensor.shape)) * tensor.dtype.size
    return total


# a gradient penalty's interpolates pass, and its double backprop (about two passes more)
_PENALTY_PASSES = 3
# real batches the input pipeline holds: the one in use and two prefetched
_PIPELINE_COPIES = 3
# the share of the available memory a step may take; the rest is TensorFlow's runtime,
# its kernels' scratch space and whatever else runs (a 2048x2048 WGAN-GP step estimated
# at 20.8 GiB was killed on a machine with 21.8 GiB available)
USABLE_FRACTION = 0.8


def train_step_bytes(generator, discriminator, batch_size, latent_dim, sample_shape, pack=1,
                     gradient_penalty=False, real_batches=1):
    """The estimate above, in bytes, for one train step at ``batch_size``.

    ``pack``: the discriminator scores packs of that many samples (PacGAN).
    ``gradient_penalty``: the step also penalises the critic's gradient on
    interpolates (WGAN-GP, ProGAN). ``real_batches``: real batches a step
    reads (``n_critic``); the input pipeline holds a few steps' worth.
    """
    critic_bytes = activation_bytes(discriminator, packing.packed_shape(sample_shape, pack))
    critic_passes = 2 + (_PENALTY_PASSES if gradient_penalty else 0)
    per_example = (activation_bytes(generator, (latent_dim,))
                   + critic_passes * critic_bytes / pack)
    weights = sum(int(np.prod(w.shape)) * 4
                  for w in generator.weights + discriminator.weights)
    pipeline = _PIPELINE_COPIES * real_batches * batch_size * int(np.prod(sample_shape)) * 4
    return 2 * per_example * batch_size + _COPIES_PER_WEIGHT * weights + pipeline


def machine_memory_bytes():
    """Physical memory, or the cgroup's limit when that is lower (containers)."""
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for limit_file in ("/sys/fs/cgroup/memory.max",
                       "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(limit_file) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _cgroup_free_bytes():
    """The cgroup's limit minus what it holds (less its reclaimable page cache), or None."""
    for limit_file, usage_file, stat_file, cache_key in (
            ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current",
             "/sys/fs/cgroup/memory.stat", "inactive_file"),
            ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
             "/sys/fs/cgroup/memory/memory.usage_in_bytes",
             "/sys/fs/cgroup/memory/memory.stat", "total_inactive_file")):
        limit, usage = _read(limit_file), _read(usage_file)
        if limit is None or usage is None or not limit.strip().isdigit():
            continue  # absent, or "max": no limit
        if int(limit) >= machine_memory_bytes() * 4:  # cgroup v1's "no limit" is huge
            continue
        cache = 0
        for line in (_read(stat_file) or "").splitlines():
            key, _, value = line.partition(" ")
            if key == cache_key and value.strip().isdigit():
                cache = int(value)
        return max(0, int(limit) - max(0, int(usage.strip() or 0) - cache))
    return None


def available_bytes():
    """Memory a new allocation can have now: the kernel's ``MemAvailable``, or the
    cgroup's limit minus its usage when that is lower (containers)."""
    available = None
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemAvailable:"):
            available = int(line.split()[1]) * 1024
    if available is None:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    cgroup = _cgroup_free_bytes()
    return available if cgroup is None else min(available, cgroup)


def check_bytes(needed, what, available=None):
    """Raises ConfigError when ``needed`` bytes exceed the memory available now.

    ``what``: the settings to name, e.g. ``"data.num_samples=1000000000"``.
    """
    return _refuse_above_usable(needed, f"{what} needs about {_gib(needed)} of memory",
                                available)


def check_fits(generator, discriminator, batch_size, latent_dim, sample_shape, what,
               available=None, pack=1, gradient_penalty=False, real_batches=1):
    """Raises ConfigError when a train step's estimate exceeds the memory available now.

    Args:
      generator, discriminator: the built networks.
      batch_size: the largest batch a step uses.
      latent_dim, sample_shape: the generator's input size and output shape.
      what: the settings to name in the message, e.g. ``"data.resolution=2048,
        train.batch_size=64"``.
      available: bytes to compare with (default: :func:`available_bytes`).
      pack: samples per discriminator input (PacGAN's ``model.pack``).
      gradient_penalty: the step penalises the critic's gradient (see above).
      real_batches: real batches per step (``n_critic``).

    A step may take :data:`USABLE_FRACTION` of ``available``.
    """
    needed = train_step_bytes(generator, discriminator, batch_size, latent_dim, sample_shape,
                              pack, gradient_penalty, real_batches)
    return _refuse_above_usable(
        needed, f"{what} needs about {_gib(needed)} per train step", available,
        "; lower the resolution, the batch size or the filter counts")


def _refuse_above_usable(needed, need, available=None, advice=""):
    """``needed``, or ConfigError ``"<need> (estimate), more than <usable><advice>"``."""
    available = available_bytes() if available is None else available
    if needed > USABLE_FRACTION * available:
        raise ConfigError(
            f"{need} (estimate), more than the {_gib(USABLE_FRACTION * available)} a run may "
            f"take ({USABLE_FRACTION:.0%} of the {_gib(available)} of memory available "
            f"now){advice}")
    return needed


def _gib(size):
    if size < 1024**3:
        return f"{size / 1024**2:.1f} MiB"
    return f"{size / 1024**3:.1f} GiB"
