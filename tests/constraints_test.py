"""WeightClip: bounds, serialisation, and WGAN's clipping of every critic weight."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfgan_stable as tg
from tfgan_stable.constraints import WeightClip


def test_weight_clip_bounds_values():
    clipped = WeightClip(0.05)(np.array([-1.0, -0.01, 0.0, 0.03, 2.0], np.float32))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clipped),
                               [-0.05, -0.01, 0.0, 0.03, 0.05])


def test_weight_clip_serialises_by_registered_name():
    layer = keras.layers.Dense(3, kernel_constraint=WeightClip(0.2))
    config = keras.layers.serialize(layer)
    restored = keras.layers.deserialize(config)
    assert isinstance(restored.kernel_constraint, WeightClip)
    assert restored.kernel_constraint.clip_value == pytest.approx(0.2)


def test_weight_clip_rejects_non_positive_bound():
    with pytest.raises(ValueError, match="clip_value must be > 0, got 0"):
        WeightClip(0)


def test_wgan_clips_every_critic_weight_after_fit_with_large_learning_rate():
    images = np.random.default_rng(0).uniform(-1, 1, (16, 16, 16, 1)).astype("float32")
    generator = tg.build_dcgan_generator(4, 16, 1, filters=4)
    critic = tg.build_dcgan_discriminator(16, 1, filters=4)
    gan = tg.WGAN(generator, critic, clip_value=0.01, n_critic=2, seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(10.0),
                g_optimizer=keras.optimizers.SGD(1e-3))
    before = [v.numpy().copy() for v in critic.trainable_variables]
    dataset = tg.make_dataset(tf.data.Dataset.from_tensor_slices(images),
                              batch_size=4, n_critic=2)
    gan.fit(dataset, steps_per_epoch=3, epochs=1, verbose=0)
    assert len(critic.trainable_variables) > 4  # kernels, biases, batch-norm gamma/beta
    for variable, old in zip(critic.trainable_variables, before):
        values = variable.numpy()
        assert np.abs(values).max() <= 0.01 + 1e-7, variable.path
        if "kernel" in variable.path:  # the score's bias has zero gradient in W loss
            assert not np.array_equal(values, old)  # it trained, then was clipped
    # the generator is not clipped
    assert max(np.abs(v.numpy()).max() for v in generator.trainable_variables) > 0.01

