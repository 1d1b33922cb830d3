"""Peers: a DCGAN and a conditional GAN written the way the popular Keras examples write them.

What a user would write instead of the library for colour images, from these
published facts about two keras.io examples (the code here is our own):

``ExampleDCGAN`` follows "DCGAN to generate face images" (CelebA at 64x64):

* discriminator: 4x4 stride-2 convolutions of 64, 128 and 128 filters, each
  followed by LeakyReLU 0.2, then ``Flatten``, ``Dropout(0.2)`` and a dense
  sigmoid output;
* generator: latent 128 from a standard normal, ``Dense`` to 8x8x128,
  ``Reshape``, 4x4 stride-2 transposed convolutions of 128, 256 and 512
  filters with LeakyReLU 0.2, and a 5x5 convolution to 3 channels with a
  sigmoid;
* a custom ``train_step``: one discriminator update on the generated and real
  batches concatenated (generated labelled 1, real 0, both labels plus 0.05 x
  U[0, 1) noise), then one generator update towards label 0 on a fresh latent
  batch; ``BinaryCrossentropy`` on the probabilities; ``Adam(1e-4)`` (Keras'
  other defaults) for both networks; batch 32; no generator average.

``ExampleCGAN`` follows "Conditional GAN" (MNIST at 28x28):

* the one-hot label is concatenated to the 128-D latent vector for the
  generator and joined to the image as ``num_classes`` extra channels for the
  discriminator;
* discriminator: 3x3 stride-2 convolutions of 64 and 128 filters with
  LeakyReLU 0.2, ``GlobalMaxPooling2D`` and a dense logit;
* generator: ``Dense`` to (side/4)^2 x (latent + classes) with LeakyReLU 0.2,
  ``Reshape``, two 4x4 stride-2 transposed convolutions of 128 filters with
  LeakyReLU 0.2, a 7x7 convolution with a sigmoid;
* ``train_step`` as the DCGAN's (generated 1, real 0) but without the label
  noise, the generator step reusing the batch's labels; ``BinaryCrossentropy``
  on logits; ``Adam(3e-4)`` for both networks; batch 64.
* The label channels are made the example's way: the one-hot ``[B, C, 1, 1]``
  repeated ``side * side`` times along a flattened axis and reshaped to
  ``[B, side, side, C]``. That reshape lays each class out as a band of rows
  across all ``C`` channels rather than one constant channel per class (it
  still tells the critic the class); ``label_map="broadcast"`` makes the
  constant channels instead.

What had to change:

* resolution and channels: both examples are sized for one data set (64x64 RGB
  faces; 28x28 grey digits); here their layer stacks are kept and sized for
  32x32 or 64x64 RGB: the DCGAN generator starts at (side/8)^2 x 128 (8x8 at
  64, 4x4 at 32) so its three 2x transposed convolutions reach the side, the
  discriminator is unchanged (4x4 or 8x8 x 128 before ``Flatten``); the
  conditional generator starts at (side/4)^2 and ends in 3 channels;
* the data: the examples rescale pixels to [0, 1] (sigmoid outputs); the
  library's pipeline gives [-1, 1], so the train steps map real images to
  [0, 1] and :meth:`generate_numpy` maps samples back to [-1, 1];
* labels arrive as class indices (``make_dataset`` of ``(image, label)``
  pairs) and are one-hot encoded in the step;
* the output layers compute in float32 (``dtype="float32"``) so that the
  networks also run under ``mixed_bfloat16`` (the examples run in float32,
  which is the default here);
* both examples call the networks without ``training=``; under Keras 3 that
  leaves the DCGAN discriminator's dropout off inside ``train_step`` (measured:
  a ``Dropout(0.5)`` zeroes nothing there). Kept as written;
  ``training_flag=True`` passes ``training=True`` instead.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

LATENT_DIM = 128
DCGAN_BATCH = 32
CGAN_BATCH = 64
DCGAN_LEARNING_RATE = 1e-4
CGAN_LEARNING_RATE = 3e-4


def _check_side(resolution, divisor):
    if resolution % divisor or resolution < divisor:
        raise ValueError(f"resolution must be a multiple of {divisor}. "
                         f"Received: resolution={resolution}")


def dcgan_discriminator(resolution, channels=3):
    """4x4 stride-2 convolutions 64-128-128, LeakyReLU 0.2, Flatten, Dropout 0.2, sigmoid."""
    _check_side(resolution, 8)
    return keras.Sequential([
        keras.Input((resolution, resolution, channels)),
        layers.Conv2D(64, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(128, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(128, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Flatten(),
        layers.Dropout(0.2),
        layers.Dense(1, activation="sigmoid", dtype="float32"),
    ], name="example_dcgan_discriminator")


def dcgan_generator(resolution, channels=3, latent_dim=LATENT_DIM):
    """Dense to (side/8)^2 x 128, transposed convolutions 128-256-512, 5x5 sigmoid conv."""
    _check_side(resolution, 8)
    start = resolution // 8
    return keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Dense(start * start * 128),
        layers.Reshape((start, start, 128)),
        layers.Conv2DTranspose(128, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(256, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(512, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(channels, kernel_size=5, padding="same", activation="sigmoid",
                      dtype="float32"),
    ], name="example_dcgan_generator")


def cgan_discriminator(resolution, num_classes, channels=3):
    """Image plus ``num_classes`` label channels -> 3x3 stride-2 convs 64-128, global max
    pooling, a dense logit."""
    _check_side(resolution, 4)
    return keras.Sequential([
        keras.Input((resolution, resolution, channels + num_classes)),
        layers.Conv2D(64, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(128, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.GlobalMaxPooling2D(),
        layers.Dense(1, dtype="float32"),
    ], name="example_cgan_discriminator")


def cgan_generator(resolution, num_classes, channels=3, latent_dim=LATENT_DIM):
    """[z, one-hot] -> Dense to (side/4)^2 x (latent + classes), two transposed convs of 128,
    a 7x7 sigmoid convolution."""
    _check_side(resolution, 4)
    start, width = resolution // 4, latent_dim + num_classes
    return keras.Sequential([
        keras.Input((width,)),
        layers.Dense(start * start * width),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Reshape((start, start, width)),
        layers.Conv2DTranspose(128, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(128, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(channels, (7, 7), padding="same", activation="sigmoid", dtype="float32"),
    ], name="example_cgan_generator")


def _training(flag):
    return {"training": True} if flag else {}


class _ExampleGAN(keras.Model):
    """What both peers share: trackers, compile, sampling in the library's [-1, 1]."""

    num_classes = 0

    def __init__(self, generator, discriminator, latent_dim=LATENT_DIM, seed=1337,
                 training_flag=False):
        super().__init__()
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.training_flag = training_flag
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def compile(self, d_optimizer, g_optimizer, loss_fn, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn

    def _apply(self, tape, loss, network, optimizer):
        weights = network.trainable_weights
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))

    def generator_input(self, z, labels):
        return z

    def generate_numpy(self, count, seed=0, labels=None, batch_size=500):
        """``count`` samples in [-1, 1] for latent vectors from ``numpy`` rng ``seed``;
        a conditional peer makes them for ``labels`` (None: the classes in turn)."""
        z = np.random.default_rng(seed).normal(size=(count, self.latent_dim)).astype("float32")
        if self.num_classes:
            labels = (np.arange(count) % self.num_classes if labels is None
                      else np.broadcast_to(np.asarray(labels), (count,)))
            labels = labels.astype("int32")
        parts = []
        for i in range(0, count, batch_size):
            inputs = self.generator_input(
                z[i:i + batch_size], None if labels is None else labels[i:i + batch_size])
            parts.append(np.asarray(ops.convert_to_numpy(self.generator(inputs,
                                                                        training=False))))
        return (np.concatenate(parts).astype("float32") * 2.0 - 1.0).clip(-1.0, 1.0)


class ExampleDCGAN(_ExampleGAN):
    """The DCGAN example's train step (see the module docstring)."""

    def train_step(self, real_images):
        real_images = (real_images + 1.0) / 2.0  # the example's data: pixels / 255
        kw = _training(self.training_flag)
        batch_size = ops.shape(real_images)[0]
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        generated_images = self.generator(z, **kw)
        combined_images = ops.concatenate([generated_images, real_images], axis=0)
        labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0)
        labels += 0.05 * tf.random.uniform(tf.shape(labels))  # the example's label noise
        with tf.GradientTape() as tape:
            predictions = self.discriminator(combined_images, **kw)
            d_loss = self.loss_fn(labels, predictions)
        self._apply(tape, d_loss, self.discriminator, self.d_optimizer)
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        misleading_labels = ops.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            predictions = self.discriminator(self.generator(z, **kw), **kw)
            g_loss = self.loss_fn(misleading_labels, predictions)
        self._apply(tape, g_loss, self.generator, self.g_optimizer)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


class ExampleCGAN(_ExampleGAN):
    """The Conditional GAN example's train step (see the module docstring)."""

    def __init__(self, generator, discriminator, num_classes, image_size, latent_dim=LATENT_DIM,
                 seed=1337, training_flag=False, label_map="example"):
        super().__init__(generator, discriminator, latent_dim, seed, training_flag)
        if label_map not in ("example", "broadcast"):
            raise ValueError(f"label_map must be 'example' or 'broadcast'. "
                             f"Received: label_map={label_map!r}")
        self.num_classes, self.image_size, self.label_map = num_classes, image_size, label_map

    def generator_input(self, z, labels):
        one_hot = ops.one_hot(ops.convert_to_tensor(labels, "int32"), self.num_classes)
        return ops.concatenate([ops.convert_to_tensor(z, "float32"), one_hot], axis=1)

    def label_channels(self, one_hot_labels):
        """``[B, C]`` one-hot -> ``[B, side, side, C]``: the example's repeat-and-reshape, or
        a constant channel per class (``label_map="broadcast"``)."""
        side, classes = self.image_size, self.num_classes
        if self.label_map == "broadcast":
            return ops.broadcast_to(one_hot_labels[:, None, None, :],
                                    (ops.shape(one_hot_labels)[0], side, side, classes))
        image_one_hot_labels = one_hot_labels[:, :, None, None]
        image_one_hot_labels = ops.repeat(image_one_hot_labels, repeats=[side * side])
        return ops.reshape(image_one_hot_labels, (-1, side, side, classes))

    def train_step(self, data):
        real_images, labels = data
        real_images = (real_images + 1.0) / 2.0  # the example's data: pixels / 255
        one_hot_labels = ops.one_hot(ops.cast(labels, "int32"), self.num_classes)
        kw = _training(self.training_flag)
        image_one_hot_labels = self.label_channels(one_hot_labels)
        batch_size = ops.shape(real_images)[0]
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        generated_images = self.generator(ops.concatenate([z, one_hot_labels], axis=1), **kw)
        fake_image_and_labels = ops.concatenate([generated_images, image_one_hot_labels], -1)
        real_image_and_labels = ops.concatenate([real_images, image_one_hot_labels], -1)
        combined_images = ops.concatenate([fake_image_and_labels, real_image_and_labels], axis=0)
        targets = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))],
                                  axis=0)
        with tf.GradientTape() as tape:
            predictions = self.discriminator(combined_images, **kw)
            d_loss = self.loss_fn(targets, predictions)
        self._apply(tape, d_loss, self.discriminator, self.d_optimizer)
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        misleading_labels = ops.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            fake_images = self.generator(ops.concatenate([z, one_hot_labels], axis=1), **kw)
            fake_image_and_labels = ops.concatenate([fake_images, image_one_hot_labels], -1)
            predictions = self.discriminator(fake_image_and_labels, **kw)
            g_loss = self.loss_fn(misleading_labels, predictions)
        self._apply(tape, g_loss, self.generator, self.g_optimizer)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def build(kind, resolution, num_classes=0, channels=3, seed=1337, learning_rate=None,
          training_flag=False, label_map="example"):
    """A compiled peer: ``kind`` ``"dcgan"`` (the DCGAN example) or ``"cgan"`` (the
    Conditional GAN example, ``num_classes`` >= 2), for ``resolution``^2 x ``channels``
    images; ``learning_rate`` None: the example's."""
    if kind == "dcgan":
        rate = learning_rate or DCGAN_LEARNING_RATE
        model = ExampleDCGAN(dcgan_generator(resolution, channels),
                             dcgan_discriminator(resolution, channels), seed=seed,
                             training_flag=training_flag)
        loss = keras.losses.BinaryCrossentropy()
    elif kind == "cgan":
        if num_classes < 2:
            raise ValueError(f"the conditional peer needs >= 2 classes. "
                             f"Received: num_classes={num_classes}")
        rate = learning_rate or CGAN_LEARNING_RATE
        model = ExampleCGAN(cgan_generator(resolution, num_classes, channels),
                            cgan_discriminator(resolution, num_classes, channels), num_classes,
                            resolution, seed=seed, training_flag=training_flag,
                            label_map=label_map)
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
    else:
        raise ValueError(f"kind must be 'dcgan' or 'cgan'. Received: kind={kind!r}")
    model.compile(d_optimizer=keras.optimizers.Adam(learning_rate=rate),
                  g_optimizer=keras.optimizers.Adam(learning_rate=rate), loss_fn=loss)
    return model
