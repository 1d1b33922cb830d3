"""Bad input and faults of issue 34, each met where a user meets it.

Through the binaries: the exit status, the message's key words and the workdir
and export folder before and after; through the API where the fault is in a
library call (a full disk during a backup, the memory estimate).
"""

import errno
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from helpers import CONFIGS, REPO, run_python, run_train
from run_integrity_test import assert_user_error, read_only_folder, snapshot  # noqa: F401

SMOKE = os.path.join(CONFIGS, "smoke")
slow = pytest.mark.slow


def train(tmp_path, *overrides, config="dcgan.yaml", workdir="run", extra=()):
    return run_train(f"--config={os.path.join(SMOKE, config)}",
                     f"--workdir={tmp_path / workdir}",
                     f"--override=export.dir={tmp_path / 'exports'}",
                     *[f"--override={o}" for o in overrides], *extra)


def nothing_written(tmp_path, workdir="run"):
    return not (tmp_path / workdir).exists() and not (tmp_path / "exports").exists()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished 4-step smoke DCGAN run (workdir ``run``, exports ``exports``)."""
    tmp_path = tmp_path_factory.mktemp("trained")
    result = train(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path


@pytest.fixture
def copy_of_trained(trained, tmp_path):
    """A private copy of the finished run, to damage."""
    shutil.copytree(trained / "run", tmp_path / "run")
    shutil.copytree(trained / "exports", tmp_path / "exports")
    record = tmp_path / "run" / "export.json"  # its path is relative: still valid
    assert record.exists()
    return tmp_path


# ------------------------------------------------------------ optimizer values
@slow
@pytest.mark.parametrize("override, words", [
    ("optimizer.d_learning_rate=-1", ("optimizer.d_learning_rate", "got -1")),
    ("optimizer.beta_1=5", ("optimizer.beta_1", "[0, 1)", "got 5")),
    ("optimizer.g_learning_rate=1e9", ("optimizer.g_learning_rate", "(0, 1]", "got 1000000000.0")),
    ("optimizer.beta_2=.nan", ("optimizer.beta_2", "nan")),
])
def test_bad_optimizer_values_are_refused_before_anything_is_written(tmp_path, override,
                                                                     words):
    assert_user_error(train(tmp_path, override), *words)
    assert nothing_written(tmp_path)


@pytest.mark.parametrize("kwargs, words", [
    ({"d_learning_rate": -1.0}, "Received: d_learning_rate=-1.0"),
    ({"g_learning_rate": float("inf")}, "Received: g_learning_rate=inf"),
    ({"g_learning_rate": 1e9}, "Received: g_learning_rate=1000000000.0"),
    ({"beta_1": 1.0}, "Received: beta_1=1.0"),
    ({"beta_2": -0.1}, "Received: beta_2=-0.1"),
])
def test_default_optimizers_refuse_bad_values_keras_style(kwargs, words):
    from tfgan_stable.gans.wgan_gp import WGANGP

    with pytest.raises(ValueError, match="must be a number in") as info:
        WGANGP.default_optimizers(**kwargs)
    assert words in str(info.value)
    d_opt, g_opt = WGANGP.default_optimizers(d_learning_rate=1e-4, beta_1=0.0, beta_2=0.99)
    assert float(d_opt.beta_1) == 0.0 and float(g_opt.beta_2) == 0.99


# ------------------------------------------------------------------ YAML keys
@slow
def test_duplicate_yaml_key_is_an_error_naming_key_and_file(tmp_path):
    config = tmp_path / "dup.yaml"
    with open(os.path.join(SMOKE, "dcgan.yaml")) as f:
        config.write_text(f.read() + "train:\n  steps: 400\n")
    result = run_train(f"--config={config}", f"--workdir={tmp_path / 'run'}",
                       f"--override=export.dir={tmp_path / 'exports'}")
    assert_user_error(result, str(config), "'train' appears twice", "remove one")
    assert nothing_written(tmp_path)


def test_duplicate_key_inside_a_section(tmp_path):
    from tfgan_stable import config as config_lib
    from tfgan_stable.errors import ConfigError

    path = tmp_path / "c.yaml"
    path.write_text("train:\n  steps: 4\n  batch_size: 8\n  steps: 40\n")
    with pytest.raises(ConfigError, match=r"key 'steps' appears twice \(lines 2 and 4\)"):
        config_lib.load(str(path))


# --------------------------------------------------------------------- memory
def test_memory_estimate_counts_the_penalty_and_the_pipeline():
    import tfgan_stable as tg
    from tfgan_stable import memory

    generator = tg.build_dcgan_generator(8, 16, 1, filters=8)
    discriminator = tg.build_dcgan_discriminator(16, 1, filters=8)
    plain = memory.train_step_bytes(generator, discriminator, 8, 8, (16, 16, 1))
    penalty = memory.train_step_bytes(generator, discriminator, 8, 8, (16, 16, 1),
                                      gradient_penalty=True)
    critic = memory.activation_bytes(discriminator, (16, 16, 1))
    assert penalty - plain == 2 * 3 * critic * 8  # three passes more, for the batch, x2
    five = memory.train_step_bytes(generator, discriminator, 8, 8, (16, 16, 1), real_batches=5)
    assert five - plain == 3 * 4 * 8 * 16 * 16 * 4  # four more real batches, three copies


def test_available_memory_is_the_lowest_of_meminfo_and_the_cgroup(monkeypatch):
    from tfgan_stable import memory

    gib = 1024**3
    fake = {
        "/proc/meminfo": "MemTotal: 33554432 kB\nMemAvailable: 8388608 kB\n",  # 8 GiB
        "/sys/fs/cgroup/memory.max": f"{4 * gib}\n",
        "/sys/fs/cgroup/memory.current": f"{3 * gib}\n",
        "/sys/fs/cgroup/memory.stat": f"anon 1\ninactive_file {gib}\n",
    }
    monkeypatch.setattr(memory, "_read", fake.get)
    monkeypatch.setattr(memory, "machine_memory_bytes", lambda: 32 * gib)
    assert memory.available_bytes() == 2 * gib  # 4 GiB limit - (3 - 1 reclaimable)
    fake["/sys/fs/cgroup/memory.max"] = "max\n"
    assert memory.available_bytes() == 8 * gib
    with pytest.raises(Exception, match=r"x needs about 7.0 GiB .* 6.4 GiB a run may take"):
        memory.check_bytes(7 * gib, "x")


@slow
def test_absurd_resolution_exits_at_once_before_anything_is_written(tmp_path):
    from tfgan_stable import memory

    if memory.USABLE_FRACTION * memory.available_bytes() > 22 * 1024**3:
        pytest.skip("this machine has room for the 22.7 GiB step: it would train")
    start = time.monotonic()
    result = train(tmp_path, "data.resolution=2048", config="wgan_gp.yaml")
    assert_user_error(result, "data.resolution=2048", "per train step (estimate)",
                      "of memory available now")
    assert time.monotonic() - start < 120
    assert nothing_written(tmp_path)


@slow
def test_huge_toy_data_is_refused_before_it_is_allocated(tmp_path):
    start = time.monotonic()  # 10**10 points: 596 GiB, more than any machine here
    result = train(tmp_path, "data.num_samples=10000000000", config="wgan_gp_ring8.yaml")
    assert_user_error(result, "data.num_samples=10000000000", "GiB of memory (estimate)")
    assert time.monotonic() - start < 120  # 24 GB were allocated before the check
    assert nothing_written(tmp_path)


def test_toy_and_npy_sizes_are_checked_before_loading(tmp_path, monkeypatch):
    from tfgan_stable import data, memory
    from tfgan_stable.errors import ConfigError

    monkeypatch.setattr(memory, "available_bytes", lambda: 2 * 1024**2)  # 2 MiB
    with pytest.raises(ConfigError, match=r"data.num_samples=1000000000 \('ring8'"):
        data.load_examples("ring8", num_samples=10**9)
    path = tmp_path / "big.npy"
    np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(100_000, 4)).flush()
    with pytest.raises(ConfigError, match=r"big.npy' \(\(100000, 4\) float32, held in memory\)"
                       r" needs about 4.6 MiB .* 1.6 MiB a run may take"):
        data.load_examples(f"npy:{path}")
    assert data.load_examples("ring8", num_samples=1000).num_examples == 1000


# ------------------------------------------------------------ full disk, backup
@pytest.fixture
def small_model():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _fit_one_epoch(model, callback):
    x = np.zeros((8, 2), np.float32)
    model.fit(x, x[:, :1], epochs=1, batch_size=4, verbose=0, callbacks=[callback])


def test_full_disk_during_a_backup_keeps_the_previous_one(tmp_path, monkeypatch, small_model):
    from tfgan_stable.callbacks import Backup, backup
    from tfgan_stable.errors import ConfigError
    from tfgan_stable.utils import files

    folder = tmp_path / "backup"
    _fit_one_epoch(small_model, Backup(str(folder)))
    state = folder / Backup.FILENAME
    before = snapshot(folder)
    assert backup.verify(str(state))["sha256"] == files.sha256(str(state))

    monkeypatch.setattr(files, "free_bytes", lambda path: 1000)  # checked before writing
    with pytest.raises(ConfigError, match="MiB free on its disk") as info:
        _fit_one_epoch(small_model, Backup(str(folder)))
    assert str(state) in str(info.value) and "previous backup is whole" in str(info.value)
    assert snapshot(folder) == before
    monkeypatch.undo()

    def fill_the_disk(path, *args, **kwargs):  # the disk fills during the write
        with open(path, "wb") as f:
            f.write(b"\0" * 100)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

    monkeypatch.setattr(small_model, "save_weights", fill_the_disk)
    with pytest.raises(ConfigError, match="No space left on device") as info:
        _fit_one_epoch(small_model, Backup(str(folder)))
    assert str(state) in str(info.value)
    assert snapshot(folder) == before  # no partial file, the old state and record intact
    assert backup.verify(str(state))


@pytest.mark.slow  # mounts a tmpfs and fills it
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"),
                    reason="needs root to mount a small tmpfs")
def test_a_really_full_disk_ends_in_one_line_not_a_crash(tmp_path):
    """A tmpfs with room for one backup: the second is refused, the first survives."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1200k", "tmpfs", str(disk)],
                      capture_output=True).returncode:
        pytest.skip("mount failed (no privilege in this container)")
    try:
        code = f"""
import keras, numpy as np
from tfgan_stable.callbacks import Backup
from tfgan_stable.errors import ConfigError
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(256), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
x = np.zeros((8, 2), np.float32)
model.fit(x, x[:, :1], epochs=1, verbose=0, callbacks=[Backup({str(disk)!r})])
open({str(disk / "filler")!r}, "wb").write(b"\\0" * 400 * 1024)  # under 1 MiB left
try:
    model.fit(x, x[:, :1], epochs=1, verbose=0, callbacks=[Backup({str(disk)!r})])
except ConfigError as e:
    print("REFUSED", e)
"""
        result = run_python(code)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "REFUSED could not write the backup" in result.stdout, result.stdout
        names = os.listdir(disk)
        assert not [n for n in names if n.startswith(".partial.")], names
        from tfgan_stable.callbacks import backup

        assert backup.verify(str(disk / "state.weights.h5"))
    finally:
        subprocess.run(["umount", str(disk)], check=True)


# ----------------------------------------------------------------------- TFDS
def test_tensorflow_datasets_imports_and_finds_its_builders_code():
    """The path that failed with "No module named 'importlib_resources'" on a fresh
    install, before any download: a builder's code_path (offline)."""
    result = run_python("import tensorflow_datasets as tfds\n"
                        "builder = tfds.builder('mnist')\n"
                        "print('code_path', type(builder).code_path.name)\n")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "code_path mnist.py" in result.stdout


def test_unknown_tfds_name_is_one_line_with_close_matches():
    from tfgan_stable import data
    from tfgan_stable.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        data.load_examples("tfds:mnistt", resolution=8)
    message = str(info.value)
    assert "no data set 'mnistt'" in message and "did you mean 'mnist'" in message
    assert "\n" not in message and len(message) < 300


# ------------------------------------------------------------ eval, interpolate
@slow
def test_eval_unknown_metric_is_refused_before_any_work(tmp_path):
    # the model does not exist: only a check made before loading it names the metric
    result = run_python(["-m", "tfgan_stable.eval_main", f"--model={tmp_path / 'none'}",
                         "--metrics=swd,bogus"])
    assert_user_error(result, "unknown metric 'bogus'", "valid:", "'swd'")


@slow
def test_eval_output_that_cannot_be_written_is_refused_before_any_work(
        tmp_path, read_only_folder):  # noqa: F811
    model = f"--model={tmp_path / 'none'}"
    folder = run_python(["-m", "tfgan_stable.eval_main", model, f"--output={tmp_path}"])
    assert_user_error(folder, "--output=", "is a folder")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    below_file = run_python(["-m", "tfgan_stable.eval_main", model,
                             f"--output={blocker / 'scores.json'}"])
    assert_user_error(below_file, "the folder of --output", "is a file")
    read_only = run_python(["-m", "tfgan_stable.eval_main", model,
                            f"--output={read_only_folder / 'scores.json'}"])
    assert_user_error(read_only, "the folder of --output", "is not writable")


@slow
def test_interpolate_writes_the_format_its_extension_names(trained, tmp_path):
    bad = run_python(["-m", "tfgan_stable.interpolate_main", f"--model={tmp_path / 'none'}",
                      f"--output={tmp_path / 'grid.xyz'}"])
    assert_user_error(bad, "--output=", "must end with one of", "'.png'")
    assert not (tmp_path / "grid.xyz").exists()
    out = tmp_path / "grid.jpg"
    good = run_python(["-m", "tfgan_stable.interpolate_main", f"--model={trained / 'run'}",
                       f"--output={out}", "--rows=2", "--steps=2"])
    assert good.returncode == 0, good.stderr[-3000:]
    with Image.open(out) as image:
        assert image.format == "JPEG"


# --------------------------------------------------------------- data sources
@slow
def test_dangling_link_in_a_folder_source_is_named(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(8):
        Image.fromarray(np.full((8, 8), i * 30, np.uint8)).save(folder / f"{i}.png")
    os.symlink(tmp_path / "gone.png", folder / "link.png")
    result = train(tmp_path, f"data.name=folder:{folder}")
    assert_user_error(result, "link.png", "symbolic link", "gone.png", "does not exist")
    assert nothing_written(tmp_path)


@slow
def test_complex_npy_is_refused(tmp_path):
    path = tmp_path / "points.npy"
    np.save(path, np.ones((64, 2)) * (1 + 2j))
    result = train(tmp_path, f"data.name=npy:{path}", config="wgan_gp_ring8.yaml")
    assert_user_error(result, "complex", "real and imaginary parts")
    assert nothing_written(tmp_path)


# ------------------------------------------------------------ damaged backups
@slow
@pytest.mark.parametrize("damage, words", [
    ("truncate", ("truncated",)),
    ("flip", ("SHA-256 differs",)),
])
def test_damaged_backup_is_named_before_anything_is_rewritten(copy_of_trained, damage,
                                                              words):
    state = copy_of_trained / "run" / "backup" / "state.weights.h5"
    data = bytearray(state.read_bytes())
    if damage == "truncate":
        data = data[:len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    state.write_bytes(bytes(data))
    before = snapshot(copy_of_trained)
    result = train(copy_of_trained, "train.steps=6")
    assert_user_error(result, str(state), "is damaged", *words, "delete", "nothing was changed")
    assert snapshot(copy_of_trained) == before  # config.yaml included


@slow
def test_rerun_with_the_workdirs_own_config(copy_of_trained):
    workdir = copy_of_trained / "run"
    result = run_train(f"--config={workdir / 'config.yaml'}", f"--workdir={workdir}",
                       "--override=train.steps=6")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr


@slow
def test_lowering_steps_below_the_trained_count_is_refused(copy_of_trained):
    before = snapshot(copy_of_trained)
    result = train(copy_of_trained, "train.steps=2")
    assert_user_error(result, "train.steps=2", "below the 4 generator steps",
                      "nothing was changed", "new workdir")
    assert snapshot(copy_of_trained) == before


def _dead_pid():
    pid = 999_999
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


@slow
def test_partial_files_of_killed_runs_are_cleaned_by_the_next_run(copy_of_trained):
    backup_dir = copy_of_trained / "run" / "backup"
    dead = backup_dir / f".partial.{_dead_pid()}.state.weights.h5.weights.h5"
    alive = backup_dir / f".partial.{os.getpid()}.state.weights.h5.weights.h5"
    dead.write_bytes(b"\0" * 1000)
    alive.write_bytes(b"\0" * 1000)
    result = train(copy_of_trained, "train.steps=6")
    assert result.returncode == 0, result.stderr[-3000:]
    assert not dead.exists()
    assert alive.exists()  # a live process's file is not the rerun's to remove


# --------------------------------------------------------------------- Ctrl-C
@slow
def test_ctrl_c_is_one_line_and_status_130(tmp_path):
    workdir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "tfgan_stable.main", f"--config={SMOKE}/dcgan.yaml",
         f"--workdir={workdir}", f"--override=export.dir={tmp_path / 'exports'}",
         "--override=train.steps=100000"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # as a user runs it: the binary's own TensorFlow log level, not the tests'
        env=dict({k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
                 PYTHONUNBUFFERED="1"),
        # a background job inherits SIGINT ignored; a terminal's Ctrl-C is not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 240
        while not (workdir / "backup" / "state.weights.h5").exists():
            assert process.poll() is None and time.monotonic() < deadline, process.poll()
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr[-3000:]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr[-3000:]
    assert lines[0].startswith("tfgan-train: interrupted at step ")
    assert lines[0].endswith("; rerun the same command to resume")
    assert not (tmp_path / "exports").exists()
