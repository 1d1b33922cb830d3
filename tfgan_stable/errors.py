"""The errors a user can cause, apart from the bugs a user can only report.

The binaries print a :class:`ConfigError` as one line and exit with status 2;
any other exception is a bug and keeps its traceback. Both classes subclass
the built-in error a Python caller would expect (``ValueError``,
``FileNotFoundError``), so ``except ValueError`` keeps working.
"""


class ConfigError(ValueError):
    """Bad input: a config value, a data source, a workdir, a command-line flag."""


class MissingPathError(ConfigError, FileNotFoundError):
    """A file or folder named by the user does not exist."""


class Interrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C) at ``generator_steps``; a rerun resumes it
    from the last backup. A ``KeyboardInterrupt``, so ``except KeyboardInterrupt``
    keeps working."""

    def __init__(self, generator_steps):
        super().__init__(f"interrupted at step {generator_steps}")
        self.generator_steps = generator_steps
