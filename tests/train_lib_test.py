"""train_lib: resume after an interruption, and bad input that loses nothing."""

import os

import keras
import pytest

from helpers import CONFIGS, run_train
from tfgan_stable import config as config_lib
from tfgan_stable import train_lib

pytestmark = pytest.mark.slow  # trains, or runs the binaries


class Interrupt(Exception):
    pass


class InterruptAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise Interrupt("simulated preemption")


def smoke(name, tmp_path, **train):
    raw = config_lib.apply_overrides(
        __import__("yaml").safe_load(open(os.path.join(CONFIGS, "smoke", name))),
        [f"export.dir={tmp_path / 'exports'}"] + [f"train.{k}={v}" for k, v in train.items()],
    )
    return config_lib.from_dict(raw)


def test_rerun_after_interruption_resumes_from_the_backup(tmp_path):
    config = smoke("wgan_gp.yaml", tmp_path)
    workdir = tmp_path / "run"
    with pytest.raises(Interrupt):
        train_lib.run(config, str(workdir), extra_callbacks=[InterruptAfterFirstEpoch()])
    assert (workdir / "backup" / "state.weights.h5").is_file()
    assert not (tmp_path / "exports").exists()  # nothing exported from a broken run

    # The binary, rerun with the same workdir, continues at epoch 2 of 2.
    result = run_train(f"--config={workdir / 'config.yaml'}", f"--workdir={workdir}",
                       "--override=train.verbose=2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming from the backup" in result.stdout
    assert "Epoch 2/2" in result.stdout and "Epoch 1/2" not in result.stdout
    # 2 restored + 2 new generator steps; without a restore it would stop at 2 and fail
    assert "trained 4 generator steps" in result.stdout
    assert sorted(os.listdir(tmp_path / "exports" / "smoke_wgan_gp")) == ["1"]

    # A finished run is neither retrained nor exported again.
    result = train_lib.run(config, str(workdir))
    assert result.history.epoch == [] and result.initial_epoch == 2
    assert sorted(os.listdir(tmp_path / "exports" / "smoke_wgan_gp")) == ["1"]


@pytest.mark.parametrize("override, message", [
    ("data.name=digitz", r"unknown data.name 'digitz'"),
    ("data.name=npy:/no/such.npy", r"no such file"),
    ("model.architecture=mlp", r"model.architecture='mlp' needs vector data"),
    ("data.name=ring8\nmodel.architecture=dcgan", r"model.architecture='dcgan' needs image"),
])
def test_bad_input_writes_nothing(tmp_path, override, message):
    config = config_lib.from_dict(config_lib.apply_overrides(
        smoke("dcgan.yaml", tmp_path).to_dict(), override.split("\n")))
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        train_lib.run(config, str(tmp_path / "run"))
    assert not (tmp_path / "run").exists() and not (tmp_path / "exports").exists()


def test_wgan_warmup_counts_generator_steps(tmp_path):
    config = config_lib.from_dict(config_lib.apply_overrides(
        smoke("wgan.yaml", tmp_path).to_dict(),
        ["wgan.warmup=true", "model.n_critic=50", "train.steps=3", "train.steps_per_epoch=2",
         "export.enabled=false"]))
    result = train_lib.run(config, str(tmp_path / "run"))
    # warm-up: 100 critic updates per generator update = 2 train steps of 50 each
    assert int(result.model.generator_steps.numpy()) == 3
    assert int(result.model.d_optimizer.iterations.numpy()) == 300


class LearningRates(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rates = []

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append((float(self.model.d_optimizer.learning_rate),
                           float(self.model.g_optimizer.learning_rate)))


@pytest.mark.heavy
@pytest.mark.parametrize("name, overrides, critic_updates", [
    ("wgan_gp.yaml", [], 4 * 5),
    # warm-up: 100 critic updates before each of the first 25 generator updates
    ("wgan.yaml", ["wgan.warmup=true", "model.n_critic=50"], 4 * 100),
])
def test_linear_decay_ends_at_zero_on_the_last_update_and_survives_a_resume(
        tmp_path, name, overrides, critic_updates):
    config = config_lib.from_dict(config_lib.apply_overrides(
        smoke(name, tmp_path).to_dict(),
        overrides + ["optimizer.decay=linear", "optimizer.d_learning_rate=1e-3",
                     "optimizer.g_learning_rate=2e-3", "export.enabled=false"]))
    workdir = str(tmp_path / "run")
    with pytest.raises(Interrupt):
        train_lib.run(config, workdir, extra_callbacks=[InterruptAfterFirstEpoch()])
    rates = LearningRates()
    result = train_lib.run(config, workdir, extra_callbacks=[rates])
    gan = result.model
    assert int(gan.generator_steps.numpy()) == 4
    assert int(gan.d_optimizer.iterations.numpy()) == critic_updates
    assert int(gan.g_optimizer.iterations.numpy()) == 4
    # resumed after the first epoch, on the same schedule, down to 0 at the end
    assert rates.rates[-1] == (0.0, 0.0)
    critic, generator = gan.d_optimizer._learning_rate, gan.g_optimizer._learning_rate
    assert [float(generator(step)) for step in (0, 2, 4)] == pytest.approx([2e-3, 1e-3, 0.0])
    assert float(critic(critic_updates // 2)) == pytest.approx(5e-4)


class PoisonAtSecondEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            variable = self.model.discriminator.trainable_variables[0]
            variable.assign(variable * float("nan"))


@pytest.mark.parametrize("steps_per_execution, where", [
    (1, r"at generator step 3"),
    (2, r"by generator step 4 \(losses are checked once per 2 steps"),
])
def test_non_finite_loss_stops_with_step_and_loss_and_keeps_the_last_good_state(
        tmp_path, steps_per_execution, where):
    import h5py
    import numpy as np

    from tfgan_stable.callbacks import NonFiniteLossError

    config = smoke("wgan_gp.yaml", tmp_path, steps_per_execution=steps_per_execution)
    (tmp_path / "exports" / "smoke_wgan_gp" / "1").mkdir(parents=True)  # an earlier export
    with pytest.raises(NonFiniteLossError, match=r"non-finite d_loss \(nan\) " + where):
        train_lib.run(config, str(tmp_path / "run"), extra_callbacks=[PoisonAtSecondEpoch()])
    backup = tmp_path / "run" / "backup"
    assert sorted(os.listdir(backup)) == ["state.json", "state.weights.h5"]  # + its checksum
    with h5py.File(backup / "state.weights.h5") as f:
        values = []
        f.visititems(lambda name, obj: values.append(np.asarray(obj))
                     if isinstance(obj, h5py.Dataset) else None)
    assert values and all(np.all(np.isfinite(v)) for v in values if v.dtype.kind == "f")
    assert sorted(os.listdir(tmp_path / "exports" / "smoke_wgan_gp")) == ["1"]
    assert not (tmp_path / "run" / "export.json").exists()
