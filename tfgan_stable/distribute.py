"""Replica-aware loss scaling for custom train steps under ``tf.distribute``.

Keras optimizers sum gradients over replicas, so each replica's mean loss is
divided by the number of replicas before ``tape.gradient`` (what Keras' own
``train_step`` does). Loss trackers record the unscaled value.
"""

import tensorflow as tf


def num_replicas():
    """Replicas of the strategy in scope (1 outside any strategy)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def scale_loss(loss, optimizer=None):
    """Scales a per-replica mean loss for gradient computation.

    Divides by the replica count, then applies the optimizer's dynamic loss
    scale when it is a ``keras.optimizers.LossScaleOptimizer`` (mixed float16).
    """
    replicas = num_replicas()
    if replicas > 1:
        loss = loss / tf.cast(replicas, loss.dtype)
    if optimizer is not None and hasattr(optimizer, "scale_loss"):
        loss = optimizer.scale_loss(loss)
    return loss


def mean_over_replicas(value):
    """The mean of a per-replica value over all replicas, identical on every replica.

    Inside ``strategy.run`` this is an all-reduce; outside any strategy it is
    the value itself.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.MEAN, value)
