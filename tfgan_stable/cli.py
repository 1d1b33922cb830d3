"""What the three binaries share: a quiet start, ``--help``, and exit statuses.

Exit status 0: done; 2: a user error (a :class:`~tfgan_stable.errors.ConfigError`
or a bad flag), printed as one line; 1: training failed (non-finite loss); any
other exception is a bug and keeps its traceback.

This module must not import TensorFlow: :func:`quiet_tensorflow` has to run first.
"""

import os
import re
import sys
import tempfile

from absl import app, flags, logging

HELP_FLAGS = ("-h", "-help", "--help", "--helpshort", "-?")
PROGRAMS = {"tfgan-train": "tfgan_stable.main", "tfgan-eval": "tfgan_stable.eval_main",
            "tfgan-interpolate": "tfgan_stable.interpolate_main"}
_ABSL_VERBOSITY = {"debug": 1, "info": 0, "warning": -1, "error": -2, "fatal": -3}


def _flag_value(argv, name):
    for i, arg in enumerate(argv):
        for prefix in (f"--{name}=", f"-{name}="):
            if arg.startswith(prefix):
                return arg[len(prefix):]
        if arg in (f"--{name}", f"-{name}") and i + 1 < len(argv):
            return argv[i + 1]
    return None


def tensorflow_log_level(argv, environ):
    """``TF_CPP_MIN_LOG_LEVEL`` for a run: the user's, else from ``--verbosity``, else 3.

    3 silences TensorFlow's C++ log lines (start-up notices, and grappler's
    "remapper failed" errors that a gradient penalty's graph triggers on every
    run; Python exceptions are unaffected); an absl ``--verbosity`` of info (0)
    or more shows them all, warning (-1) warnings and errors, error (-2) errors.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in environ:
        return environ["TF_CPP_MIN_LOG_LEVEL"]
    verbosity = _flag_value(argv, "verbosity") or _flag_value(argv, "v")
    if verbosity is None:
        return "3"
    try:
        level = int(verbosity)
    except ValueError:
        level = _ABSL_VERBOSITY.get(verbosity.lower(), -1)
    return str(min(3, max(0, -level)))


def running_a_binary(argv=None, orig_argv=None):
    """Whether this process is one of the binaries (``tfgan-train``, or ``python -m
    tfgan_stable.main``, ...), which quiet TensorFlow's start-up; a library user's
    process keeps TensorFlow's logging as the user set it."""
    argv = sys.argv if argv is None else argv
    orig_argv = getattr(sys, "orig_argv", []) if orig_argv is None else orig_argv
    if argv and os.path.basename(argv[0]) in PROGRAMS:
        return True
    if argv and argv[0] == "-m":  # the package is imported while -m finds the module
        modules = [orig_argv[i + 1] for i, arg in enumerate(orig_argv[:-1]) if arg == "-m"]
        return bool(modules) and modules[0] in PROGRAMS.values()
    return False


def quiet_tensorflow(argv=None):
    """Sets ``TF_CPP_MIN_LOG_LEVEL`` before TensorFlow is imported (see above)."""
    argv = sys.argv if argv is None else argv
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = tensorflow_log_level(argv, os.environ)


# TensorFlow's C++ start-up lines: absl-format log lines, the banner absl prints
# before them, the CPU-feature line's continuation, and the CUDA probes that fail
# on machines without a GPU. They bypass TF_CPP_MIN_LOG_LEVEL (they are logged
# before absl's logging is initialised).
_STARTUP_NOISE = re.compile(
    r"^(?:[IW]\d{4} [\d:.]+ +\d+ [^\]]+\] "
    r"|E\d{4} .*(?:cuInit|cuda|Unable to register)"
    r"|WARNING: All log messages before absl::InitializeLog\(\)"
    r"|To enable the following instructions:)")


def import_tensorflow():
    """Imports TensorFlow and finds its devices, keeping its start-up noise off stderr.

    With ``TF_CPP_MIN_LOG_LEVEL`` >= 2 (the binaries default to 3) the C++ lines written
    to stderr meanwhile are captured and every line but the start-up noise is
    written back; with a lower level nothing is touched.
    """
    if int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") or 0) < 2:
        import tensorflow as tf

        tf.config.list_physical_devices()
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode(errors="replace").splitlines(keepends=True):
                if not _STARTUP_NOISE.match(line):
                    sys.stderr.write(line)
            sys.stderr.flush()


def usage(module):
    """The module's docstring and one line per flag it defines."""
    lines = [(module.__doc__ or "").strip(), "", "flags:"]
    for flag in sorted(flags.FLAGS.get_flags_for_module(module.__name__),
                       key=lambda f: f.name):
        text = flag.help.split(";")[0]  # absl appends "; repeat this option..."
        if isinstance(flag, flags.MultiFlag):
            text += " (repeatable)"
        if flag.name in _required(module):
            text += " (required)"
        elif flag.default not in (None, "", []):
            default = str(flag.default).lower() if isinstance(flag.default, bool) else flag.default
            text += f" (default: {default})"
        lines.append(f"  --{flag.name}: {text}")
    lines.append("  --verbosity: absl logging verbosity; also shows TensorFlow's start-up "
                 "lines at 0 (info)")
    return "\n".join(lines)


def _required(module):
    return getattr(module, "REQUIRED_FLAGS", ())


def _parse_flags(program, module):
    def parse(argv):
        try:
            rest = flags.FLAGS(argv)
        except flags.Error as error:
            print(f"{program}: error: {error}", file=sys.stderr)
            sys.exit(2)
        missing = [name for name in _required(module) if flags.FLAGS[name].value is None]
        if missing:
            print(f"{program}: error: --{missing[0]} is required (see --help)", file=sys.stderr)
            sys.exit(2)
        if len(rest) > 1:
            print(f"{program}: error: unexpected arguments {rest[1:]} (see --help)",
                  file=sys.stderr)
            sys.exit(2)
        return rest

    return parse


def run(program, module, body):
    """Runs ``body()`` as the binary ``program``; maps errors to exit statuses.

    Args:
      program: the binary's name, used in messages.
      module: the binary's module (its docstring and flags make ``--help``).
      body: a function of no arguments returning the exit status.
    """
    if any(arg in HELP_FLAGS for arg in sys.argv[1:]):
        print(usage(module))
        sys.exit(0)

    def main(argv):
        del argv
        if not flags.FLAGS["verbosity"].present:
            logging.set_verbosity(logging.WARNING)
        from tfgan_stable.errors import ConfigError

        import_tensorflow()
        try:
            return body()
        except ConfigError as error:
            print(f"{program}: error: {error}", file=sys.stderr)
            return 2

    app.run(main, flags_parser=_parse_flags(program, module))
