"""Convolutions on small feature maps as matrix products.

A GAN's networks are widest where their feature maps are smallest: 256 to
512 channels at 8x8, 4x4 or 2x2. On CPUs oneDNN computes those layers
slowly, its bfloat16 AMX kernels most of all (``bench/layer_speed.py``), and
a gradient penalty's double backward runs each of them several times more.
At these sizes a convolution is cheapest written as what it is: gather every
output position's receptive field (``im2col``), then one matrix product with
the kernel. The gather is itself a product with a constant 0/1 matrix (one
row per output position and kernel tap, one column per input pixel; rows of
padding taps stay zero), so the whole convolution is matrix products, whose
gradients of every order are matrix products too: the gradient penalty's
second derivatives need nothing special.

``Conv2D`` and ``Conv2DTranspose`` are Keras' layers with that path where it
measured faster (bfloat16 on AMX, batch 64; ``matmul_applies``): the larger
of their input and output maps (a convolution's input, a transposed
convolution's output) has at most ``MAX_MATMUL_PIXELS`` pixels (8x8) in a
16-bit compute dtype or ``MAX_MATMUL_PIXELS_FLOAT32`` (4x4) in float32, and
at most a quarter as many pixels as the channels of the main product (the
gather's share of the work: 3x3 convolutions 128->128 at 8x8 were slower,
256->256 faster). Keras' own convolution runs otherwise, and for dilation,
groups, ``channels_first`` or an unknown map size. Same weights, same
results up to float rounding.
"""

import functools

import keras
import numpy as np
import tensorflow as tf

MAX_MATMUL_PIXELS = 64
MAX_MATMUL_PIXELS_FLOAT32 = 16
MAX_GATHER_SHARE = 0.25


@functools.lru_cache(maxsize=None)
def receptive_field_matrix(height, width, kernel, stride, padding):
    """The 0/1 gather matrix of a 2-D convolution, as a NumPy array.

    Shape ``[out_h * out_w * kernel_h * kernel_w, height * width]``: row
    ``(oh, ow, kh, kw)`` has a one at the input pixel that tap ``(kh, kw)`` of
    output position ``(oh, ow)`` reads, and none where it reads padding
    (TensorFlow's ``same`` padding: the odd pixel of padding goes after).
    """
    (kernel_h, kernel_w), (stride_h, stride_w) = kernel, stride
    if padding == "same":
        out_h, out_w = -(-height // stride_h), -(-width // stride_w)
        top = max((out_h - 1) * stride_h + kernel_h - height, 0) // 2
        left = max((out_w - 1) * stride_w + kernel_w - width, 0) // 2
    else:
        out_h = (height - kernel_h) // stride_h + 1
        out_w = (width - kernel_w) // stride_w + 1
        top = left = 0
    oh, ow, kh, kw = np.meshgrid(np.arange(out_h), np.arange(out_w), np.arange(kernel_h),
                                 np.arange(kernel_w), indexing="ij")
    rows, cols = oh * stride_h + kh - top, ow * stride_w + kw - left
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    matrix = np.zeros((out_h * out_w * kernel_h * kernel_w, height * width), np.float32)
    matrix[np.flatnonzero(inside), (rows * width + cols)[inside]] = 1.0
    return matrix, out_h, out_w


def conv2d(inputs, kernel, strides, padding):
    """``tf.nn.conv2d`` (NHWC, HWIO kernel) as matrix products."""
    _, height, width, channels = inputs.shape
    kernel_h, kernel_w, _, filters = kernel.shape
    gather, out_h, out_w = receptive_field_matrix(height, width, (kernel_h, kernel_w),
                                                  tuple(strides), padding)
    pixels = tf.reshape(inputs, [-1, height * width, channels])
    patches = tf.matmul(tf.constant(gather, inputs.dtype), pixels)  # [B, P * taps, C]
    patches = tf.reshape(patches, [-1, kernel_h * kernel_w * channels])
    outputs = tf.matmul(patches, tf.reshape(kernel, [-1, filters]))
    return tf.reshape(outputs, [-1, out_h, out_w, filters])


def conv2d_transpose(inputs, kernel, strides, padding, output_size):
    """The transpose of ``conv2d`` from ``output_size`` (kernel HWOI, as Keras')."""
    _, height, width, channels = inputs.shape
    kernel_h, kernel_w, filters, _ = kernel.shape
    out_h, out_w = output_size
    gather, grid_h, grid_w = receptive_field_matrix(out_h, out_w, (kernel_h, kernel_w),
                                                    tuple(strides), padding)
    if (grid_h, grid_w) != (height, width):
        raise ValueError(f"conv2d_transpose: output {output_size} does not convolve back to "
                         f"the input's {height}x{width}")
    pixels = tf.reshape(inputs, [-1, channels])
    taps = tf.matmul(pixels, tf.reshape(kernel, [-1, channels]), transpose_b=True)
    taps = tf.reshape(taps, [-1, height * width * kernel_h * kernel_w, filters])
    outputs = tf.matmul(tf.constant(gather, inputs.dtype), taps, transpose_a=True)
    return tf.reshape(outputs, [-1, out_h, out_w, filters])


def add_bias(outputs, bias):
    """``outputs + bias`` over the last axis, as a broadcast addition.

    Not ``tf.nn.bias_add``: on CPU its gradient, ``BiasAddGrad``, sums a
    bfloat16 gradient with bfloat16 rounding along the way (a 4x4 critic
    layer's penalty gradient for the bias came out 12% short at batch 64),
    where a broadcast addition's gradient, ``Sum``, accumulates in float32.
    oneDNN's convolutions escape this by fusing ``BiasAddGrad`` into their
    filter gradient; the matrix products have no such fusion.
    """
    return tf.math.add(outputs, tf.cast(bias, outputs.dtype))


def matmul_applies(inputs, pixels, channels):
    """True when a convolution of NHWC ``inputs`` takes the matrix-product path.

    ``pixels``: the larger of the input and the output map's pixel count (the
    gather matrix's columns), ``None`` when unknown. ``channels``: the channel
    count the main product runs over besides the taps (a convolution's
    filters, a transposed convolution's input channels). The gather costs
    ``pixels / channels`` of the main product; it pays off up to
    ``MAX_GATHER_SHARE``.
    """
    if len(inputs.shape) != 4 or pixels is None or inputs.shape[-1] is None:
        return False
    limit = MAX_MATMUL_PIXELS if inputs.dtype in (tf.bfloat16, tf.float16) \
        else MAX_MATMUL_PIXELS_FLOAT32
    return pixels <= limit and pixels <= MAX_GATHER_SHARE * channels


def keras_arguments_supported(layer):
    """True when a Keras convolution layer's arguments have a matrix-product path."""
    return (layer.data_format == "channels_last" and layer.padding in ("same", "valid")
            and tuple(layer.dilation_rate) == (1, 1) and getattr(layer, "groups", 1) == 1)


def map_pixels(shape):
    """Height x width of an NHWC ``shape``, ``None`` when either is unknown."""
    return None if shape[1] is None or shape[2] is None else shape[1] * shape[2]


class _MatrixPathConvolution:
    """What both layers share: the ``matrix_path`` switch (``False`` keeps
    Keras' convolution for every input), and ``call`` taking the matrix
    products, then the bias and the activation, where ``takes_matrix_path``."""

    def __init__(self, *args, matrix_path=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.matrix_path = bool(matrix_path)

    def get_config(self):
        return {**super().get_config(), "matrix_path": self.matrix_path}

    def may_take_matrix_path(self):
        """The switch and the layer's arguments allow the matrix path."""
        return self.matrix_path and keras_arguments_supported(self)

    def call(self, inputs):
        if not self.takes_matrix_path(inputs):
            return super().call(inputs)
        outputs = self.matrix_products(inputs)
        if self.use_bias:
            outputs = add_bias(outputs, self.bias)
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package="tfgan_stable")
class Conv2D(_MatrixPathConvolution, keras.layers.Conv2D):
    """``keras.layers.Conv2D`` that convolves small inputs as matrix products.

    ``matrix_path=False`` keeps Keras' convolution for every input.
    """

    def takes_matrix_path(self, inputs):
        """True when this layer convolves ``inputs`` as matrix products."""
        return self.may_take_matrix_path() and matmul_applies(
            inputs, map_pixels(inputs.shape), self.filters)

    def matrix_products(self, inputs):
        return conv2d(inputs, self.kernel, self.strides, self.padding)


@keras.saving.register_keras_serializable(package="tfgan_stable")
class Conv2DTranspose(_MatrixPathConvolution, keras.layers.Conv2DTranspose):
    """``keras.layers.Conv2DTranspose`` that convolves small inputs as matrix products.

    ``matrix_path=False`` keeps Keras' convolution for every input.
    """

    def takes_matrix_path(self, inputs):
        """True when this layer convolves ``inputs`` as matrix products (counting
        its output map, the gather matrix's columns)."""
        output_pixels = map_pixels(self.compute_output_shape(inputs.shape))
        return (self.may_take_matrix_path() and self.output_padding is None
                and matmul_applies(inputs, output_pixels, inputs.shape[-1]))

    def matrix_products(self, inputs):
        output_size = self.compute_output_shape(inputs.shape)[1:3]
        return conv2d_transpose(inputs, self.kernel, self.strides, self.padding, output_size)
