"""What every benchmark script shares: argument conventions, output paths and the stamp.

A script is run from the repository root as a module, ``python -m bench.<script>``
(``bench`` is a package; the scripts import each other and this module as
``bench.<module>``). Every script takes

* ``--out``: the results root (default ``bench/results``); a script writes
  into its own study folder under it, ``<out>/<study>/`` (the study is the
  script's name);
* ``--name``: the stem of the files of one run (``<name>.json``, ``<name>.md``,
  ``<name>.png``, ...), default the study;
* ``--print-output-paths``: print the files the given arguments would write,
  one a line, and exit without running anything.

Where a script takes them, ``--seeds`` is a list of integers (``0 1 2`` or
``0,1,2``) and ``--data`` a folder given on the command line (never a machine
path in the code).

Every file written through :class:`Results` carries a stamp (:func:`make_stamp`):
the command with its full resolved arguments, the git commit (and whether the
tree had uncommitted changes), the CPU model from ``/proc/cpuinfo``, the
precision used and the date. JSON results hold it under the key ``"stamp"``;
Markdown results end with a visible line and the same fields as JSON in an
HTML comment (:data:`MARKDOWN_STAMP`); PNG results hold it in a ``tEXt`` chunk
with the keyword :data:`PNG_KEYWORD` (the pixels are not touched).
:func:`read_stamp` reads it back from any of the three (``bench/index.py``
builds ``bench/results/INDEX.md`` with it).
"""

import argparse
import datetime
import json
import os
import re
import shlex
import struct
import subprocess
import sys
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "bench", "results")
MARKDOWN_STAMP = "<!-- bench-stamp: "
PNG_KEYWORD = b"bench-stamp"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- arguments


def parser(doc, study, name=None, name_help="stem of the output files"):
    """An ``ArgumentParser`` with the shared ``--out``, ``--name`` and ``--print-output-paths``.

    Args:
        doc: the script's module docstring; its first paragraph is the description.
        study: the script's study folder under ``--out`` (its module name).
        name: the default ``--name`` (default: ``study``).
        name_help: the help text of ``--name``.
    """
    result = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    result.set_defaults(study=study)
    result.add_argument("--out", default=RESULTS,
                        help=f"results root; files land in <out>/{study}/ (default bench/results)")
    result.add_argument("--name", default=name or study, help=name_help)
    result.add_argument("--print-output-paths", action="store_true", dest="print_output_paths",
                        help="print the files these arguments would write and exit")
    return result


def _seed_list(text):
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds are integers, as 0 1 2 or 0,1,2. Received: {text!r}") from None


class _FlatSeeds(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, [seed for group in values for seed in group])


def add_seeds(parser, default, help="training seeds, one run each (0 1 2 or 0,1,2)"):
    """``--seeds``: a list of ints, given as ``0 1 2`` or ``0,1,2``."""
    parser.add_argument("--seeds", type=_seed_list, nargs="+", action=_FlatSeeds,
                        default=list(default), help=help)


def add_data(parser, required=True, help="folder of Fashion-MNIST IDX files"):
    """``--data``: a data folder given on the command line."""
    parser.add_argument("--data", required=required, help=help)


def parse(parser, outputs, argv=None):
    """Parses ``argv`` (default ``sys.argv[1:]``) and returns ``(args, results)``.

    Args:
        parser: from :func:`parser`, with the script's own arguments added.
        outputs: ``args -> [file name]``: the files a run with ``args`` writes
            into its study folder (``--print-output-paths`` prints them and exits).
        argv: the command-line arguments.

    Returns:
        The parsed namespace and the :class:`Results` the script writes through.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    results = Results(args, argv)
    if args.print_output_paths:
        for name in outputs(args):
            path = os.path.join(results.folder, name)
            inside = os.path.abspath(path).startswith(REPO + os.sep)
            print(os.path.relpath(path, REPO) if inside and os.path.isabs(path) else path)
        raise SystemExit(0)
    return args, results


def output_paths(out, study, names):
    """``<out>/<study>/<name>`` for each name (what :func:`parse` prints)."""
    return [os.path.join(out, study, name) for name in names]


# ----------------------------------------------------------------------------- the stamp


def cpu_model(cpuinfo="/proc/cpuinfo"):
    """The first processor's ``model name`` in ``/proc/cpuinfo`` ("unknown" without it)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    return value.strip()
    except OSError:
        pass
    return "unknown"


def machines(records, current):
    """Where the runs of ``records`` ran, for a report's header: ``current`` (this
    machine's words) when every record says so or says nothing; else which seeds ran
    on which CPU where that holds for every run, or else which runs and seeds did (a
    CPU budget buys different step counts on different CPUs)."""
    by_cpu, by_seed = {}, {}
    for record in records:
        cpu = record.get("cpu", current)
        by_cpu.setdefault(cpu, []).append(record)
        by_seed.setdefault(record["seed"], set()).add(cpu)
    if len(by_cpu) <= 1:
        return next(iter(by_cpu), current)

    def seeds(group):
        return ", ".join(map(str, sorted({r["seed"] for r in group})))

    if all(len(cpus) == 1 for cpus in by_seed.values()):  # a seed's runs share a CPU
        parts = [f"seed {seeds(group)} on {cpu}" for cpu, group in by_cpu.items()]
    else:
        parts = []
        for cpu, group in by_cpu.items():
            runs = dict.fromkeys(r["run"] for r in group)
            parts.append(", ".join(
                f"{run} (seed {seeds([r for r in group if r['run'] == run])})"
                for run in runs) + f" on {cpu}")
    return "runs on more than one machine: " + "; ".join(parts)


def git_commit(repo=REPO):
    """``(commit, dirty)`` of the working tree (``("unknown", None)`` outside git)."""
    try:
        commit = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", repo, "status", "--porcelain",
                                 "--untracked-files=no"], capture_output=True, text=True,
                                check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown", None
    return commit, bool(status.strip())


def auto_precision():
    """What ``train.mixed_precision: auto`` picks on this machine, in words."""
    try:
        from tfgan_stable import hardware

        policy, reason = hardware.auto_precision()
    except Exception as error:  # a stamp never stops a benchmark
        return f"auto (not resolved: {error})"
    return f"auto = {policy} ({reason})"


def config_precision(overrides=()):
    """The precision of runs from configs: the last ``train.mixed_precision=`` override, or
    the configs' default ``auto`` as resolved here."""
    chosen = [o.split("=", 1)[1] for o in overrides
              if o.replace(" ", "").startswith("train.mixed_precision=")]
    return f"train.mixed_precision={chosen[-1]}" if chosen else auto_precision()


def command(study, argv):
    """The command line that reproduces a run, from the repository root."""
    return shlex.join(["python", "-m", f"bench.{study}", *argv])


def _relative(value):
    """Paths inside the repository as relative ones (a stamp names no machine's folders)."""
    if isinstance(value, str) and value.startswith(REPO + os.sep):
        return os.path.relpath(value, REPO)
    if isinstance(value, list):
        return [_relative(item) for item in value]
    return value


def arguments(args, leave_out=()):
    """``vars(args)`` without the helper's own keys and ``leave_out``, repository paths
    relative (for a script that records its arguments in its results)."""
    return {key: _relative(value) for key, value in vars(args).items()
            if key not in ("print_output_paths", "study", *leave_out)}


def make_stamp(study, argv, args, precision):
    """The stamp of one result: what ran, on which code, machine and precision, and when."""
    commit, dirty = git_commit()
    resolved = dict(sorted(arguments(args).items()))
    return {
        "script": f"bench/{study}.py",
        "command": command(study, argv),
        "arguments": json.loads(json.dumps(resolved, default=str)),
        "commit": commit,
        "dirty": dirty,
        "cpu": cpu_model(),
        "precision": precision,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def stamp_line(stamp):
    """The stamp as one visible Markdown line."""
    tree = "with uncommitted changes" if stamp["dirty"] else "clean tree"
    return (f"*Stamp: `{stamp['command']}`; commit {stamp['commit'][:12]} ({tree}); "
            f"{stamp['cpu']}; precision {stamp['precision']}; {stamp['date']}.*")


def markdown_with_stamp(text, stamp):
    """``text`` followed by the stamp (a visible line and the fields as JSON in a comment)."""
    return (text.rstrip("\n") + "\n\n" + stamp_line(stamp) + "\n"
            + MARKDOWN_STAMP + json.dumps(stamp, sort_keys=True) + " -->\n")


def png_with_stamp(data, stamp):
    """PNG bytes with the stamp in a ``tEXt`` chunk after ``IHDR`` (pixels unchanged)."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    ihdr_end = len(PNG_SIGNATURE) + 8 + struct.unpack(">I", data[8:12])[0] + 4
    body = PNG_KEYWORD + b"\0" + json.dumps(stamp, sort_keys=True).encode("latin-1")
    chunk = (struct.pack(">I", len(body)) + b"tEXt" + body
             + struct.pack(">I", zlib.crc32(b"tEXt" + body) & 0xFFFFFFFF))
    return data[:ihdr_end] + chunk + data[ihdr_end:]


def _png_text_chunks(data):
    position = len(PNG_SIGNATURE)
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        if kind == b"tEXt":
            yield data[position + 8:position + 8 + length]
        if kind == b"IEND":
            return
        position += 12 + length


def read_stamp(path):
    """The stamp of a result file (``.json``, ``.md`` or ``.png``), or None if it has none."""
    if path.endswith(".json"):
        with open(path) as f:
            data = json.load(f)
        return data.get("stamp") if isinstance(data, dict) else None
    if path.endswith(".md"):
        with open(path) as f:
            text = f.read()
        found = re.findall(r"^" + re.escape(MARKDOWN_STAMP) + r"(\{.*\}) -->$", text, re.M)
        return json.loads(found[-1]) if found else None
    if path.endswith(".png"):
        with open(path, "rb") as f:
            data = f.read()
        if not data.startswith(PNG_SIGNATURE):
            return None
        for body in _png_text_chunks(data):
            keyword, _, text = body.partition(b"\0")
            if keyword == PNG_KEYWORD:
                return json.loads(text.decode("latin-1"))
    return None


# ----------------------------------------------------------------------------- writing


class Results:
    """Where one run writes (``<out>/<study>/``) and how: every file stamped.

    Args:
        args: the parsed arguments (``args.out``, ``args.study``, ``args.name``).
        argv: the command-line arguments as given (for the stamp's command).
    """

    def __init__(self, args, argv):
        self.args = args
        self.argv = list(argv)
        self.study = args.study
        self.folder = os.path.join(args.out, args.study)
        self.precision = "not stated"

    def path(self, name):
        """``<out>/<study>/<name>``; the folder is created on first use."""
        os.makedirs(self.folder, exist_ok=True)
        return os.path.join(self.folder, name)

    def stamp(self):
        """A fresh stamp of this run (:func:`make_stamp`) with :attr:`precision`."""
        return make_stamp(self.study, self.argv, self.args, self.precision)

    def write_json(self, name, data, **dump_kwargs):
        """Writes ``data`` (a dict) with the stamp under ``"stamp"``; returns the path."""
        path = self.path(name)
        with open(path, "w") as f:
            json.dump({**data, "stamp": self.stamp()}, f, **dump_kwargs)
        return path

    def write_markdown(self, name, text):
        """Writes ``text`` followed by the stamp; returns the path."""
        path = self.path(name)
        with open(path, "w") as f:
            f.write(markdown_with_stamp(text, self.stamp()))
        return path

    def stamp_png(self, path):
        """Adds the stamp to a PNG a script has just written at ``path``."""
        if not os.path.isfile(path):  # e.g. no matplotlib: the script skipped its plot
            return path
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(png_with_stamp(data, self.stamp()))
        return path


# ------------------------------------------------ runs in child processes

def record_path(folder, spec, seed):
    """Where the child process of run ``spec`` (``base:key=value``) at ``seed`` writes its
    JSON record (its log beside it, ``.log``)."""
    return os.path.join(folder, f"{spec.replace(':', '+').replace('=', '-')}_s{seed}.json")


def run_records(args, folder, launch, before_first=None, poll_seconds=5.0):
    """Runs every ``(spec, seed)`` of ``args.runs`` x ``args.seeds``, ``args.jobs`` at a
    time, each in a child process, and returns their records.

    ``launch(spec, seed, record_path) -> subprocess.Popen`` starts one child,
    which writes its record to the path. A record already in ``folder`` (an
    earlier, interrupted call) is kept and not run again; ``before_first()``
    runs once before the first child starts (e.g. training a shared
    classifier once); with ``args.report_only`` nothing runs and the records
    found are returned (SystemExit if there are none). Records come back in
    the order of ``args.runs``, then seed.
    """
    import json
    import time

    queue = [(spec, int(seed)) for spec in args.runs.split(",") for seed in args.seeds]
    records, running = [], []
    for spec, seed in list(queue):  # a record from an earlier call: kept (resume)
        path = record_path(folder, spec, seed)
        if os.path.isfile(path):
            with open(path) as f:
                records.append(json.load(f))
            queue.remove((spec, seed))
            if not getattr(args, "report_only", False):
                print(f"kept the record of {spec} seed {seed}", flush=True)
    if getattr(args, "report_only", False):
        if not records:
            raise SystemExit(f"--report_only: no records of --runs in {folder}")
        queue = []
    if queue and before_first is not None:
        before_first()
    while queue or running:
        while queue and len(running) < args.jobs:
            spec, seed = queue.pop(0)
            path = record_path(folder, spec, seed)
            running.append((spec, seed, launch(spec, seed, path), path))
            print(f"started {spec} seed {seed}", flush=True)
        time.sleep(poll_seconds)
        for item in list(running):
            spec, seed, process, path = item
            if process.poll() is None:
                continue
            running.remove(item)
            if process.returncode:
                raise SystemExit(f"{spec} seed {seed} failed; see {path[:-5]}.log")
            with open(path) as f:
                records.append(json.load(f))
            print(f"finished {spec} seed {seed}: {records[-1]['curve'][-1]}", flush=True)
    order = args.runs.split(",")
    return sorted(records, key=lambda r: (order.index(r["run"]), r["seed"]))


def start_child(command, path):
    """``subprocess.Popen(command)`` with its output in ``<path without .json>.log``."""
    import subprocess

    log = open(path[:-5] + ".log", "w")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
