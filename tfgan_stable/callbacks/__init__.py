"""Keras callbacks that make training visible and bounded, one concern a module.

Thin drivers in the shape of ``keras.callbacks``: they read the model, write
files or summaries, and never hold training state of their own.
"""

from tfgan_stable.callbacks.backup import Backup, save_weights_atomically
from tfgan_stable.callbacks.began import BeganEquilibrium
from tfgan_stable.callbacks.evaluation import PeriodicEvaluation
from tfgan_stable.callbacks.progressive import ProgressiveGrowing
from tfgan_stable.callbacks.samples import SampleGrid
from tfgan_stable.callbacks.stopping import (
    NonFiniteLossError,
    StopAtGeneratorStep,
    StopOnNonFiniteLoss,
)
from tfgan_stable.utils.images import image_grid, save_png, scatter_plot

__all__ = [
    "Backup",
    "BeganEquilibrium",
    "NonFiniteLossError",
    "PeriodicEvaluation",
    "ProgressiveGrowing",
    "SampleGrid",
    "StopAtGeneratorStep",
    "StopOnNonFiniteLoss",
    "image_grid",
    "save_png",
    "save_weights_atomically",
    "scatter_plot",
]
