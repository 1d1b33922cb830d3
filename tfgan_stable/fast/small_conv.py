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

Elsewhere in a 16-bit dtype, on maps up to 16x16 (``filter_gradient_applies``),
only the kernel's gradient is a matrix product (``matrix_filter_gradient``):
oneDNN's filter gradient is slowest there, slower in bfloat16 than in
float32 on an 8x8 critic layer. The convolution and its input gradient stay
oneDNN's, with their rounding; the kernel's gradient is one product summed
in float32 and rounded once, as oneDNN's own. Every order takes it: the
input gradient is the transposed convolution with the same rule, so a
gradient penalty's double backward does. On this path a transposed
convolution from a 4x4 map with many channels, where oneDNN's bfloat16
kernel is slowest (``phases_apply``), runs by phase
(``conv2d_transpose_by_phase``): one matrix product per output phase, each
output summed in float32 and rounded once, as oneDNN's.
"""

import functools

import keras
import numpy as np
import tensorflow as tf

MAX_MATMUL_PIXELS = 64
MAX_MATMUL_PIXELS_FLOAT32 = 16
MAX_GATHER_SHARE = 0.25
MAX_FILTER_GRADIENT_PIXELS = 256
MAX_PHASE_INPUT_PIXELS = 16
MIN_PHASE_CHANNEL_PRODUCT = 256 * 256


def output_grid(height, width, kernel, stride, padding):
    """A 2-D convolution's output size and leading padding: ``(out_h, out_w,
    top, left)`` (TensorFlow's ``same`` padding: the odd pixel goes after)."""
    (kernel_h, kernel_w), (stride_h, stride_w) = kernel, stride
    if padding == "same":
        out_h, out_w = -(-height // stride_h), -(-width // stride_w)
        return (out_h, out_w, max((out_h - 1) * stride_h + kernel_h - height, 0) // 2,
                max((out_w - 1) * stride_w + kernel_w - width, 0) // 2)
    return (height - kernel_h) // stride_h + 1, (width - kernel_w) // stride_w + 1, 0, 0


def flat_pixels_and_zero(inputs):
    """NHWC ``inputs`` as ``[batch, height * width + 1, channels]``: the pixels,
    then one zero pixel that gathers read for padding."""
    _, height, width, channels = inputs.shape
    return tf.pad(tf.reshape(inputs, [-1, height * width, channels]), [[0, 0], [0, 1], [0, 0]])


@functools.lru_cache(maxsize=None)
def receptive_field_matrix(height, width, kernel, stride, padding):
    """The 0/1 gather matrix of a 2-D convolution, as a NumPy array.

    Shape ``[out_h * out_w * kernel_h * kernel_w, height * width]``: row
    ``(oh, ow, kh, kw)`` has a one at the input pixel that tap ``(kh, kw)`` of
    output position ``(oh, ow)`` reads, and none where it reads padding
    (TensorFlow's ``same`` padding: the odd pixel of padding goes after).
    """
    (kernel_h, kernel_w), (stride_h, stride_w) = kernel, stride
    out_h, out_w, top, left = output_grid(height, width, kernel, stride, padding)
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


@functools.lru_cache(maxsize=None)
def receptive_field_indices(height, width, kernel, stride, padding):
    """The input pixel each row of ``receptive_field_matrix`` reads, as a NumPy
    array; ``height * width`` (one past the last pixel) where it reads padding."""
    matrix, _, _ = receptive_field_matrix(height, width, kernel, stride, padding)
    indices = matrix.argmax(axis=1)
    indices[matrix.sum(axis=1) == 0] = height * width
    return indices


def filter_gradient(inputs, output_gradient, kernel_shape, strides, padding):
    """The gradient of ``conv2d(inputs, kernel)``'s HWIO kernel, as a matrix product.

    The receptive fields are gathered by index (a copy; a zero pixel stands
    for padding), then one product with the output's gradient sums over
    every example and position at once: a single rounding in a 16-bit dtype,
    as oneDNN's own filter gradient.
    """
    _, height, width, channels = inputs.shape
    kernel_h, kernel_w, _, filters = kernel_shape
    indices = receptive_field_indices(height, width, (kernel_h, kernel_w), tuple(strides),
                                      padding)
    fields = tf.reshape(tf.gather(flat_pixels_and_zero(inputs), indices, axis=1),
                        [-1, kernel_h * kernel_w * channels])
    gradient = tf.matmul(fields, tf.reshape(output_gradient, [-1, filters]), transpose_a=True)
    return tf.reshape(gradient, kernel_shape)


@functools.lru_cache(maxsize=None)
def transpose_phases(height, width, kernel, stride, padding):
    """How a transposed convolution to a ``height`` x ``width`` map splits by phase.

    Each output pixel of a transposed convolution (the transpose of a
    convolution of that map) sums the taps ``k`` with ``k = pixel + padding``
    modulo the stride, one input pixel each: one small convolution per
    phase. Returns ``(phases, order)``: per phase, the indices of the input
    pixel each (output pixel, tap) reads (one past the last pixel where none
    does) and the kernel taps (row-major over the kernel); ``order``: each
    output pixel's row once the phases' outputs are concatenated.
    """
    (kernel_h, kernel_w), (stride_h, stride_w) = kernel, stride
    in_h, in_w, top, left = output_grid(height, width, kernel, stride, padding)
    phases, rows = [], []
    for phase_h in range(stride_h):
        for phase_w in range(stride_w):
            pixels = [(h, w) for h in range(height) for w in range(width)
                      if (h + top) % stride_h == phase_h and (w + left) % stride_w == phase_w]
            taps = [(kh, kw) for kh in range(phase_h, kernel_h, stride_h)
                    for kw in range(phase_w, kernel_w, stride_w)]
            if not pixels:
                continue
            indices = []
            for h, w in pixels:
                for kh, kw in taps:
                    source_h, source_w = (h + top - kh) // stride_h, (w + left - kw) // stride_w
                    inside = 0 <= source_h < in_h and 0 <= source_w < in_w
                    indices.append(source_h * in_w + source_w if inside else in_h * in_w)
            phases.append((np.array(indices), np.array([kh * kernel_w + kw for kh, kw in taps]),
                           len(pixels)))
            rows += [h * width + w for h, w in pixels]
    return phases, np.argsort(np.array(rows))


def conv2d_transpose_by_phase(inputs, kernel, strides, padding, output_size):
    """``tf.nn.conv2d_transpose`` (kernel HWOI) as one matrix product per phase
    (``transpose_phases``): each output summed in float32 and rounded once."""
    channels = inputs.shape[-1]
    kernel_h, kernel_w, filters, _ = kernel.shape
    phases, order = transpose_phases(*output_size, (kernel_h, kernel_w), tuple(strides), padding)
    pixels = flat_pixels_and_zero(inputs)
    taps = tf.transpose(tf.reshape(kernel, [kernel_h * kernel_w, filters, channels]), [0, 2, 1])
    outputs = []
    for indices, phase_taps, count in phases:
        if len(phase_taps) == 0:
            outputs.append(tf.zeros([tf.shape(inputs)[0], count, filters], inputs.dtype))
            continue
        fields = tf.reshape(tf.gather(pixels, indices, axis=1), [-1, len(phase_taps) * channels])
        weights = tf.reshape(tf.gather(taps, phase_taps), [-1, filters])
        outputs.append(tf.reshape(tf.matmul(fields, weights), [-1, count, filters]))
    outputs = tf.gather(tf.concat(outputs, axis=1), order, axis=1)
    return tf.reshape(outputs, [-1, *output_size, filters])


def conv2d_with_matrix_filter_gradient(inputs, kernel, strides, padding):
    """``tf.nn.conv2d`` whose kernel gradient, at every order, is ``filter_gradient``.

    The convolution and its input gradient stay TensorFlow's (oneDNN's) ops;
    the input gradient is ``conv2d_transpose_with_matrix_filter_gradient``,
    so a gradient penalty's double backward takes the same path.
    """
    strides, (_, height, width, channels) = tuple(strides), inputs.shape

    @tf.custom_gradient
    def convolve(x, w):
        outputs = tf.nn.conv2d(x, w, strides, padding.upper())
        output_shape = outputs.shape[1:]

        def gradient(output_gradient):
            output_gradient = tf.reshape(output_gradient, [-1, *output_shape])
            return (conv2d_transpose_with_matrix_filter_gradient(
                        output_gradient, w, strides, padding, (height, width)),
                    filter_gradient(x, output_gradient, w.shape, strides, padding))
        return outputs, gradient
    return convolve(inputs, kernel)


def conv2d_transpose_with_matrix_filter_gradient(inputs, kernel, strides, padding,
                                                 output_size):
    """``tf.nn.conv2d_transpose`` (kernel HWOI) to ``output_size`` whose kernel
    gradient, at every order, is ``filter_gradient``; its input gradient is
    ``conv2d_with_matrix_filter_gradient``. Where ``phases_apply``, the
    transposed convolution itself is ``conv2d_transpose_by_phase``."""
    strides, filters = tuple(strides), kernel.shape[2]

    @tf.custom_gradient
    def convolve(z, w):
        if phases_apply(z, filters):
            outputs = conv2d_transpose_by_phase(z, w, strides, padding, output_size)
        else:
            output_shape = [tf.shape(z)[0], *output_size, filters]
            outputs = tf.nn.conv2d_transpose(z, w, output_shape, strides, padding.upper())
            outputs = tf.ensure_shape(outputs, [None, *output_size, filters])

        def gradient(output_gradient):
            output_gradient = tf.reshape(output_gradient, [-1, *output_size, filters])
            return (conv2d_with_matrix_filter_gradient(output_gradient, w, strides, padding),
                    filter_gradient(output_gradient, z, w.shape, strides, padding))
        return outputs, gradient
    return convolve(inputs, kernel)


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


def filter_gradient_applies(inputs, pixels):
    """True when a convolution of NHWC ``inputs`` takes ``filter_gradient``.

    ``pixels`` as for ``matmul_applies``. Only in a 16-bit compute dtype,
    where oneDNN's filter gradient on small maps is slowest, and up to
    ``MAX_FILTER_GRADIENT_PIXELS`` pixels (16x16): on 32x32 maps oneDNN's
    was faster (``bench/results/layer_speed*.md``).
    """
    if len(inputs.shape) != 4 or pixels is None or inputs.shape[-1] is None:
        return False
    return inputs.dtype in (tf.bfloat16, tf.float16) and pixels <= MAX_FILTER_GRADIENT_PIXELS


def phases_apply(inputs, filters):
    """True when a transposed convolution of NHWC ``inputs`` to ``filters``
    channels runs as ``conv2d_transpose_by_phase``: in a 16-bit dtype, from
    maps up to ``MAX_PHASE_INPUT_PIXELS`` (4x4) with at least
    ``MIN_PHASE_CHANNEL_PRODUCT`` input x output channels, where oneDNN's
    bfloat16 kernel was slowest (a DCGAN generator's 4x4x512 -> 8x8x256
    layer: 2.2x faster by phase; 4x4x256 -> 8x8x128: 0.9x)."""
    if len(inputs.shape) != 4 or None in inputs.shape[1:]:
        return False
    return (inputs.dtype in (tf.bfloat16, tf.float16)
            and inputs.shape[1] * inputs.shape[2] <= MAX_PHASE_INPUT_PIXELS
            and inputs.shape[-1] * filters >= MIN_PHASE_CHANNEL_PRODUCT)


def keras_arguments_supported(layer):
    """True when a Keras convolution layer's arguments have a matrix-product path."""
    return (layer.data_format == "channels_last" and layer.padding in ("same", "valid")
            and tuple(layer.dilation_rate) == (1, 1) and getattr(layer, "groups", 1) == 1)


def map_pixels(shape):
    """Height x width of an NHWC ``shape``, ``None`` when either is unknown."""
    return None if shape[1] is None or shape[2] is None else shape[1] * shape[2]


# The layers' own switches (serialised): the whole matrix path on small maps, and
# where it is not taken, the kernel gradient alone as a matrix product.
OPTIONS = ("matrix_path", "matrix_filter_gradient")


class _MatrixPathConvolution:
    """What both layers share: the switches, and ``call``.

    ``matrix_path``: the whole convolution as matrix products where
    ``matmul_applies``. ``matrix_filter_gradient``: elsewhere, only the
    kernel's gradient as matrix products where ``filter_gradient_applies``
    (the forward and input gradient stay Keras'). Either way the bias and the
    activation follow. Each layer says which map the gather reads and which
    channels the main product runs over (``gather_size``).
    """

    def __init__(self, *args, matrix_path=True, matrix_filter_gradient=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.matrix_path = bool(matrix_path)
        self.matrix_filter_gradient = bool(matrix_filter_gradient)

    def get_config(self):
        return {**super().get_config(), "matrix_path": self.matrix_path,
                "matrix_filter_gradient": self.matrix_filter_gradient}

    def supports_matrix_products(self):
        """The layer's arguments have a matrix-product path."""
        return keras_arguments_supported(self)

    def takes_matrix_path(self, inputs):
        """True when this layer convolves ``inputs`` as matrix products."""
        return (self.matrix_path and self.supports_matrix_products()
                and matmul_applies(inputs, *self.gather_size(inputs)))

    def takes_matrix_filter_gradient(self, inputs):
        """True when only the kernel's gradient for ``inputs`` is matrix products."""
        return (self.matrix_filter_gradient and self.supports_matrix_products()
                and not self.takes_matrix_path(inputs)
                and filter_gradient_applies(inputs, self.gather_size(inputs)[0]))

    def call(self, inputs):
        if self.takes_matrix_path(inputs):
            outputs = self.matrix_products(inputs)
        elif self.takes_matrix_filter_gradient(inputs):
            outputs = self.convolution_with_matrix_filter_gradient(
                inputs, tf.cast(self.kernel, inputs.dtype))
        else:
            return super().call(inputs)
        if self.use_bias:
            outputs = add_bias(outputs, self.bias)
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package="tfgan_stable")
class Conv2D(_MatrixPathConvolution, keras.layers.Conv2D):
    """``keras.layers.Conv2D`` that convolves small inputs as matrix products.

    ``matrix_path=False`` keeps Keras' convolution forward for every input;
    with ``matrix_filter_gradient=False`` too, its gradients as well.
    """

    def gather_size(self, inputs):
        """The input map's pixels and the filters."""
        return map_pixels(inputs.shape), self.filters

    def matrix_products(self, inputs):
        return conv2d(inputs, self.kernel, self.strides, self.padding)

    def convolution_with_matrix_filter_gradient(self, inputs, kernel):
        return conv2d_with_matrix_filter_gradient(inputs, kernel, self.strides, self.padding)


@keras.saving.register_keras_serializable(package="tfgan_stable")
class Conv2DTranspose(_MatrixPathConvolution, keras.layers.Conv2DTranspose):
    """``keras.layers.Conv2DTranspose`` that convolves small inputs as matrix products.

    ``matrix_path=False`` keeps Keras' convolution forward for every input;
    with ``matrix_filter_gradient=False`` too, its gradients as well.
    """

    def supports_matrix_products(self):
        return self.output_padding is None and super().supports_matrix_products()

    def gather_size(self, inputs):
        """The output map's pixels (the gather's columns) and the input channels."""
        return map_pixels(self.compute_output_shape(inputs.shape)), inputs.shape[-1]

    def matrix_products(self, inputs):
        output_size = self.compute_output_shape(inputs.shape)[1:3]
        return conv2d_transpose(inputs, self.kernel, self.strides, self.padding, output_size)

    def convolution_with_matrix_filter_gradient(self, inputs, kernel):
        output_size = tuple(self.compute_output_shape(inputs.shape)[1:3])
        return conv2d_transpose_with_matrix_filter_gradient(
            inputs, kernel, self.strides, self.padding, output_size)
