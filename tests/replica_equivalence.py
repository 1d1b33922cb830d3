"""Trains one family on one device and on two logical CPUs; prints JSON of the gaps.

Run as a script by ``distribute_test.py`` (a fresh process per family: the
logical devices must be set before TensorFlow starts).
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gans_test  # noqa: E402

import tfgan_stable as tg  # noqa: E402


def train(family, strategy, images, steps):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        gan = gans_test.build(family, g_ema_decay=0.9)
    data = tg.make_dataset(tf.data.Dataset.from_tensor_slices(images), 8,
                           n_critic=gan.n_critic, seed=0)
    history = gan.fit(data, steps_per_epoch=1, epochs=steps, verbose=0, shuffle=False)
    state = [np.asarray(v) for v in gan.weights]
    return history.history, state, [v.path for v in gan.weights]


def train_conditional(family, strategy, images, steps):
    """A class-conditional GAN of ``family`` (tests/conditional_test.py's), on its labelled
    colour images; ``images`` is unused."""
    import conditional_test

    keras.utils.set_random_seed(0)
    with strategy.scope():
        gan = conditional_test.make_gan(family, seed=0)
    history = gan.fit(conditional_test.dataset(gan), steps_per_epoch=1, epochs=steps,
                      verbose=0, shuffle=False)
    return history.history, [np.asarray(v) for v in gan.weights], [v.path for v in gan.weights]


def main(family, steps=3):
    images = np.random.default_rng(1).uniform(-1, 1, (64, 8, 8, 1)).astype("float32")
    run = train
    if family.startswith("conditional_"):  # conditional_<family>: labels, projection critic
        family, run = family[len("conditional_"):], train_conditional
    one, one_state, paths = run(family, tf.distribute.OneDeviceStrategy("/cpu:0"),
                                images, steps)
    two, two_state, _ = run(family, tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]),
                            images, steps)
    loss_gap = {name: float(np.max(np.abs(np.subtract(one[name], two[name]))))
                for name in one}
    weight_gap = {path: float(np.max(np.abs(a.astype("float64") - b)))
                  for path, a, b in zip(paths, one_state, two_state) if a.size}
    print(json.dumps({"losses": one, "loss_gap": loss_gap, "weight_gap": weight_gap}))


if __name__ == "__main__":
    main(sys.argv[1])
