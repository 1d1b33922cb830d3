"""Packing: the critic scores ``m`` samples at once (PacGAN).

Lin, Khetan, Fanti, Oh 2018, "PacGAN: The power of two samples in generative
adversarial networks" (arXiv 1712.04086): the discriminator sees packs of
``m`` samples, all real or all generated, concatenated along the channel axis.
A generator that repeats itself makes packs that look unlike real packs, so
the critic can penalise mode collapse that a one-sample critic cannot see.
The paper's packed DCGAN covers all 1,000 Stacked MNIST modes (KL 0.06).
"""

from keras import ops


def packed_shape(sample_shape, pack):
    """The shape of one pack of ``pack`` samples of ``sample_shape`` (channels last)."""
    sample_shape = tuple(sample_shape)
    return sample_shape[:-1] + (sample_shape[-1] * pack,)


def pack_samples(samples, pack):
    """``[B, ..., C]`` -> ``[B / pack, ..., pack * C]``: consecutive samples side by side.

    Pack ``i`` holds samples ``i * pack`` to ``i * pack + pack - 1``; its last
    axis is their channels one after the other. ``pack=1`` returns ``samples``.

    Raises:
      ValueError: when the batch (known while tracing) is not a multiple of ``pack``.
    """
    if pack == 1:
        return samples
    batch = samples.shape[0]
    if batch is not None and batch % pack:
        raise ValueError(f"model.pack={pack}: the batch of {batch} samples per replica "
                         f"does not split into packs of {pack}; use a batch size that "
                         f"is a multiple of {pack}")
    inner = tuple(samples.shape[1:])
    grouped = ops.reshape(samples, (-1, pack) + inner)
    # the pack axis goes just before the channels, which it then joins
    grouped = ops.moveaxis(grouped, 1, -2)
    return ops.reshape(grouped, (-1,) + packed_shape(inner, pack))
