"""``tfgan-train``: train a GAN from a YAML config (absl flags).

    tfgan-train --config=configs/wgan_gp_digits.yaml --workdir=runs/demo \\
        [--override train.steps=200 ...] [--dry_run]

Rerunning with the same ``--workdir`` resumes an interrupted run.
"""

import sys

from absl import flags

from tfgan_stable import cli  # importing the package quiets TensorFlow for the binaries

FLAGS = flags.FLAGS
REQUIRED_FLAGS = ("config",)
flags.DEFINE_string("config", None, "Path of the YAML experiment config.")
flags.DEFINE_string("workdir", None, "Run folder: resolved config, backups, samples, logs.")
flags.DEFINE_multi_string("override", [], "section.key=value, e.g. train.steps=200.")
flags.DEFINE_bool("dry_run", False, "Print the resolved config and exit.")


def train():
    from tfgan_stable import config as config_lib
    from tfgan_stable.errors import ConfigError

    config = config_lib.load(FLAGS.config, FLAGS.override)
    if FLAGS.dry_run:  # with what the run would resolve from the machine
        import contextlib

        from tfgan_stable import train_lib

        with contextlib.redirect_stdout(sys.stderr):  # stdout carries the YAML alone
            config = train_lib.resolve_precision(config, FLAGS.workdir)
            config = train_lib.resolve_steps_per_execution(
                train_lib.resolve_fast_layers(config, workdir=FLAGS.workdir))
        print(config.to_yaml(), end="")
        return 0
    if not FLAGS.workdir:
        raise ConfigError("--workdir is required unless --dry_run")
    from tfgan_stable import train_lib
    from tfgan_stable.callbacks import NonFiniteLossError

    try:
        train_lib.run(config, FLAGS.workdir)
    except NonFiniteLossError as e:
        print(f"tfgan-train: training failed: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:  # Ctrl-C: one line, the shell's status for SIGINT
        step = getattr(e, "generator_steps", None)
        where = "" if step is None else f" at step {step}"
        print(f"tfgan-train: interrupted{where}; rerun the same command to resume",
              file=sys.stderr)
        return 130
    return 0


def run():
    """Console-script entry point."""
    cli.run("tfgan-train", sys.modules[__name__], train)


if __name__ == "__main__":
    run()
