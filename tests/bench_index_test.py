"""bench/ stays a tool of its own: the results index is current and `make bench`
rewrites the committed names. Nothing here runs a benchmark.

Run from the repository root as ``python -m pytest`` (as ``make test`` does), which
puts the root, and so the ``bench`` package, on the import path.
"""

import contextlib
import importlib
import io
import json
import os
import re
import shlex

import pytest

from bench import common, index
from helpers import REPO

RESULTS = os.path.join(REPO, "bench", "results")


def makefile_bench_commands():
    """``[(script, argv)]`` of the Makefile's ``bench`` target, in order."""
    with open(os.path.join(REPO, "Makefile")) as f:
        text = f.read().replace("\\\n", " ")
    target = text.split("\nbench:", 1)[1].split("\n\n", 1)[0]
    commands = []
    for line in target.splitlines():
        match = re.match(r"\s*\$\(BENCH\)\.(\w+)\s+(.*)$", line)
        if match:
            argv = shlex.split(match.group(2).replace("$(FASHION_MNIST)", "fashion-mnist"))
            commands.append((match.group(1), argv))
    return commands


def option(argv, name, default):
    return argv[argv.index(name) + 1] if name in argv else default


def test_the_committed_index_is_current():
    with open(index.INDEX) as f:
        committed = f.read()
    assert committed == index.render(), (
        "bench/results/INDEX.md is stale; regenerate it with python -m bench.index")


def test_every_result_file_has_a_row_and_lives_in_a_study_folder():
    loose = [name for name in os.listdir(RESULTS)
             if os.path.isfile(os.path.join(RESULTS, name)) and name != "INDEX.md"]
    assert not loose, f"results outside a study folder: {loose}"
    text = index.render()
    for study, name in index.result_files():
        assert f"]({study}/{name})" in text


def test_stated_commands_name_runs_that_are_committed_and_scripts_that_exist():
    runs = {index.run_name(name) for _, name in index.result_files()}
    assert set(index.STATED) <= runs, sorted(set(index.STATED) - runs)
    for command, _ in index.STATED.values():
        script = re.match(r"python -m bench\.(\w+) ", command).group(1)
        assert os.path.isfile(os.path.join(REPO, "bench", f"{script}.py")), command


def test_every_makefile_line_writes_into_a_committed_result():
    commands = makefile_bench_commands()
    assert len(commands) >= 20
    for script, argv in commands:
        assert option(argv, "--out", None) == "bench/results", (script, argv)
        name = option(argv, "--name", script)
        [path] = common.output_paths(RESULTS, script, [f"{name}.md"])
        assert os.path.isfile(path), f"make bench would write {name} of {script}: not committed"


def test_the_makefile_writes_each_name_once():
    names = [(script, option(argv, "--name", script))
             for script, argv in makefile_bench_commands()]
    assert len(names) == len(set(names))


def test_markdown_json_and_png_stamps_read_back(tmp_path):
    parser = common.parser("A test.", "toy_mixtures")
    common.add_seeds(parser, [0])
    argv = ["--seeds", "0,1", "2", "--out", str(tmp_path), "--name", "x"]
    args, out = common.parse(parser, lambda a: [], argv)
    assert args.seeds == [0, 1, 2]
    out.precision = common.config_precision(["train.mixed_precision=float32"])
    json_path = out.write_json("x.json", {"rows": [1]}, indent=2)
    markdown_path = out.write_markdown("x.md", "| a |\n")
    png_path = out.path("x.png")
    from PIL import Image
    import numpy as np

    Image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4)).save(png_path)
    out.stamp_png(png_path)
    assert np.array_equal(np.asarray(Image.open(png_path)), np.arange(16).reshape(4, 4))
    stamps = [common.read_stamp(p) for p in (json_path, markdown_path, png_path)]
    for stamp in stamps:
        assert stamp["command"] == "python -m bench.toy_mixtures " + shlex.join(argv)
        assert stamp["arguments"]["seeds"] == [0, 1, 2]
        assert stamp["precision"] == "train.mixed_precision=float32"
        assert stamp["script"] == "bench/toy_mixtures.py"
        assert set(stamp) == {"script", "command", "arguments", "commit", "dirty", "cpu",
                              "precision", "date"}
    with open(json_path) as f:
        assert json.load(f)["rows"] == [1]
    assert os.path.dirname(json_path) == os.path.join(str(tmp_path), "toy_mixtures")
    row = index.row("toy_mixtures", "x.json", stamps[0])
    assert "python -m bench.toy_mixtures" in row and "unstamped" not in row


def test_unstamped_results_read_as_unstamped():
    row = index.row("toy_mixtures", "toy_mixtures.md", None)
    assert index.UNSTAMPED in row and "--steps 3000" in row
    assert index.NOT_RECORDED in index.row("toy_mixtures", "toy_ring12_z8.md", None)


@pytest.mark.slow
def test_each_scripts_own_output_paths_for_the_makefile_lines_are_committed():
    """Imports every script (TensorFlow once) and asks each for the files the Makefile's
    arguments would write (``--print-output-paths``): all committed, the ``.npz``
    scratch file of robustness aside."""
    for script, argv in makefile_bench_commands():
        module = importlib.import_module(f"bench.{script}")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), pytest.raises(SystemExit) as exit_info:
            module.main(argv + ["--print-output-paths"])
        assert exit_info.value.code == 0
        paths = [p for p in printed.getvalue().split() if not p.endswith(".npz")]
        assert paths, script
        missing = [p for p in paths if not os.path.isfile(os.path.join(REPO, p))]
        assert not missing, f"{script} {' '.join(argv)} would write {missing}: not committed"


def test_a_report_says_which_runs_ran_on_which_cpu():
    same = [{"run": "a", "seed": 0, "cpu": "X"}, {"run": "a", "seed": 1}]
    assert common.machines(same, "X") == "X"
    by_seed = [{"run": run, "seed": seed, "cpu": "XY"[seed]} for run in "ab" for seed in (0, 1)]
    assert common.machines(by_seed, "X") == \
        "runs on more than one machine: seed 0 on X; seed 1 on Y"
    # runs, not seeds, split over the CPUs: the seeds alone would misname them
    by_run = [{"run": run, "seed": seed, "cpu": cpu}
              for run, cpu in (("a", "X"), ("b", "Y")) for seed in (0, 1)]
    assert common.machines(by_run, "Y") == \
        "runs on more than one machine: a (seed 0, 1) on X; b (seed 0, 1) on Y"
