"""Every code block of README.md and docs/ runs as written: twice in a row, in a fresh folder.

The pages are read in the order a user reads them (README first, then docs/
by name) and each page's blocks run in order in one fresh Python process, as
in a notebook: ``python`` blocks share one namespace, ``sh`` blocks run in
bash. The folder holds nothing but a link to ``configs/``, as a clone would.
Only the lengths of training shrink (:data:`TINY`); a block that cannot run
here says why in a ``<!-- docs-test: skip <reason> -->`` line above it.
Blocks are labelled: ``python`` and ``sh`` run, ``text`` / ``yaml`` / ``json``
are shown output or file contents.
"""

import os
import re
import subprocess
import sys
import textwrap

import pytest

from helpers import REPO

pytestmark = pytest.mark.slow

PAGES = [os.path.join(REPO, "README.md")] + sorted(
    os.path.join(REPO, "docs", name) for name in os.listdir(os.path.join(REPO, "docs"))
    if name.endswith(".md"))
RUNNABLE = ("python", "sh")
LABELS = RUNNABLE + ("text", "yaml", "json")
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\b\s*(.*?)\s*-->")

# Training lengths, shortened; nothing else of a block changes.
TINY = [
    (re.compile(r"\bsteps_per_epoch=[\d_]+"), "steps_per_epoch=2"),
    (re.compile(r"\bepochs=[\d_]+"), "epochs=1"),
    (re.compile(r"\b(transition_images|stable_images|final_stable_images)=[\d_]+"), r"\1=32"),
]
# sh blocks: the binaries with shorter runs, their flags after the block's own (last wins).
SH_PRELUDE = textwrap.dedent("""
    tfgan-train() { command tfgan-train "$@" --override=train.steps=4 \\
        --override=train.steps_per_epoch=2; }
    tfgan-eval() { command tfgan-eval "$@" --num_samples=64; }
""")


def fenced_blocks(page):
    """``[(label, code, skip reason or None, line number)]`` of a Markdown page."""
    with open(page) as f:
        lines = f.read().splitlines()
    blocks, index = [], 0
    while index < len(lines):
        match = re.match(r"^```(\S*)\s*$", lines[index])
        if not match:
            index += 1
            continue
        start = index
        end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
        before = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        skip = SKIP.search(before)
        blocks.append((match.group(1), "\n".join(lines[start + 1:end]) + "\n",
                       skip.group(1) if skip else None, start + 1))
        index = end + 1
    return blocks


def shortened(label, code):
    if label == "sh":
        return SH_PRELUDE + code
    for pattern, replacement in TINY:
        code = pattern.sub(replacement, code)
    return code


DRIVER = textwrap.dedent("""
    import json, subprocess, sys, time
    blocks = json.load(open(sys.argv[1]))
    namespace = {"__name__": "__main__"}
    started = time.time()
    for label, code, where in blocks:
        print(f"--- {where} (at {time.time() - started:.0f} s)", flush=True)
        if label == "python":
            exec(compile(code, where, "exec"), namespace)
        else:
            subprocess.run(["bash", "-euo", "pipefail", "-c", code], check=True)
""")


def test_every_block_is_labelled_and_every_skip_says_why():
    for page in PAGES:
        for label, _, skip, line in fenced_blocks(page):
            where = f"{os.path.relpath(page, REPO)}:{line}"
            assert label in LABELS, f"{where}: label the block as one of {LABELS}"
            if skip is not None:
                assert label in RUNNABLE and len(skip) > 10, f"{where}: say why it is skipped"


@pytest.mark.heavy
def test_every_code_block_runs_twice_in_a_fresh_folder(tmp_path):
    import json

    folder = tmp_path / "user"
    folder.mkdir()
    os.symlink(os.path.join(REPO, "configs"), folder / "configs")
    env = dict(os.environ, PYTHONUNBUFFERED="1", MPLBACKEND="Agg",
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    env.pop("PYTHONPATH", None)
    ran = 0
    for round_ in (1, 2):
        for page in PAGES:
            name = os.path.relpath(page, REPO)
            blocks = [(label, shortened(label, code), f"{name}:{line}")
                      for label, code, skip, line in fenced_blocks(page)
                      if label in RUNNABLE and skip is None]
            if not blocks:
                continue
            ran += len(blocks)
            script = tmp_path / f"{name.replace('/', '_')}.json"
            script.write_text(json.dumps(blocks))
            result = subprocess.run([sys.executable, "-c", DRIVER, str(script)], cwd=folder,
                                    env=env, capture_output=True, text=True, timeout=900)
            assert result.returncode == 0, (
                f"round {round_}, {name}: the block after the last '---' line failed\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    assert ran >= 2 * 10  # the test runs what the pages show
