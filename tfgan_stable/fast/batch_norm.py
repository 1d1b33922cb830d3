"""Batch normalisation (Ioffe, Szegedy 2015, arXiv 1502.03167) in one fused op.

Keras 3's ``BatchNormalization`` computes a training step's moments and the
normalisation from separate element-wise ops, each one a pass over the
activations, and under mixed precision it first casts bfloat16 activations to
float32 and the result back. On CPUs those passes, not the convolutions, are
where a bfloat16 DCGAN step spends much of its time (``bench/step_profile.py``).
TensorFlow's ``FusedBatchNormV3`` (oneDNN on CPU, cuDNN on GPU) computes the
same thing in one pass, reads bfloat16 and float16 directly and accumulates in
float32, and TensorFlow's graph optimiser fuses a following ReLU into it.

``FusedBatchNormalization`` is Keras' layer with that op on its training path.
Same weights and variable names (checkpoints load either way), same
arguments, same results up to float rounding: the batch variance normalises,
the moving variance is updated with the biased batch variance as in Keras.
Keras' own computation is kept where the fused op does not apply: at inference
(the moving statistics), under a ``tf.distribute`` strategy with more than one
replica in sync when ``synchronized=True`` (the moments must be all-reduced),
with a mask, with batch renormalisation, on axes other than the last, on
inputs that are not 2-D or 4-D, and with ``epsilon`` below the op's minimum.
"""

import keras
import tensorflow as tf

# FusedBatchNormV3 refuses a smaller epsilon (cuDNN's CUDNN_BN_MIN_EPSILON).
MIN_FUSED_EPSILON = 1.001e-5


@keras.saving.register_keras_serializable(package="tfgan_stable")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` whose training step is one fused op."""

    def fused_applies(self, inputs, training, mask):
        """True when this call's training-mode batch norm can be the fused op."""
        if not (training and self.trainable) or mask is not None or self.renorm:
            return False
        if len(inputs.shape) not in (2, 4) or self.axis not in (-1, len(inputs.shape) - 1):
            return False
        if self.epsilon < MIN_FUSED_EPSILON or inputs.dtype not in (tf.float32, tf.bfloat16,
                                                                       tf.float16):
            return False
        if self.synchronized:
            replica_context = tf.distribute.get_replica_context()
            if replica_context is None or replica_context.num_replicas_in_sync > 1:
                return False
        return True

    def call(self, inputs, training=None, mask=None):
        if not self.fused_applies(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        images = tf.reshape(inputs, [-1, 1, 1, channels]) if len(inputs.shape) == 2 else inputs
        ones, zeros = tf.ones([channels], tf.float32), tf.zeros([channels], tf.float32)
        outputs, mean, variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=images,
            scale=tf.cast(self.gamma, tf.float32) if self.scale else ones,
            offset=tf.cast(self.beta, tf.float32) if self.center else zeros,
            mean=tf.constant([], tf.float32),
            variance=tf.constant([], tf.float32),
            epsilon=self.epsilon,
            exponential_avg_factor=1.0,
            data_format="NHWC",
            is_training=True,
        )
        # The op returns the unbiased (n / (n - 1)) batch variance for the
        # moving average; Keras averages the biased one.
        count = tf.cast(tf.size(images) // channels, tf.float32)
        variance = variance * ((count - 1.0) / tf.maximum(count, 1.0))
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(self.moving_variance * momentum + variance * (1.0 - momentum))
        outputs = tf.reshape(outputs, tf.shape(inputs)) if len(inputs.shape) == 2 else outputs
        return tf.cast(outputs, self.compute_dtype)
