"""Spectral normalisation of a layer's kernel, as SNGAN trains it.

Miyato, Kataoka, Koyama, Yoshida 2018, "Spectral Normalization for Generative
Adversarial Networks" (arXiv 1802.05957): each layer of the discriminator
computes with ``W / sigma(W)``, ``sigma`` the kernel's largest singular value,
estimated by one power iteration per training step from a vector ``u`` that
persists across steps (their Algorithm 1). The gradient is that of the
reparametrised kernel ``W / sigma(W)``: it flows through ``sigma`` too (their
eq. 12, with ``u`` and ``v`` taken as constants).

How ``SpectralNorm`` differs from ``keras.layers.SpectralNormalization``:

* Keras writes ``W / sigma`` back into the kernel variable on every training
  call, so the optimizer updates the normalised kernel and the stored weights
  shrink step after step. Here the kernel variable holds the unnormalised
  ``W``; the wrapped layer computes with ``W / sigma`` for the call only.
* Keras stops the gradient through ``sigma``; here it flows through ``W`` in
  ``sigma`` (the paper's reparametrisation).
* Keras runs a power iteration on every training call: twice a step when the
  critic scores reals and fakes in two calls. Here ``update_in_call=False``
  leaves ``u`` to ``update_u()``, which a GAN's train step calls once per
  critic step; ``update_in_call=True`` (the default) updates on each training
  call, for a model outside the library's GANs.
* ``sigma`` and ``u`` are float32 under any dtype policy, and ``u`` may be
  assigned in a replica context (``aggregation="only_first_replica"``).

The kernel is viewed as a matrix ``M`` of shape ``[rows, out]``, ``out`` its
output channels (the last axis of a Dense or Conv2D kernel, the second to last
of a transposed convolution's) and ``rows`` the product of the other axes.
``u`` (shape ``[out]``) estimates ``M``'s leading right singular vector, and
``sigma = ||M u||`` (the paper's ``||W^T u||`` with ``W = M^T``).
"""

import operator

import keras
import tensorflow as tf
from keras.src.backend import AutocastScope  # no public way to read a variable un-autocast

EPSILON = 1e-12

# Keras' transposed convolutions store their kernel as (..., out_channels, in_channels).
_TRANSPOSED_CONVOLUTIONS = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose,
                            keras.layers.Conv3DTranspose)


def _squared_norm(x):
    return tf.reduce_sum(tf.square(x))


def _normalize(x):
    """``x / max(||x||, EPSILON)``: a zero vector stays zero, never NaN."""
    return x * tf.math.rsqrt(tf.maximum(_squared_norm(x), EPSILON**2))


def _unit_normal(shape, dtype=None):
    """A normal draw scaled to unit length (``u``'s initial value)."""
    del dtype  # u is float32 under every policy
    return _normalize(keras.initializers.RandomNormal(stddev=1.0)(shape, dtype="float32"))


def _kernel_attribute(layer):
    """The name of the attribute of ``layer`` that holds its kernel variable.

    ``layer.kernel`` is a plain attribute of Keras' convolutions and a property
    over ``_kernel`` of its Dense; the variable is looked up in the layer's
    attributes rather than assumed from its type.

    Raises:
      ValueError: ``layer`` has no kernel variable.
    """
    try:
        kernel = layer.kernel
    except AttributeError:
        kernel = None
    if isinstance(kernel, keras.Variable):
        for name, value in vars(layer).items():
            if value is kernel:
                return name
    raise ValueError(
        "layer must have a kernel variable (Dense, Conv2D, Conv2DTranspose, ...) for "
        f"SpectralNorm. Received: layer={layer.name!r} ({type(layer).__name__}), "
        f"whose kernel is {type(kernel).__name__}")


def _output_axis(layer, kernel):
    """The axis of ``kernel`` that holds ``layer``'s output channels.

    Raises:
      ValueError: the axis does not match ``layer.filters`` / ``layer.units``.
    """
    rank = len(kernel.shape)
    axis = rank - 2 if isinstance(layer, _TRANSPOSED_CONVOLUTIONS) else rank - 1
    outputs = getattr(layer, "filters", None) or getattr(layer, "units", None)
    if axis < 0 or (outputs is not None and kernel.shape[axis] != outputs):
        raise ValueError(
            f"SpectralNorm: cannot find the output channels of layer {layer.name!r} "
            f"({type(layer).__name__}) in its kernel of shape {tuple(kernel.shape)}")
    return axis


@keras.saving.register_keras_serializable(package="tfgan_stable")
class SpectralNorm(keras.layers.Wrapper):
    """Wraps a layer with a kernel so that it computes with ``kernel / sigma``.

    ``sigma`` is the kernel's spectral norm as estimated from the stored
    vector ``u`` (``||M u||``, module docstring), in float32; the gradient
    flows through it. Nothing is written into the kernel variable.

    Args:
      layer: a built or unbuilt layer with a ``kernel`` variable: Dense,
        Conv1D/2D/3D, their transposes, or subclasses of them such as
        ``tfgan_stable.fast.small_conv.Conv2D``.
      power_iterations: power iterations per ``update_u()``, an int >= 1.
      update_in_call: whether a call with ``training=True`` first runs
        ``update_u()``. The library's GANs set it to False and call
        ``update_u()`` once per critic step themselves. May be changed after
        construction, before the call is traced.
      **kwargs: Keras layer arguments (``name``, ``dtype``...). ``dtype``
        defaults to the wrapped layer's dtype policy.

    Raises:
      ValueError: a bad argument, or (when built) a layer without a kernel.
    """

    def __init__(self, layer, power_iterations=1, update_in_call=True, **kwargs):
        if isinstance(layer, keras.layers.Layer):
            kwargs.setdefault("dtype", layer.dtype_policy)
        super().__init__(layer, **kwargs)
        if isinstance(power_iterations, bool):
            raise ValueError("power_iterations must be an int >= 1. "
                             f"Received: power_iterations={power_iterations!r}")
        try:
            power_iterations = operator.index(power_iterations)
        except TypeError:
            raise ValueError("power_iterations must be an int >= 1. "
                             f"Received: power_iterations={power_iterations!r}") from None
        if power_iterations < 1:
            raise ValueError("power_iterations must be >= 1. "
                             f"Received: power_iterations={power_iterations}")
        if not isinstance(update_in_call, bool):
            raise ValueError("update_in_call must be True or False. "
                             f"Received: update_in_call={update_in_call!r}")
        if getattr(layer, "quantization_mode", None) is not None:
            raise ValueError("SpectralNorm cannot wrap a quantized layer. Received: "
                             f"layer={layer.name!r} (quantization_mode="
                             f"{layer.quantization_mode!r})")
        self.power_iterations = power_iterations
        self.update_in_call = update_in_call
        if layer.built:
            _kernel_attribute(layer)  # refuse a layer without a kernel now

    def build(self, input_shape=None):
        super().build(input_shape)
        self._kernel_name = _kernel_attribute(self.layer)
        kernel = getattr(self.layer, self._kernel_name)
        self._output_axis = _output_axis(self.layer, kernel)
        self._outputs = int(kernel.shape[self._output_axis])
        self.u = self.add_weight(
            name="u", shape=(self._outputs,), dtype="float32", initializer=_unit_normal,
            trainable=False, autocast=False, aggregation="only_first_replica")

    def _kernel_float32(self):
        """The kernel variable's value in float32, read without autocasting."""
        variable = getattr(self.layer, self._kernel_name)
        with AutocastScope(None):  # the call's scope would read it in bfloat16
            return tf.cast(variable.value, tf.float32)

    def _matrix(self, kernel):
        """``kernel`` as the ``[rows, out]`` matrix ``M``."""
        rank = len(kernel.shape)
        if self._output_axis != rank - 1:
            order = [i for i in range(rank) if i != self._output_axis] + [self._output_axis]
            kernel = tf.transpose(kernel, order)
        return tf.reshape(kernel, [-1, self._outputs])

    def update_u(self):
        """``power_iterations`` power iterations on ``u``, assigned to it; returns it.

        Per iteration ``v = normalize(M u)``, ``u = normalize(M^T v)``, in
        float32. Where ``M^T v`` is zero (a zero kernel) ``u`` is kept.
        """
        matrix = tf.stop_gradient(self._matrix(self._kernel_float32()))
        u = tf.convert_to_tensor(self.u.value)
        new_u = u
        for _ in range(self.power_iterations):
            v = _normalize(tf.linalg.matvec(matrix, new_u))
            product = tf.linalg.matvec(matrix, v, transpose_a=True)
            new_u = _normalize(product)
        new_u = tf.where(_squared_norm(product) > EPSILON**2, new_u, u)
        self.u.assign(new_u)
        return new_u

    def _sigma_and_kernel(self):
        kernel = self._kernel_float32()
        u = tf.stop_gradient(tf.convert_to_tensor(self.u.value))
        squared = _squared_norm(tf.linalg.matvec(self._matrix(kernel), u))
        sigma = tf.sqrt(tf.maximum(squared, EPSILON**2))
        return sigma, kernel, squared > EPSILON**2

    def sigma(self):
        """The spectral norm estimate ``||M u||`` from the stored ``u`` (float32).

        Does not change ``u``; differentiable in the kernel.
        """
        return self._sigma_and_kernel()[0]

    def normalized_kernel(self):
        """``kernel / sigma`` in float32, the kernel the wrapped layer computes with.

        A kernel whose estimate is below 1e-12 (a zero kernel) is used as it is.
        """
        sigma, kernel, nonzero = self._sigma_and_kernel()
        return kernel / tf.where(nonzero, sigma, tf.ones_like(sigma))

    def call(self, inputs, training=None):
        if training and self.update_in_call:
            self.update_u()
        kernel = tf.cast(self.normalized_kernel(), self.layer.compute_dtype)
        name = self._kernel_name
        variable = getattr(self.layer, name)
        # Substituted for the call only; object.__setattr__ bypasses Keras' tracking.
        object.__setattr__(self.layer, name, kernel)
        try:
            return self.layer(inputs, training=training)
        finally:
            object.__setattr__(self.layer, name, variable)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def compute_output_spec(self, inputs, *args, **kwargs):
        return self.layer.compute_output_spec(inputs)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations,
                "update_in_call": self.update_in_call}


def spectral_norm_layers(model):
    """Every ``SpectralNorm`` layer in ``model`` (a model or layer, itself
    included), nested models and layers too, each once.

    In depth-first order over each model's layers as Keras lists them (a
    functional model's in topological order), a stable order from which
    a GAN's train step can update them.
    """
    found, seen = [], set()

    def visit(layer):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if isinstance(layer, SpectralNorm):
            found.append(layer)
        for child in layer._flatten_layers(include_self=False, recursive=False):
            visit(child)

    visit(model)
    return found


def maybe_spectral_norm(layer, enabled):
    """``layer`` wrapped in ``SpectralNorm`` named ``<layer name>_sn`` when
    ``enabled``, else ``layer`` (the builders' ``spectral_norm`` option)."""
    if not isinstance(enabled, bool):
        raise ValueError("spectral_norm must be True or False. "
                         f"Received: spectral_norm={enabled!r}")
    return SpectralNorm(layer, name=f"{layer.name}_sn") if enabled else layer
