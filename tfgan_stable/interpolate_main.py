"""``tfgan-interpolate``: a grid of latent interpolations from an exported generator.

    tfgan-interpolate --model=saved_models/began_digits --output=interpolation.png \\
        [--rows=4] [--steps=8] [--seed=0]

``--model`` is a SavedModel version folder, a model folder (newest version) or
a training workdir. Each row walks a straight line between two random latent
vectors drawn from the distribution the model was trained with.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow C++ INFO/WARNING off

from absl import app, flags, logging  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "SavedModel version folder, model folder or workdir.")
flags.DEFINE_string("output", "interpolation.png", "Where to write the PNG grid.")
flags.DEFINE_integer("rows", 4, "Number of interpolations (grid rows).")
flags.DEFINE_integer("steps", 8, "Images per interpolation, end points included.")
flags.DEFINE_integer("seed", 0, "Seed of the end points.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    from tfgan_stable import callbacks, interpolation

    try:
        generate, latent_dim, distribution, path = interpolation.load_exported(FLAGS.model)
        grid, _ = interpolation.interpolation_grid(
            generate, latent_dim, rows=FLAGS.rows, num_steps=FLAGS.steps, seed=FLAGS.seed,
            distribution=distribution)
    except (ValueError, FileNotFoundError) as e:
        print(f"tfgan-interpolate: error: {e}", file=sys.stderr)
        return 2
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
    callbacks.save_png(grid, FLAGS.output)
    print(f"[tfgan_stable] wrote {FLAGS.rows}x{FLAGS.steps} interpolations from {path} "
          f"to {FLAGS.output}")
    return 0


def run():
    """Console-script entry point."""
    flags.mark_flag_as_required("model")
    app.run(main)


if __name__ == "__main__":
    run()
