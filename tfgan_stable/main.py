"""``tfgan-train``: train a GAN from a YAML config (absl flags).

    tfgan-train --config=configs/wgan_gp_digits.yaml --workdir=runs/demo \\
        [--override train.steps=200 ...] [--dry_run]

Rerunning with the same ``--workdir`` resumes an interrupted run.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow C++ INFO/WARNING off

from absl import app, flags, logging  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("config", None, "Path of the YAML experiment config.")
flags.DEFINE_string("workdir", None, "Run folder: resolved config, backups, samples, logs.")
flags.DEFINE_multi_string("override", [], "section.key=value, e.g. train.steps=200.")
flags.DEFINE_bool("dry_run", False, "Print the resolved config and exit.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    from tfgan_stable import config as config_lib

    try:
        config = config_lib.load(FLAGS.config, FLAGS.override)
    except (ValueError, FileNotFoundError) as e:
        print(f"tfgan-train: error: {e}", file=sys.stderr)
        return 2
    if FLAGS.dry_run:
        print(config.to_yaml(), end="")
        return 0
    if not FLAGS.workdir:
        print("tfgan-train: error: --workdir is required unless --dry_run", file=sys.stderr)
        return 2
    from tfgan_stable import train_lib
    from tfgan_stable.callbacks import NonFiniteLossError

    try:
        train_lib.run(config, FLAGS.workdir)
    except (ValueError, FileNotFoundError) as e:
        print(f"tfgan-train: error: {e}", file=sys.stderr)
        return 2
    except NonFiniteLossError as e:
        print(f"tfgan-train: training failed: {e}", file=sys.stderr)
        return 1
    return 0


def run():
    """Console-script entry point."""
    flags.mark_flag_as_required("config")
    app.run(main)


if __name__ == "__main__":
    run()
