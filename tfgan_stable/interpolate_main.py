"""``tfgan-interpolate``: a grid of latent interpolations from an exported generator.

    tfgan-interpolate --model=saved_models/began_digits --output=interpolation.png \\
        [--rows=4] [--steps=8] [--seed=0]

``--model`` is a SavedModel version folder, a model folder (newest version) or
a training workdir. Each row walks a straight line between two random latent
vectors drawn from the distribution the model was trained with; for a
class-conditional export, within one class: the classes in turn down the rows,
or ``--label``'s in every row.
"""

import sys

from absl import flags

from tfgan_stable import cli  # importing the package quiets TensorFlow for the binaries

FLAGS = flags.FLAGS
REQUIRED_FLAGS = ("model",)
flags.DEFINE_string("model", None, "SavedModel version folder, model folder or workdir.")
flags.DEFINE_string("output", "interpolation.png",
                    "Where to write the grid; .png, .jpg, .bmp, .gif or .tif picks the format.")
flags.DEFINE_integer("rows", 4, "Number of interpolations, grid rows (1..64).",
                     lower_bound=1, upper_bound=64)
flags.DEFINE_integer("steps", 8, "Images per interpolation, end points included (2..64).",
                     lower_bound=2, upper_bound=64)
flags.DEFINE_integer("seed", 0, "Seed of the end points (>= 0).", lower_bound=0)
flags.DEFINE_integer("label", -1, "A conditional export's class for every row (-1: the "
                     "classes in turn).", lower_bound=-1)


def interpolate():
    from tfgan_stable import interpolation
    from tfgan_stable.utils import files
    from tfgan_stable.utils.images import IMAGE_FORMATS, save_image

    files.check_output_file(FLAGS.output, "output", tuple(IMAGE_FORMATS))  # before any work
    import numpy as np

    from tfgan_stable.errors import ConfigError

    exported = interpolation.open_export(FLAGS.model)
    path, row_labels = exported.path, None
    if FLAGS.label >= 0 and FLAGS.label >= max(exported.num_classes, 1):
        raise ConfigError(f"--label={FLAGS.label}: the export at {path!r} is "
                          + (f"conditional on {exported.num_classes} classes (0.."
                             f"{exported.num_classes - 1})" if exported.num_classes
                             else "unconditional (leave --label out)"))
    if exported.num_classes:
        row_labels = (np.full(FLAGS.rows, FLAGS.label) if FLAGS.label >= 0
                      else np.arange(FLAGS.rows) % exported.num_classes)
    grid, _ = interpolation.interpolation_grid(
        exported.generate, exported.latent_dim, rows=FLAGS.rows, num_steps=FLAGS.steps,
        seed=FLAGS.seed, distribution=exported.distribution, row_labels=row_labels)
    save_image(grid, FLAGS.output)
    print(f"[tfgan_stable] wrote {FLAGS.rows}x{FLAGS.steps} interpolations from {path} "
          f"to {FLAGS.output}")
    return 0


def run():
    """Console-script entry point."""
    cli.run("tfgan-interpolate", sys.modules[__name__], interpolate)


if __name__ == "__main__":
    run()
