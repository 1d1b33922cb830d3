"""``tf.distribute`` for GANs: strategies, replica-aware loss scaling and noise.

:func:`make_strategy` turns ``train.strategy`` into a strategy;
:func:`mixed_precision` sets a Keras dtype policy for the networks built in
its block.

Keras optimizers sum gradients over replicas, so each replica's mean loss is
divided by the number of replicas before ``tape.gradient`` (what Keras' own
``train_step`` does). Loss trackers record the unscaled value.
"""

import contextlib
import json
import os

import keras
import tensorflow as tf

from tfgan_stable.config import STRATEGIES
from tfgan_stable.errors import ConfigError



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


def in_multi_worker_mode():
    """Whether the current strategy is a ``MultiWorkerMirroredStrategy`` over several workers."""
    strategy = tf.distribute.get_strategy()
    extended = strategy.extended
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and getattr(extended, "_in_multi_worker_mode", lambda: False)())


def replica_slice(draw, batch_size):
    """This replica's share of a draw made for the whole global batch.

    ``draw(n)`` returns ``n`` random rows. Every replica makes the same draw
    for ``batch_size * num_replicas`` rows from the same seed state and keeps
    the rows of its own position in the global batch, the way
    ``tf.distribute`` splits a dataset's batches. Training on N replicas then
    sees the noise one device would see at the same global batch and seed.
    """
    context = tf.distribute.get_replica_context()
    replicas = 1 if context is None else context.num_replicas_in_sync
    if replicas == 1:
        return draw(batch_size)
    rows = draw(batch_size * replicas)
    start = tf.cast(context.replica_id_in_sync_group, tf.int32) * tf.cast(batch_size, tf.int32)
    return rows[start:start + batch_size]


def make_strategy(name="default", devices=(), tpu=""):
    """The ``tf.distribute.Strategy`` that ``train.strategy`` names.

    Args:
      name: ``default`` (the current strategy: one device), ``mirrored``
        (``MirroredStrategy`` over ``devices``, or all local GPUs),
        ``multi_worker`` (``MultiWorkerMirroredStrategy``; the cluster comes
        from the ``TF_CONFIG`` environment variable) or ``tpu``.
      devices: device names for ``mirrored``, e.g. ``["/gpu:0", "/gpu:1"]``.
      tpu: the TPU address or name for ``tpu`` (empty: the local TPU).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(list(devices) or None)
    if name == "multi_worker":
        cluster = os.environ.get("TF_CONFIG")
        if cluster:
            try:
                json.loads(cluster)
            except ValueError as error:
                raise ConfigError(f"train.strategy=multi_worker: TF_CONFIG is not valid JSON "
                                  f"({error})") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, RuntimeError, tf.errors.OpError) as error:
            raise RuntimeError(f"train.strategy=tpu: no TPU found at train.tpu={tpu!r} "
                               f"({error})") from None
        return tf.distribute.TPUStrategy(resolver)
    raise ConfigError(f"train.strategy must be one of {', '.join(STRATEGIES)}; got {name!r}")


def is_chief(strategy):
    """Whether this process writes the run's shared files (backups, export).

    True outside multi-worker training; in a cluster, for the ``chief`` task,
    or ``worker`` 0 when the cluster has no chief.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def worker_name(strategy):
    """``<task_type>_<task_id>`` of this process in a cluster, else None."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return None
    return f"{resolver.task_type}_{resolver.task_id}"


@contextlib.contextmanager
def mixed_precision(policy):
    """Sets the Keras dtype policy (None: leave it) and restores the previous one after."""
    if policy is None:
        yield
        return
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)
