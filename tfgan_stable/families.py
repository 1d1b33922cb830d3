"""What a GAN family declares about itself, and the one list of families.

Each family module defines its ``keras.Model`` and registers a :class:`Family`:
its config section (a frozen dataclass of options, written in YAML under the
family's name), how its networks and GAN are built from a config, the
callbacks it needs and, if it is not one ``fit`` of ``train.steps``, how it
is fitted. ``config``, the builders and the binary ask the registry instead of
branching on family names, so adding a family is adding one module (see the
README's "Add your own family").
"""

import dataclasses
from typing import Any, Callable, Optional, Sequence

from tfgan_stable.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """The config section of a family without options of its own."""

    def check(self, config):
        del config


@dataclasses.dataclass(frozen=True)
class Family:
    """A GAN family as the config and the binary see it.

    Attributes:
      name: ``model.family`` and the name of its config section.
      gan_class: the ``keras.Model`` subclass.
      options: a frozen dataclass whose fields are the keys of the family's
        config section (types and defaults); its ``check(config)`` raises
        :class:`ConfigError` for bad values, naming ``<family>.<key>``.
      gan_kwargs: ``options -> dict`` of constructor arguments of ``gan_class``.
      architectures: the ``model.architecture`` values it can train; empty:
        the generic ones (``dcgan`` for images, ``mlp`` for vectors). The first
        is the default for images.
      critic_normalization: ``model.d_normalization`` when that is null.
      critic_spectral_norm: ``model.d_spectral_norm`` when that is null.
      build_networks: ``(config, examples, architecture) -> (generator,
        discriminator)`` for an architecture of its own; None: the generic builders.
      callbacks: ``config -> list`` of callbacks that change the training state.
      train_steps: ``(config, n_critic) -> int`` Keras train steps of a run;
        None: ``train.steps``.
      fit: ``(gan, examples, config, workdir, state_callbacks, common_callbacks)
        -> (history, initial_epoch)``; None: one ``fit`` of ``train.steps``.
      batch_sizes: ``config -> list`` of the batch sizes a run uses; None:
        ``[train.batch_size]``.
      fit_lengths: ``(config, n_critic) -> list`` of the train steps of each
        ``fit`` a run makes, which ``steps_per_execution: auto`` must divide
        (an empty list: executions of one step); None: ``[train_steps]``.
      config_kwargs: ``config -> dict`` of constructor arguments that depend
        on more than the family's section (R3GAN: its schedule's length).
    """

    name: str
    gan_class: type
    options: type = NoOptions
    gan_kwargs: Callable[[Any], dict] = lambda options: {}
    architectures: Sequence[str] = ()
    critic_normalization: str = "batch"
    critic_spectral_norm: bool = False
    build_networks: Optional[Callable] = None
    callbacks: Callable[[Any], list] = lambda config: []
    train_steps: Optional[Callable] = None
    fit: Optional[Callable] = None
    batch_sizes: Optional[Callable] = None
    fit_lengths: Optional[Callable] = None
    config_kwargs: Callable[[Any], dict] = lambda config: {}


_FAMILIES = {}


def register(family):
    """Adds ``family`` to the registry (a family module does this once); returns it."""
    if not isinstance(family, Family):
        raise TypeError(f"register needs a Family, got {type(family).__name__}")
    _FAMILIES[family.name] = family
    return family


def unregister(name):
    """Removes a registered family (for families defined in tests or notebooks)."""
    _FAMILIES.pop(name, None)


def get(name):
    """The registered :class:`Family` called ``name``; ConfigError naming the valid ones."""
    if name not in _FAMILIES:
        raise ConfigError(f"model.family must be one of {names()}, got {name!r}")
    return _FAMILIES[name]


def names():
    """The registered family names, sorted."""
    return sorted(_FAMILIES)


# Architectures every family whose critic scores samples can train.
GENERIC_ARCHITECTURES = ("dcgan", "mlp", "resnet")


def own_architectures():
    """Architectures that belong to one family (BEGAN's, ProGAN's) and no other."""
    return {arch for family in _FAMILIES.values() for arch in family.architectures
            if arch not in GENERIC_ARCHITECTURES}
