"""Layers of Progressive GAN (Karras, Aila, Laine, Lehtinen 2018, arXiv 1710.10196).

* Equalised learning rate (sec. 4.1): weights are drawn from N(0, 1) and
  scaled at run time by the He constant ``gain / sqrt(fan_in)``, so that Adam's
  per-parameter normalisation sees every layer at the same dynamic range.
* Pixelwise feature vector normalisation in the generator (sec. 4.2).
* Minibatch standard deviation in the discriminator (sec. 3).
* Nearest-neighbour up-sampling and average-pool down-sampling, and the 1x1
  toRGB / fromRGB convolutions (helpers below).

Every layer is registered and serialisable.
"""

import math

import keras
from keras import ops


def he_scale(fan_in, gain=math.sqrt(2.0)):
    """The equalised-learning-rate multiplier ``gain / sqrt(fan_in)``."""
    return gain / math.sqrt(fan_in)


@keras.saving.register_keras_serializable(package="tfgan_stable")
class EqualizedDense(keras.layers.Layer):
    """Dense layer with N(0, 1) weights scaled at run time by ``gain / sqrt(fan_in)``."""

    def __init__(self, units, gain=math.sqrt(2.0), use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units, self.gain, self.use_bias = int(units), float(gain), bool(use_bias)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.scale = he_scale(fan_in, self.gain)
        self.kernel = self.add_weight(shape=(fan_in, self.units), name="kernel",
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0))
        self.bias = (self.add_weight(shape=(self.units,), name="bias", initializer="zeros")
                     if self.use_bias else None)

    def call(self, inputs):
        outputs = ops.matmul(inputs, ops.cast(self.kernel, inputs.dtype) * self.scale)
        return outputs + ops.cast(self.bias, inputs.dtype) if self.use_bias else outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "gain": self.gain,
                "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="tfgan_stable")
class EqualizedConv2D(keras.layers.Layer):
    """Stride-1 'same' convolution with the equalised learning rate."""

    def __init__(self, filters, kernel_size=3, gain=math.sqrt(2.0), **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.gain = int(filters), int(kernel_size), float(gain)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.scale = he_scale(self.kernel_size * self.kernel_size * channels, self.gain)
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.kernel_size, channels, self.filters), name="kernel",
            initializer=keras.initializers.RandomNormal(0.0, 1.0))
        self.bias = self.add_weight(shape=(self.filters,), name="bias", initializer="zeros")

    def call(self, inputs):
        kernel = ops.cast(self.kernel, inputs.dtype) * self.scale
        outputs = ops.conv(inputs, kernel, strides=1, padding="same")
        return outputs + ops.cast(self.bias, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "gain": self.gain}


@keras.saving.register_keras_serializable(package="tfgan_stable")
class PixelNorm(keras.layers.Layer):
    """Normalises each pixel's feature vector to unit mean square (sec. 4.2)."""

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        return inputs * ops.rsqrt(ops.mean(ops.square(inputs), axis=-1, keepdims=True)
                                  + self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="tfgan_stable")
class MinibatchStdDev(keras.layers.Layer):
    """Appends one feature map: the average standard deviation within a group (sec. 3).

    The batch is split into groups of ``group_size`` consecutive examples
    (the paper's code takes every M-th example instead; consecutive groups keep
    a replica's share of the global batch made of whole groups, so N replicas
    compute what one device does); for each group
    the standard deviation of every feature at every position is computed over
    the group, averaged to one number, and broadcast as an extra channel to
    the group's examples. When the batch size is not divisible by
    ``group_size``, the whole batch forms one group.
    """

    def __init__(self, group_size=4, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        if group_size < 1:
            raise ValueError(f"MinibatchStdDev.group_size must be >= 1, got {group_size}")
        self.group_size, self.epsilon = int(group_size), float(epsilon)

    def call(self, inputs):
        shape = ops.shape(inputs)
        batch = shape[0]
        group = ops.where(ops.equal(ops.mod(batch, self.group_size), 0),
                          ops.minimum(self.group_size, batch), batch)
        height, width, channels = inputs.shape[1], inputs.shape[2], inputs.shape[3]
        x = ops.cast(inputs, "float32")
        grouped = ops.reshape(x, (-1, group, height, width, channels))  # [M, G, H, W, C]
        variance = ops.mean(ops.square(grouped - ops.mean(grouped, axis=1, keepdims=True)), axis=1)
        stddev = ops.mean(ops.sqrt(variance + self.epsilon), axis=[1, 2, 3])  # [M]
        per_example = ops.repeat(stddev, group)  # example i belongs to group i // G
        feature = ops.broadcast_to(ops.reshape(per_example, (-1, 1, 1, 1)),
                                   (batch, height, width, 1))
        return ops.concatenate([inputs, ops.cast(feature, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + 1,)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size, "epsilon": self.epsilon}


def upsample(name=None):
    """Nearest-neighbour 2x up-sampling (the generator's growth step)."""
    return keras.layers.UpSampling2D(2, interpolation="nearest", name=name)


def downsample(name=None):
    """2x2 average pooling (the discriminator's and the real images' down-sampling)."""
    return keras.layers.AveragePooling2D(2, name=name)


def to_rgb(channels, name=None):
    """1x1 equalised convolution from features to an image (linear, gain 1)."""
    return EqualizedConv2D(channels, kernel_size=1, gain=1.0, name=name)


def from_rgb(filters, name=None):
    """1x1 equalised convolution from an image to features."""
    return EqualizedConv2D(filters, kernel_size=1, name=name)
