"""How much memory a train step needs, estimated before training starts.

An absurd resolution or batch size should be refused with a number, not found
by the kernel's OOM killer an hour later. The estimate traces each network
once at batch 1 and adds up the tensors of its graph: the activations a
backward pass keeps, per example. A train step holds the generator's and two
discriminator passes' activations (real and generated batch), about as much
again for their gradients, and the weights with their gradients, optimizer
slots and EMA copy. It is a rough upper bound, meant to catch settings that are
off by an order of magnitude.
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
    """Bytes of the tensors one example creates in ``model``'s training-mode forward pass."""
    spec = tf.TensorSpec([1, *input_shape], tf.float32)
    graph = tf.function(lambda x: model(x, training=True)).get_concrete_function(spec).graph
    total = 0
    for op in graph.get_operations():
        if op.type in _NOT_ACTIVATIONS:
            continue
        for tensor in op.outputs:
            if tensor.dtype.is_floating and tensor.shape.is_fully_defined():
                total += int(np.prod(tensor.shape)) * tensor.dtype.size
    return total


def train_step_bytes(generator, discriminator, batch_size, latent_dim, sample_shape, pack=1):
    """The estimate above, in bytes, for one train step at ``batch_size``.

    ``pack``: the discriminator scores packs of that many samples (PacGAN).
    """
    critic_bytes = activation_bytes(discriminator, packing.packed_shape(sample_shape, pack))
    per_example = activation_bytes(generator, (latent_dim,)) + 2 * critic_bytes / pack
    weights = sum(int(np.prod(w.shape)) * 4
                  for w in generator.weights + discriminator.weights)
    return 2 * per_example * batch_size + _COPIES_PER_WEIGHT * weights


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


def check_fits(generator, discriminator, batch_size, latent_dim, sample_shape, what,
               available=None, pack=1):
    """Raises ConfigError when a train step's estimate exceeds the machine's memory.

    Args:
      generator, discriminator: the built networks.
      batch_size: the largest batch a step uses.
      latent_dim, sample_shape: the generator's input size and output shape.
      what: the settings to name in the message, e.g. ``"data.resolution=2048,
        train.batch_size=64"``.
      available: bytes to compare with (default: :func:`machine_memory_bytes`).
      pack: samples per discriminator input (PacGAN's ``model.pack``).
    """
    needed = train_step_bytes(generator, discriminator, batch_size, latent_dim, sample_shape,
                              pack)
    available = machine_memory_bytes() if available is None else available
    if needed > available:
        raise ConfigError(
            f"{what} needs about {_gib(needed)} per train step (estimate), more than this "
            f"machine's {_gib(available)}; lower the resolution, the batch size or the "
            "filter counts")
    return needed


def _gib(size):
    return f"{size / 1024**3:.1f} GiB"
