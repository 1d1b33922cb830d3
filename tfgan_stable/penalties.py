"""Regularisers that call the critic.

References: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs"
(WGAN-GP, arXiv 1704.00028), Algorithm 1; Mescheder et al. 2018, "Which
Training Methods for GANs do actually Converge?" (arXiv 1801.04406), R1 and
R2; Huang et al. 2024 (R3GAN, arXiv 2501.05441), both together.
"""

import keras
from keras import ops


def random_interpolates(real, fake, seed=None, alpha=None):
    """Points on straight lines between real and fake samples.

    One ``alpha ~ U[0, 1]`` per example (Algorithm 1, line 4), broadcast over
    all other axes. Pass ``alpha`` (shape ``[batch]``) to choose the draw
    yourself; a GAN under a ``tf.distribute`` strategy does, so that each
    replica takes its rows of one draw for the global batch.

    Returns:
      ``(interpolates, alpha)`` where ``alpha`` has shape ``[batch, 1, ...]``.
    """
    ones = (1,) * (len(real.shape) - 1)
    if alpha is None:
        alpha = keras.random.uniform((ops.shape(real)[0],), 0.0, 1.0, dtype="float32",
                                     seed=seed)
    alpha = ops.cast(ops.reshape(alpha, (-1,) + ones), real.dtype)
    return real + alpha * (fake - real), alpha


def gradient_penalty(critic, real, fake, seed=None, epsilon=1e-10, training=True, alpha=None):
    """Two-sided penalty ``E[(||grad_x D(x_hat)||_2 - 1)^2]`` on interpolates.

    ``epsilon`` sits inside the square root so that a zero gradient (a flat
    critic) yields a finite gradient of the penalty instead of NaN.

    Args:
      critic: a callable Keras model returning one score per example.
      real, fake: batches of the same shape.
      seed: a ``keras.random.SeedGenerator`` (or int) for alpha.
      epsilon: added to the squared norm before the square root.
      training: passed to the critic.
      alpha: the interpolation weights, ``[batch]`` (default: drawn from ``seed``).

    Returns:
      ``(penalty, mean_gradient_norm)``, both float32 scalars (also under a
      mixed-precision policy).
    """
    import tensorflow as tf  # the penalty needs a nested tape: TF backend only

    real, fake = ops.cast(real, "float32"), ops.cast(fake, "float32")
    interpolates, _ = random_interpolates(real, fake, seed, alpha)
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        scores = ops.cast(critic(interpolates, training=training), "float32")
    grads = ops.cast(tape.gradient(scores, interpolates), "float32")
    axes = list(range(1, len(grads.shape)))
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=axes) + epsilon)
    return ops.mean(ops.square(norms - 1.0)), ops.mean(norms)


def zero_centered_penalty(critic, samples, training=True, samples_per_input=1):
    """``E[||grad_x D(x)||_2^2]`` at ``samples``: R1 on real samples, R2 on fakes.

    Mescheder 2018 (eq. 9-10) weight it ``gamma / 2``; the caller does.

    Args:
      critic: a callable from ``samples`` to one score per critic input; it may
        transform them first (augment, pack), the gradient is taken through it.
      samples: the batch at which the gradient is taken.
      training: passed to ``critic`` when it is a Keras model.
      samples_per_input: samples in one critic input (PacGAN's pack): the
        squared norm is summed over a pack's samples, one term per input.

    Returns:
      The penalty as a float32 scalar (also under a mixed-precision policy).
    """
    import tensorflow as tf  # the penalty needs a nested tape: TF backend only

    samples = tf.identity(tf.cast(samples, "float32"))  # a tensor the tape can watch
    with tf.GradientTape() as tape:
        tape.watch(samples)
        # each score depends on its own sample: one backward pass for the batch
        scores = (critic(samples, training=training) if isinstance(critic, keras.Model)
                  else critic(samples))
        total = ops.sum(ops.cast(scores, "float32"))
    return mean_squared_gradient_norm(tape.gradient(total, samples), samples_per_input)


def mean_squared_gradient_norm(gradients, samples_per_input=1):
    """``E[||g||_2^2]`` over a batch of per-sample gradients ``g`` of the critic's
    scores: the zero-centred penalty once the gradient is taken (a caller that has
    recorded the critic's pass on its own tape takes it there, at no second pass).

    Args:
      gradients: ``[batch, ...]``, the gradient of the summed scores at the samples.
      samples_per_input: as in :func:`zero_centered_penalty`.

    Returns:
      A float32 scalar.
    """
    gradients = ops.cast(gradients, "float32")
    axes = list(range(1, len(gradients.shape)))
    return ops.mean(ops.sum(ops.square(gradients), axis=axes)) * samples_per_input
