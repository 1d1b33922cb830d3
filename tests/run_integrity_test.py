"""Run integrity and bad input, through the binaries as a user meets them.

Each case checks the exit status, the message's key words and that nothing
was written or lost: the workdir and the export folder compared before and after.
"""

import hashlib
import json
import os
import signal
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import CONFIGS, REPO, run_python, run_train

pytestmark = pytest.mark.slow  # trains, or runs the binaries

SMOKE = os.path.join(CONFIGS, "smoke")


def snapshot(*folders):
    """``{path: sha1}`` of every file below the folders ('<dir>' for folders)."""
    state = {}
    for folder in folders:
        folder = str(folder)
        if not os.path.exists(folder):
            state[folder] = None
            continue
        for root, dirs, files in os.walk(folder):
            for name in dirs:
                state[os.path.join(root, name)] = "<dir>"
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    state[os.path.join(root, name)] = hashlib.sha1(f.read()).hexdigest()
    return state


def train(tmp_path, *overrides, config="dcgan.yaml", workdir="run"):
    return run_train(f"--config={os.path.join(SMOKE, config)}",
                     f"--workdir={tmp_path / workdir}",
                     f"--override=export.dir={tmp_path / 'exports'}",
                     *[f"--override={o}" for o in overrides])


def assert_user_error(result, *words):
    """Exit 2, one line on stderr naming ``words``, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished smoke WGAN-GP run: (tmp folder, its snapshot)."""
    tmp_path = tmp_path_factory.mktemp("finished")
    result = train(tmp_path, config="wgan_gp.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path


# ------------------------------------------------------ a workdir is one run
@pytest.mark.parametrize("override, key", [
    ("model.family=dcgan", "model.family: 'wgan_gp' -> 'dcgan'"),
    ("model.latent_dim=16", "model.latent_dim: 8 -> 16"),
    ("optimizer.g_learning_rate=0.5", "optimizer.g_learning_rate: 0.0001 -> 0.5"),
])
def test_rerun_with_another_weight_shaping_config_is_refused(finished, override, key):
    before = snapshot(finished)
    result = train(finished, override, config="wgan_gp.yaml")
    assert_user_error(result, key, "use a new workdir")
    assert snapshot(finished) == before


def test_workdir_written_before_a_key_existed_refuses_a_non_default_value(finished, tmp_path):

    import yaml

    older = tmp_path / "older"
    shutil.copytree(finished, older)
    path = older / "run" / "config.yaml"
    stored = yaml.safe_load(path.read_text())
    del stored["model"]["pack"]  # as the library wrote it before model.pack existed
    path.write_text(yaml.safe_dump(stored, sort_keys=False))
    before = snapshot(older)
    result = train(older, "model.pack=2", config="wgan_gp.yaml")
    assert_user_error(result, "model.pack: 1 -> 2", "use a new workdir")
    assert snapshot(older) == before
    result = train(older, config="wgan_gp.yaml")  # at the default: the same run
    assert result.returncode == 0 and "not exporting again" in result.stdout, result.stderr[-3000:]


def test_a_lost_export_record_does_not_publish_a_duplicate_version(finished, tmp_path):
    """The newest version holding this run's steps and fingerprint is the export."""
    copy = tmp_path / "copy"
    shutil.copytree(finished, copy)
    (copy / "run" / "export.json").unlink()
    versions = sorted(os.listdir(next((copy / "exports").iterdir())))
    result = train(copy, config="wgan_gp.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "was missing, now rewritten); not exporting again" in result.stdout
    assert sorted(os.listdir(next((copy / "exports").iterdir()))) == versions
    assert json.loads((copy / "run" / "export.json").read_text())["path"].endswith(versions[-1])


class _Interrupt(Exception):
    pass


def test_unfinished_run_rerun_as_another_family_is_refused(tmp_path):
    import keras

    from tfgan_stable import config as config_lib
    from tfgan_stable import train_lib

    class InterruptAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise _Interrupt()

    config = config_lib.load(os.path.join(SMOKE, "wgan_gp.yaml"),
                             [f"export.dir={tmp_path / 'exports'}"])
    with pytest.raises(_Interrupt):
        train_lib.run(config, str(tmp_path / "run"), extra_callbacks=[InterruptAfterFirstEpoch()])
    assert (tmp_path / "run" / "backup" / "state.weights.h5").is_file()
    before = snapshot(tmp_path)
    result = train(tmp_path, "model.family=dcgan", "export.name=smoke_wgan_gp",
                   config="wgan_gp.yaml")
    assert_user_error(result, "model.family: 'wgan_gp' -> 'dcgan'")
    assert snapshot(tmp_path) == before


def test_raising_train_steps_continues_and_exports_a_new_version(tmp_path):
    assert train(tmp_path, config="wgan_gp.yaml").returncode == 0
    result = train(tmp_path, "train.steps=6", "train.sample_grid_size=3",
                   "export.name=renamed_later", config="wgan_gp.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming from the backup" in result.stdout
    assert "trained 6 generator steps" in result.stdout
    record = json.loads((tmp_path / "run" / "export.json").read_text())
    assert record["generator_steps"] == 6
    assert record["path"] == os.path.join("..", "exports", "renamed_later", "1")
    # the same config again: the newest export holds these steps, nothing new
    before = snapshot(tmp_path / "exports")
    result = train(tmp_path, "train.steps=6", "export.name=renamed_later",
                   config="wgan_gp.yaml")
    assert result.returncode == 0 and "not exporting again" in result.stdout
    assert snapshot(tmp_path / "exports") == before


# ------------------------------------------------------ one process per workdir
def _wait_for_lock(path, pid, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.is_file() and path.read_text().strip() == str(pid):
            return
        time.sleep(0.2)
    raise AssertionError("the first run never took the workdir's lock")


def test_second_process_on_a_workdir_exits_2_naming_the_holder_and_sigkill_frees_it(tmp_path):
    first = subprocess.Popen(
        [sys.executable, "-m", "tfgan_stable.main", f"--config={SMOKE}/dcgan.yaml",
         f"--workdir={tmp_path / 'run'}", f"--override=export.dir={tmp_path / 'exports'}",
         "--override=train.steps=100000"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_lock(tmp_path / "run" / ".lock", first.pid)
        started = time.time()
        second = train(tmp_path, "train.steps=100000")
        assert_user_error(second, "is in use by process", str(first.pid))
        assert first.poll() is None  # the holder trains on
        assert time.time() - started < 60
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # the kernel dropped the lock with its holder: a rerun takes over and finishes
    # (at least the steps its backup holds: fewer would be refused)
    record = tmp_path / "run" / "backup" / "state.json"
    done = json.loads(record.read_text())["states"][0]["generator_steps"] if record.is_file() else 0
    result = train(tmp_path, f"train.steps={max(4, done)}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "exported the generator" in result.stdout


def test_concurrent_exports_of_one_name_get_distinct_versions(tmp_path):
    code = f"""
import os, sys, time, tfgan_stable as tg
generator = tg.build_dcgan_generator(5, 8, 1, filters=4)
open(os.path.join({str(tmp_path)!r}, "ready-" + sys.argv[1]), "w").close()
while not os.path.exists(os.path.join({str(tmp_path)!r}, "go")):  # both start at once
    time.sleep(0.01)
for _ in range(3):
    print("EXPORTED", tg.export_generator(generator, {str(tmp_path / 'exports')!r}, "m",
                                          verify=False, warmup=False))
"""
    processes = [subprocess.Popen([sys.executable, "-c", code, str(i)], cwd=REPO, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for i in range(2)]
    deadline = time.time() + 120
    while not all((tmp_path / f"ready-{i}").exists() for i in range(2)):
        assert time.time() < deadline and all(p.poll() is None for p in processes)
        time.sleep(0.05)
    (tmp_path / "go").touch()
    outputs = [p.communicate(timeout=300) for p in processes]
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err[-3000:]
    paths = [line.split()[1] for out, _ in outputs for line in out.splitlines()
             if line.startswith("EXPORTED")]
    assert len(paths) == 6 and len(set(paths)) == 6
    assert sorted(os.listdir(tmp_path / "exports" / "m")) == [str(v) for v in range(1, 7)]


# ------------------------------------------- checked before anything is written
def _png(path, array):
    from PIL import Image

    Image.fromarray(array).save(path)


def _write_images(folder, rng, count=12, size=(8, 8), mode="L"):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    shape = size[::-1] + ((3,) if mode == "RGB" else (4,) if mode == "RGBA" else ())
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(
            folder / f"img{i:02d}.{'jpg' if mode == 'RGB' else 'png'}")


@pytest.mark.parametrize("damage, reason", [
    ("truncated", "cannot be decoded"),
    ("text", "cannot be decoded"),
])
def test_an_undecodable_image_is_named_and_nothing_is_written(tmp_path, damage, reason):
    rng = np.random.default_rng(0)
    _write_images(tmp_path / "images", rng)
    bad = tmp_path / "images" / "x.png"
    if damage == "truncated":
        _png(bad, rng.integers(0, 255, (8, 8), dtype=np.uint8))
        bad.write_bytes(bad.read_bytes()[:60])
    else:
        bad.write_text("not an image at all\n")
    result = train(tmp_path, f"data.name=folder:{tmp_path / 'images'}")
    assert_user_error(result, str(bad), reason)
    assert not (tmp_path / "run").exists() and not (tmp_path / "exports").exists()


def test_mixed_channels_are_converted_and_non_square_images_cropped_with_a_notice(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    _write_images(folder / "a_rgba", rng, count=2, mode="RGBA")  # first in the walk
    _write_images(folder / "b_rgb", rng, count=6, mode="RGB", size=(12, 8))
    _write_images(folder / "c_gray", rng, count=4, mode="L")
    result = train(tmp_path, f"data.name=folder:{folder}", "train.steps=2",
                   "train.steps_per_epoch=1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("converting all to 3 channels") == 1
    assert "4 with 1 channel and 8 with 3 channels" in result.stdout
    assert "6 of 12 images are not square; centre-cropping" in result.stdout
    meta = json.loads((tmp_path / "exports" / "smoke_dcgan" / "1" /
                       "tfgan_stable.json").read_text())
    assert meta["sample_shape"] == [8, 8, 3]


def test_npy_with_nan_names_count_and_first_example(tmp_path):
    images = np.random.default_rng(0).uniform(0, 1, (20, 8, 8)).astype(np.float32)
    images[7, 1, 1] = np.nan
    images[9, 0, :2] = np.inf
    np.save(tmp_path / "images.npy", images)
    result = train(tmp_path, f"data.name=npy:{tmp_path / 'images.npy'}")
    assert_user_error(result, "3 values are NaN or infinite", "first in example 7")
    assert not (tmp_path / "run").exists() and not (tmp_path / "exports").exists()


@pytest.mark.parametrize("text, words", [
    ("- 1\n- 2\n", ["must be a mapping of sections", "list"]),
    ("3\n", ["must be a mapping of sections", "int"]),
    ("data: [digits]\n", ["section 'data' must be a mapping of keys"]),
    ("", ["is empty"]),
    ("# only a comment\n", ["is empty"]),
])
def test_config_files_that_are_not_mappings_of_mappings(tmp_path, text, words):
    (tmp_path / "bad.yaml").write_text(text)
    result = run_train(f"--config={tmp_path / 'bad.yaml'}", f"--workdir={tmp_path / 'run'}")
    assert_user_error(result, *words)
    assert not (tmp_path / "run").exists()


def test_malformed_override_value(tmp_path):
    result = train(tmp_path, "train.steps=[1")
    assert_user_error(result, "override 'train.steps=[1'", "not valid YAML")
    assert not (tmp_path / "run").exists()


def test_absurd_resolution_is_refused_with_the_estimate(tmp_path):
    result = train(tmp_path, "data.resolution=2048", "model.g_filters=64",
                   "model.d_filters=64", "train.batch_size=64")
    line = assert_user_error(result, "data.resolution=2048", "GiB per train step (estimate)")
    assert "of memory available now" in line
    assert not (tmp_path / "run").exists() and not (tmp_path / "exports").exists()


def test_batch_larger_than_the_data_is_named_in_config_words(tmp_path):
    result = train(tmp_path, "train.batch_size=4096")
    assert_user_error(result, "batch size 4096 (train.batch_size", "1797 examples")
    assert not (tmp_path / "run").exists()


def test_workdir_that_is_a_file(tmp_path):
    (tmp_path / "run").write_text("my notes\n")
    result = train(tmp_path)
    assert_user_error(result, "is a file, not a folder")
    assert (tmp_path / "run").read_text() == "my notes\n"
    assert not (tmp_path / "exports").exists()


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder this process cannot write to (chattr +i when running as root)."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("running as root without chattr: no folder is read-only to this process")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_read_only_workdir_fails_before_training(tmp_path, read_only_folder):
    result = run_train(f"--config={SMOKE}/dcgan.yaml", f"--workdir={read_only_folder}",
                       f"--override=export.dir={tmp_path / 'exports'}")
    assert_user_error(result, f"workdir={str(read_only_folder)!r} is not writable")
    assert os.listdir(read_only_folder) == [] and not (tmp_path / "exports").exists()


def test_unwritable_export_dir_fails_before_training(tmp_path, read_only_folder):
    result = run_train(f"--config={SMOKE}/dcgan.yaml", f"--workdir={tmp_path / 'run'}",
                       f"--override=export.dir={read_only_folder / 'exports'}")
    assert_user_error(result, "export.dir=", "is not writable")
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------- the binaries
@pytest.mark.parametrize("module, flags", [
    ("tfgan_stable.main", ["--config", "--workdir", "--override", "--dry_run"]),
    ("tfgan_stable.eval_main", ["--model", "--data", "--num_samples", "--metrics"]),
    ("tfgan_stable.interpolate_main", ["--model", "--output", "--rows", "--steps"]),
])
def test_help_lists_the_programs_own_flags_and_exits_0(module, flags):
    result = run_python(["-m", module, "--help"])
    assert result.returncode == 0, result.stderr
    for flag in flags:
        assert any(line.strip().startswith(flag + ":") for line in result.stdout.splitlines())
    assert "--helpfull" not in result.stdout and result.stderr == ""


def test_tensorflow_start_up_lines_are_silenced_unless_the_user_asks(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    args = [sys.executable, "-m", "tfgan_stable.interpolate_main", f"--model={tmp_path}"]
    quiet = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True)
    assert_user_error(quiet, "tfgan-interpolate: error:")
    loud = subprocess.run(args + ["--verbosity=0"], cwd=REPO, env=env, capture_output=True,
                          text=True)
    assert loud.returncode == 2 and len(loud.stderr.strip().splitlines()) > 1


@pytest.mark.parametrize("module, flag", [
    ("tfgan_stable.eval_main", "--num_samples=0"),
    ("tfgan_stable.eval_main", "--num_samples=-5"),
    ("tfgan_stable.interpolate_main", "--rows=0"),
    ("tfgan_stable.interpolate_main", "--steps=1"),
    ("tfgan_stable.interpolate_main", "--rows=100000"),
])
def test_out_of_range_numbers_exit_2(tmp_path, module, flag):
    result = run_python(["-m", module, f"--model={tmp_path}", flag])
    assert_user_error(result, flag.split("=")[0])


def test_export_record_resolves_from_any_directory(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    result = run_train(f"--config={SMOKE}/dcgan.yaml", "--workdir=run",
                       "--override=export.dir=exports", cwd=str(tmp_path / "a"))
    assert result.returncode == 0, result.stderr[-3000:]
    result = run_python(["-m", "tfgan_stable.interpolate_main",
                         f"--model={tmp_path / 'a' / 'run'}", "--rows=1", "--steps=2",
                         "--output=grid.png"], cwd=str(tmp_path / "b"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "b" / "grid.png").is_file()


def test_a_bug_keeps_its_traceback_and_a_user_error_is_one_line():
    code = """
import sys
sys.argv = ["tfgan-eval"]  # a binary's name: importing the package quiets TensorFlow for it
from tfgan_stable import cli, errors
def body():
    raise {error}("{message}")
cli.run("prog", sys.modules["__main__"], body)
"""
    user = run_python(code.format(error="errors.ConfigError", message="data.name is bad"))
    assert_user_error(user, "prog: error: data.name is bad")
    bug = run_python(code.format(error="KeyError", message="a bug"))
    assert bug.returncode == 1 and "Traceback" in bug.stderr and "KeyError" in bug.stderr
