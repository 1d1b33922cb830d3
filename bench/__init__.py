"""The benchmark scripts, run from the repository root as ``python -m bench.<script>``.

Shared conventions (arguments, output paths, the stamp on every result) are in
:mod:`bench.common`; ``python -m bench.index`` regenerates ``bench/results/INDEX.md``.
"""
