"""Writes ``bench/results/INDEX.md``: one row per result file, with its stamp and command.

    python -m bench.index            # rewrite bench/results/INDEX.md
    python -m bench.index --check    # exit 1 if the committed index is stale

A result's stamp (``bench.common.read_stamp``) gives its commit, CPU,
precision, date and the command that wrote it. Results written before the
stamp existed are marked "unstamped (before the stamp)"; their command is the
one ``docs/benchmarks.md`` or the Makefile states for them (:data:`STATED`),
else "not recorded". Nothing here runs a benchmark.
"""

import argparse
import os
import re
import sys

from bench import common

INDEX = os.path.join(common.RESULTS, "INDEX.md")
RESULT_EXTENSIONS = (".json", ".md", ".png")
UNSTAMPED = "unstamped (before the stamp)"
NOT_RECORDED = "not recorded"
MAKEFILE = "Makefile"
DOCS = "docs/benchmarks.md"
FASHION = "--data ../shared/data/fashion-mnist"

# Commands stated for results written before the stamp: run name -> (command, where
# stated). A run's files share its name (``<name>.json``, ``<name>.md``, ``<name>.png``,
# ``<name>_samples.png``); see :func:`run_name`. The Makefile's lines recreate these
# names; where docs/benchmarks.md states the command the committed run used, that one
# is given instead.
STATED = {
    # toy_mixtures
    "toy_mixtures": ("python -m bench.toy_mixtures --steps 3000 --seeds 0 1 2 --out bench/results",
                     DOCS),
    "toy_variants": ("python -m bench.toy_mixtures --families wgan_gp --datasets ring12 ring5 "
                     "grid16 grid36 --name toy_variants --out bench/results", MAKEFILE),
    "toy_oadam_ring8": ("python -m bench.toy_mixtures --families wgan_gp --datasets ring8 "
                        "--override optimizer.name=optimistic_adam --name toy_oadam_ring8 "
                        "--out bench/results", DOCS),
    "toy_oadam_grid25": ("python -m bench.toy_mixtures --families wgan_gp --datasets grid25 "
                         "--seeds 0 --override optimizer.name=optimistic_adam "
                         "--name toy_oadam_grid25 --out bench/results", MAKEFILE),
    "toy_oadam_grid25_s1234": ("python -m bench.toy_mixtures --families wgan_gp --datasets "
                               "grid25 --seeds 1 2 3 4 --override optimizer.name=optimistic_adam "
                               "--name toy_oadam_grid25_s1234 --out bench/results", MAKEFILE),
    "toy_ring8_12000_s0": ("python -m bench.toy_mixtures --families wgan_gp --datasets ring8 "
                           "--seeds 0 --steps 12000 --name toy_ring8_12000_s0 "
                           "--out bench/results", DOCS),
    "toy_grid25_b128_36000_s1": ("python -m bench.toy_mixtures --families wgan_gp --datasets "
                                 "grid25 --seeds 1 --steps 36000 --override "
                                 "train.batch_size=128 --name toy_grid25_b128_36000_s1 "
                                 "--out bench/results", DOCS),
    # stacked_digits
    "stacked_digits": ("python -m bench.stacked_digits --digits_configs --steps 2000 "
                       "--seeds 0 1 --out bench/results", DOCS),
    "stacked_adam": ("python -m bench.stacked_digits --digits_configs --families wgan_gp "
                     "--seeds 0 1 2 3 4 --name stacked_adam --out bench/results", MAKEFILE),
    "stacked_oadam": ("python -m bench.stacked_digits --digits_configs --families wgan_gp "
                      "--seeds 0 1 2 3 4 --override optimizer.name=optimistic_adam "
                      "--name stacked_oadam --out bench/results", MAKEFILE),
    "stacked_wgan_gp_8000_s1": ("python -m bench.stacked_digits --families wgan_gp --seeds 1 "
                                "--steps 8000 --name stacked_wgan_gp_8000_s1 "
                                "--out bench/results", MAKEFILE),
    "stacked_wgan_gp_16000": ("python -m bench.stacked_digits --families wgan_gp --seeds 0 "
                              "--steps 16000 --name stacked_wgan_gp_16000 --out bench/results",
                              MAKEFILE),
    "stacked_wgan_gp_32000": ("python -m bench.stacked_digits --families wgan_gp --seeds 0 "
                              "--steps 32000 --name stacked_wgan_gp_32000 --out bench/results",
                              MAKEFILE),
    "stacked_progan_config_s1": ("python -m bench.stacked_digits --families progan --seeds 1 "
                                 "--name stacked_progan_config_s1 --out bench/results",
                                 MAKEFILE),
    "stacked_rows_4000": ("python -m bench.stacked_digits --families dcgan wgan --seeds 0 "
                          "--steps 4000 --override model.g_filters=64 --override "
                          "model.d_filters=64 --name stacked_rows_4000 --out bench/results",
                          MAKEFILE),
    "stacked_wgan_gp_tryE_pack2": ("python -m bench.stacked_digits --families wgan_gp --seeds 0 "
                                   "--steps 4000 --override model.pack=2 "
                                   "--name stacked_wgan_gp_tryE_pack2 --out bench/results",
                                   MAKEFILE),
    "stacked_digits_began_decay": ("python -m bench.stacked_digits --families began "
                                   "--seeds 0 1 --name stacked_digits_began_decay "
                                   "--out bench/results", MAKEFILE),
    # the others
    "fashion_quality": (f"python -m bench.fashion_quality {FASHION} --out bench/results", DOCS),
    "fashion_quality_ablation": (
        f"python -m bench.fashion_quality {FASHION} --runs peer,peer:alpha=uniform,"
        "peer:reuse_real=false,peer:critic_steps=5,peer:precision=mixed_bfloat16,"
        "peer:ema_half_life=10000,peer:learning_rate=1e-4,peer:networks=library --seeds 0 "
        "--name fashion_quality_ablation --out bench/results", DOCS),
    "began_gamma": ("python -m bench.began_gamma --gammas 0.3 0.5 0.7 --steps 3000 "
                    "--out bench/results", DOCS),
    "began_coverage": ('python -m bench.began_coverage --variants "as shipped=" "without latent '
                       'recovery=began.latent_recovery=0" --seeds 0 1 2 --out bench/results',
                       DOCS),
    "began_coverage_decay": ('python -m bench.began_coverage --name began_coverage_decay '
                             '--variants "as shipped=" "without latent recovery='
                             'began.latent_recovery=0" --seeds 0 1 2 --out bench/results', DOCS),
    "progan_speed": (f"python -m bench.progan_speed {FASHION} --out bench/results", DOCS),
    "progan_speed_seed1": (f"python -m bench.progan_speed {FASHION} --seed 1 "
                           "--name progan_speed_seed1 --out bench/results", DOCS),
    "progan_speed_constant_lr": (f"python -m bench.progan_speed {FASHION} --learning_rate 1e-3 "
                                 "--name progan_speed_constant_lr --out bench/results", MAKEFILE),
    "progan_speed_seed1_constant_lr": (f"python -m bench.progan_speed {FASHION} --learning_rate "
                                       "1e-3 --seed 1 --name progan_speed_seed1_constant_lr "
                                       "--out bench/results", MAKEFILE),
    "robustness": ("python -m bench.robustness --out bench/results", DOCS),
    "step_profile": ("python -m bench.step_profile --out bench/results", DOCS),
    "layer_speed_amx_xeon": ("python -m bench.layer_speed --name layer_speed_amx_xeon "
                             "--out bench/results", MAKEFILE),
    "gradient_precision_amx_xeon": ("python -m bench.gradient_precision "
                                    "--name gradient_precision_amx_xeon --out bench/results",
                                    MAKEFILE),
    "precision_quality": ("python -m bench.precision_quality --out bench/results", DOCS),
    "precision_quality_wide_wgan_gp_pooled_amx_xeon": (
        "python -m bench.precision_quality --summarize bench/results/precision_quality/"
        "precision_quality_wide_wgan_gp_pooled_amx_xeon.json "
        "--name precision_quality_wide_wgan_gp_pooled_amx_xeon", DOCS),
    "wasserstein_estimate": ("python -m bench.wasserstein_estimate --steps 3000 --every 100 "
                             "--seeds 0 1 2 --out bench/results", DOCS),
    "train_step_speed": ("python -m bench.train_step_speed --out bench/results", MAKEFILE),
    "lazy_penalty": ("python -m bench.lazy_penalty --seconds 45 --every 1 4 --seeds 0 1 "
                     "--out bench/results", DOCS),
}


def run_name(file_name):
    """The run a result file belongs to: its stem, less ``_samples`` (began_gamma's
    per-gamma grids and its k_t plot belong to the ``began_gamma`` run)."""
    stem = os.path.splitext(file_name)[0]
    if stem == "began_k_m_global" or re.fullmatch(r"began_gamma_[\d.]+_samples", stem):
        return "began_gamma"
    return stem[:-len("_samples")] if stem.endswith("_samples") else stem


def result_files(results=common.RESULTS):
    """``[(study, file name)]`` of every result under ``results``, sorted."""
    found = []
    for study in sorted(os.listdir(results)):
        folder = os.path.join(results, study)
        if os.path.isdir(folder):
            found += [(study, name) for name in sorted(os.listdir(folder))
                      if name.endswith(RESULT_EXTENSIONS)]
    return found


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def row(study, name, stamp):
    """One table row: study, file, commit, CPU, precision, date, command, source."""
    link = f"[`{name}`]({study}/{name})"
    if stamp is None:
        command, source = STATED.get(run_name(name), (None, None))
        command_cell = f"`{command}`" if command else NOT_RECORDED
        return (f"| {study} | {link} | {UNSTAMPED} | | | | {_cell(command_cell)} | "
                f"{source or ''} |")
    commit = stamp["commit"][:12] + (" (dirty)" if stamp.get("dirty") else "")
    return (f"| {study} | {link} | {_cell(commit)} | {_cell(stamp['cpu'])} | "
            f"{_cell(stamp['precision'])} | {_cell(stamp['date'])} | "
            f"{_cell('`' + stamp['command'] + '`')} | stamp |")


def render(results=common.RESULTS):
    """The text of ``INDEX.md`` for the result files under ``results``."""
    files = result_files(results)
    rows = [row(study, name, common.read_stamp(os.path.join(results, study, name)))
            for study, name in files]
    stamped = sum(UNSTAMPED not in line for line in rows)
    lines = [
        "# Benchmark results",
        "",
        "Generated by `python -m bench.index` from the files in this folder; do not edit "
        "(`tests/bench_index_test.py` checks that it is current). One folder per benchmark "
        "script, `<script>/<name>.{json,md,png}`; how each was run and what it showed: "
        "[docs/benchmarks.md](../../docs/benchmarks.md).",
        "",
        f"{len(rows)} files, {stamped} stamped. A stamp records the command, the commit "
        "(dirty: with uncommitted changes), the CPU model, the precision and the date. "
        f"Files from before the stamp read \"{UNSTAMPED}\"; their command is the one "
        "docs/benchmarks.md or the Makefile states for that run (source column), "
        f"else \"{NOT_RECORDED}\" (the JSON files record their own steps, seeds and "
        "overrides).",
        "",
        "| study | file | commit | CPU | precision | date | command | source |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if bench/results/INDEX.md differs from what it would be")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        with open(INDEX) as f:
            current = f.read()
        if current != text:
            print("bench/results/INDEX.md is stale: run python -m bench.index", file=sys.stderr)
            return 1
        return 0
    with open(INDEX, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
