"""The peer: a WGAN-GP written the way the popular Keras WGAN-GP example writes it.

What a user would write instead of the library, from these published facts
about that example (the code here is our own): a critic of 5x5 stride-2
convolutions with 64, 128, 256 and 512 filters, LeakyReLU 0.2, dropout 0.3
after the second and third and 0.2 before the dense output, on 28x28 images
zero-padded to 32x32; a generator of a dense layer to 4x4x256 with batch norm,
then three blocks of 2x up-sampling + 3x3 convolution + batch norm (LeakyReLU
0.2, the last tanh), cropped to 28x28; latent 128 from a standard normal; 3
critic steps that all reuse *one* real batch, interpolation weights drawn from
a standard normal (not U[0, 1]), penalty weight 10; Adam(2e-4, 0.5, 0.9) for
both networks; no generator average; ``fit`` with its defaults.

The benchmarks use it two ways: as the peer of ``bench/train_step_speed.py``
(its own train step against the library's ``WGANGP`` on the same networks),
and as the baseline of the real-image quality benchmark.
"""

import keras
import tensorflow as tf
from keras import layers

LATENT_DIM = 128
CRITIC_STEPS = 3
GP_WEIGHT = 10.0


def critic(image_shape=(28, 28, 1)):
    """5x5 stride-2 convolutions 64-128-256-512, LeakyReLU 0.2, dropout, dense output."""
    pad = (32 - image_shape[0]) // 2
    inputs = keras.Input(image_shape)
    x = layers.ZeroPadding2D(pad)(inputs) if pad else inputs
    for filters, dropout in ((64, 0.0), (128, 0.3), (256, 0.3), (512, 0.0)):
        x = layers.Conv2D(filters, 5, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    x = layers.Dropout(0.2)(layers.Flatten()(x))
    outputs = layers.Dense(1, dtype="float32")(x)
    return keras.Model(inputs, outputs, name="example_critic")


def generator(image_shape=(28, 28, 1), latent_dim=LATENT_DIM):
    """Dense to 4x4x256 + batch norm, three (up-sample, 3x3 conv, batch norm) blocks, crop."""
    inputs = keras.Input((latent_dim,))
    x = layers.Dense(4 * 4 * 256, use_bias=False)(inputs)
    x = layers.LeakyReLU(0.2)(layers.BatchNormalization()(x))
    x = layers.Reshape((4, 4, 256))(x)
    for filters in (128, 64, image_shape[-1]):
        x = layers.UpSampling2D(2)(x)
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = (layers.Activation("tanh", dtype="float32")(x) if filters == image_shape[-1]
             else layers.LeakyReLU(0.2)(x))
    crop = (32 - image_shape[0]) // 2
    outputs = layers.Cropping2D(crop)(x) if crop else x
    return keras.Model(inputs, outputs, name="example_generator")


def optimizer(learning_rate=2e-4):
    return keras.optimizers.Adam(learning_rate, beta_1=0.5, beta_2=0.9)


class ExampleWGANGP(keras.Model):
    """The example's train step: 3 critic steps on one real batch, then one generator step."""

    def __init__(self, generator_net, critic_net, latent_dim=LATENT_DIM, alpha="normal",
                 reuse_real=True, critic_steps=CRITIC_STEPS):
        """``alpha``, ``reuse_real`` and ``critic_steps`` switch one of the example's
        choices at a time (``"uniform"``, ``False``: the WGAN-GP paper's); with
        ``reuse_real=False`` each element of the data holds ``critic_steps`` real
        batches (``[batch, critic_steps, ...]``, :func:`tfgan_stable.data.make_dataset`).
        """
        super().__init__()
        if alpha not in ("normal", "uniform"):
            raise ValueError(f"alpha must be 'normal' or 'uniform'. Received: alpha={alpha!r}")
        self.generator, self.discriminator, self.latent_dim = generator_net, critic_net, latent_dim
        self.alpha, self.reuse_real, self.critic_steps = alpha, reuse_real, critic_steps

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer or optimizer(), g_optimizer or optimizer()

    def gradient_penalty(self, real, fake):
        shape = [tf.shape(real)[0], 1, 1, 1]
        alpha = (tf.random.normal(shape, 0.0, 1.0) if self.alpha == "normal"  # the example's
                 else tf.random.uniform(shape))  # the paper's
        mixed = real + alpha * (fake - real)
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            scores = self.discriminator(mixed, training=True)
        grads = tape.gradient(scores, [mixed])[0]
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
        return tf.reduce_mean((norm - 1.0) ** 2)

    def train_step(self, data):
        batch = tf.shape(data)[0]
        for step in range(self.critic_steps):  # the example: the same real batch each time
            real = data if self.reuse_real else data[:, step]
            z = tf.random.normal((batch, self.latent_dim))
            with tf.GradientTape() as tape:
                fake = self.generator(z, training=True)
                fake_scores = self.discriminator(fake, training=True)
                real_scores = self.discriminator(real, training=True)
                d_cost = tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores)
                d_loss = d_cost + GP_WEIGHT * self.gradient_penalty(real, fake)
            weights = self.discriminator.trainable_variables
            self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, weights), weights))
        z = tf.random.normal((batch, self.latent_dim))
        with tf.GradientTape() as tape:
            g_loss = -tf.reduce_mean(
                self.discriminator(self.generator(z, training=True), training=True))
        weights = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, weights), weights))
        return {"d_loss": d_loss, "g_loss": g_loss}
