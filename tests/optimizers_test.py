"""OptimisticAdam: the update rule against NumPy, and the paper's linear WGAN toy."""

import keras
import numpy as np
import pytest

from tfgan_stable.optimizers import OptimisticAdam


def numpy_optimistic_adam(w, gradients, lr, beta_1, beta_2, eps):
    m = v = previous = np.zeros_like(w)
    for t, g in enumerate(gradients, start=1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        update = lr * (m / (1 - beta_1**t)) / (np.sqrt(v / (1 - beta_2**t)) + eps)
        w = w - 2 * update + previous
        previous = update
    return w


def test_update_matches_the_rule_over_several_steps():
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 2)).astype("float32")
    gradients = rng.normal(size=(6, 3, 2)).astype("float32")
    variable = keras.Variable(w0)
    optimizer = OptimisticAdam(learning_rate=0.01, beta_1=0.5, beta_2=0.9, epsilon=1e-8)
    for g in gradients:
        optimizer.apply([keras.ops.convert_to_tensor(g)], [variable])
    expected = numpy_optimistic_adam(w0.astype("float64"), gradients.astype("float64"),
                                     0.01, 0.5, 0.9, 1e-8)
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_serialises_and_restores_its_state():
    optimizer = OptimisticAdam(learning_rate=0.003, beta_1=0.4)
    config = keras.optimizers.serialize(optimizer)
    restored = keras.optimizers.deserialize(config)
    assert isinstance(restored, OptimisticAdam)
    assert (restored.beta_1, float(restored.learning_rate)) == (0.4, pytest.approx(0.003))
    with pytest.raises(ValueError, match=r"Received: beta_1=1.5"):
        OptimisticAdam(beta_1=1.5)


def _linear_wgan(optimizer_factory, checkpoints=(1000, 2000)):
    """The paper's toy: G(z) = z + theta learns the mean [3, 4]; critic f(x) = w . x.

    With exact expectations the game is min_theta max_w w . (mu - theta); its
    only equilibrium is theta = mu, w = 0. Returns ``(|theta - mu|, |w|)`` at
    each checkpoint (in steps).
    """
    import tensorflow as tf

    mu = tf.constant([3.0, 4.0])
    theta = keras.Variable(np.zeros(2, "float32"))
    w = keras.Variable(np.array([0.5, 0.5], "float32"))
    g_opt, d_opt = optimizer_factory(), optimizer_factory()

    @tf.function
    def simultaneous_step():
        grad_w = theta - mu   # the critic ascends w . (mu - theta)
        grad_theta = -w       # the generator descends -w . theta
        d_opt.apply([grad_w], [w])
        g_opt.apply([grad_theta], [theta])

    distances, done = [], 0
    for checkpoint in checkpoints:
        for _ in range(checkpoint - done):
            simultaneous_step()
        done = checkpoint
        distances.append((float(np.linalg.norm(theta.numpy() - mu.numpy())),
                          float(np.linalg.norm(w.numpy()))))
    return distances


def test_optimism_converges_where_plain_gradient_steps_cycle():
    (plain_1000, _), (plain_2000, _) = _linear_wgan(lambda: keras.optimizers.SGD(0.05))
    assert plain_2000 > plain_1000 > 5.0  # simultaneous gradient steps spiral away
    for distance, critic_norm in _linear_wgan(lambda: OptimisticAdam(0.05, 0.0, 0.9)):
        # at both checkpoints: within about one step size (0.05 per coordinate) of the
        # equilibrium, and staying there
        assert distance < 0.2 and critic_norm < 0.2


def test_configs_choose_it_for_both_networks():
    from tfgan_stable import build
    from tfgan_stable import config as config_lib
    from tfgan_stable import data

    config = config_lib.from_dict({
        "data": {"name": "ring8", "num_samples": 64},
        "model": {"family": "wgan_gp", "hidden_units": [8]},
        "optimizer": {"name": "optimistic_adam", "g_learning_rate": 3e-4}})
    gan = build.build_gan(config, data.load_examples("ring8", num_samples=64))
    assert isinstance(gan.d_optimizer, OptimisticAdam)
    assert isinstance(gan.g_optimizer, OptimisticAdam)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(3e-4)
    assert (gan.d_optimizer.beta_1, gan.d_optimizer.beta_2) == (0.5, 0.9)  # WGAN-GP's betas
    with pytest.raises(ValueError, match=r"optimizer.name must be one of"):
        config_lib.from_dict({"optimizer": {"name": "sgd"}})


def test_linear_decay_schedules_each_optimizer_over_its_own_updates():
    import keras

    from tfgan_stable.gans.wgan_gp import WGANGP

    d_optimizer, g_optimizer = WGANGP.default_optimizers(
        d_learning_rate=1e-3, g_learning_rate=4e-4, decay_updates=(50, 10))
    critic, generator = d_optimizer._learning_rate, g_optimizer._learning_rate
    assert [float(critic(step)) for step in (0, 25, 50, 80)] == pytest.approx(
        [1e-3, 5e-4, 0.0, 0.0])
    assert [float(generator(step)) for step in (0, 5, 10)] == pytest.approx([4e-4, 2e-4, 0.0])
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(d_optimizer))
    assert float(restored._learning_rate(25)) == pytest.approx(5e-4)
    with pytest.raises(ValueError, match=r"decay_updates must be two counts >= 1"):
        WGANGP.default_optimizers(decay_updates=(0, 10))
