"""The experiment's schema: frozen dataclasses, their checks, and the family defaults.

A :class:`Config` is validated (``validate``) and has every null that means
"the family paper's value" resolved when it is made, so what a run writes to
its ``config.yaml`` reproduces it alone. A family's own section comes from the
family (:mod:`tfgan_stable.families`); reading YAML is :mod:`.loading`'s job.
"""

from __future__ import annotations

import dataclasses
import numbers
import os
from typing import Any, Optional, Sequence

import yaml

from tfgan_stable import families as family_registry
from tfgan_stable import optimizers
from tfgan_stable.errors import ConfigError

ARCHITECTURES = ("began", "dcgan", "mlp", "progan", "resnet")
NORMALIZATIONS = ("batch", "layer", "none")
LEARNING_RATE_DECAYS = ("cosine", "linear", "none")
MIXED_PRECISION_POLICIES = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
CHANNELS = ("auto", 1, 3)
DATA_LABELS = ("none", "inferred")
BACKGROUNDS = {"white": (255, 255, 255), "black": (0, 0, 0)}
OPTIMIZER_NAMES = ("adam", "optimistic_adam", "rmsprop")
FAST_LAYERS = ("auto", "on", "off")
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the real samples come from.

    Attributes:
      name: ``digits``, ``fashion_mnist``, ``ring8``, ``grid25``,
        ``tfds:<name>``, ``folder:<path>`` or ``npy:<path>``.
      path: directory of Fashion-MNIST IDX files (empty: Debian's
        ``/usr/share/datasets/fashion-mnist`` if present, else TFDS).
      resolution: image side length, a power of two >= 4 (images only).
      channels: 1 (grayscale), 3 (RGB) or ``auto``: images are converted to
        this many channels; ``auto`` keeps a source's own count, or for a
        folder of mixed images takes the most common one (and says so).
      num_samples: how many points to draw for the toy mixtures.
      shuffle_buffer: size of the tf.data shuffle buffer.
      labels: ``none`` or ``inferred``: (image, label) pairs, the classes a
        ``folder:`` source's subfolders (sorted by name), the data set's own
        for ``digits``, ``fashion_mnist`` and ``tfds:`` (its ``label``).
      background: what transparent pixels become: ``white``, ``black`` or
        ``[r, g, b]`` ints 0..255 (images with alpha are composited over it).
      class_balanced: sample every class equally often (labels needed; the
        smaller classes' images repeat), for data held in memory.
    """

    name: str = "digits"
    path: str = ""
    resolution: int = 16
    channels: Any = "auto"
    num_samples: int = 100_000
    shuffle_buffer: int = 10_000
    labels: str = "none"
    background: Any = "white"
    class_balanced: bool = False

    def __post_init__(self):
        if isinstance(self.background, list):  # from YAML; a tuple keeps the config hashable
            object.__setattr__(self, "background", tuple(self.background))


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The GAN family and the networks every family shares.

    ``None`` means "the paper's default for this family" (see ``gans/``);
    ``architecture: null`` picks the family's own architecture (BEGAN's,
    ProGAN's), ``mlp`` for vector data and ``dcgan`` otherwise. A family's
    own options live in a config section named after it (``wgan_gp:``,
    ``began:``, ...; see :mod:`tfgan_stable.families`). ``pack``: PacGAN's
    packing degree (:mod:`tfgan_stable.packing`), the samples the critic scores
    at once; DCGAN, WGAN and WGAN-GP only, and it must divide the batch size.
    ``fast_layers``: ``auto`` (the library's faster layers where they were
    measured to pay: bfloat16 on a CPU that computes it, never on a GPU or
    TPU; :mod:`tfgan_stable.fast`), ``on`` or ``off``; the run writes the
    choice into its config.
    ``d_spectral_norm``: wrap the critic's layers in
    :class:`tfgan_stable.networks.SpectralNorm` (Miyato 2018; ``dcgan`` and
    ``mlp`` architectures); null: the family's choice (SNGAN's: true).
    ``r1_gamma``, ``r2_gamma``: zero-centred gradient penalties on the
    critic's real and generated inputs (Mescheder 2018), weighted
    ``gamma / 2``; null: the family's (R3GAN: 0.05 each, others 0).
    ``r_every``: apply them lazily, every this many critic updates.
    ``conditional``: train a class-conditional GAN on the data's labels
    (``data.labels: inferred``): the generator takes a class, the critic is a
    projection discriminator (Miyato & Koyama 2018;
    :mod:`tfgan_stable.networks.conditional`); families that train with the
    shared step (dcgan, wgan, wgan_gp, sngan, r3gan), ``dcgan`` and ``resnet``
    architectures.
    """

    family: str = "wgan_gp"
    architecture: Optional[str] = None
    latent_dim: int = 64
    g_filters: int = 64
    d_filters: int = 64
    max_filters: int = 512
    hidden_units: Sequence[int] = (128, 128, 128)
    d_normalization: Optional[str] = None
    g_normalization: str = "batch"
    n_critic: Optional[int] = None
    g_ema_decay: Optional[float] = None
    g_ema_half_life_images: Optional[int] = None
    g_ema_rampup: Optional[float] = None
    pack: int = 1
    fast_layers: str = "auto"
    d_spectral_norm: Optional[bool] = None
    r1_gamma: Optional[float] = None
    r2_gamma: Optional[float] = None
    r_every: int = 1
    conditional: bool = False


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """Optimizer settings; ``None`` takes the family's published default.

    ``name``: ``adam``, ``rmsprop`` or ``optimistic_adam`` (Daskalakis 2018,
    :class:`tfgan_stable.optimizers.OptimisticAdam`) for both networks.
    ``decay``: ``none`` (constant learning rates), ``linear``: each falls
    linearly to ``decay_floor`` x its start by the end of ``train.steps``
    (the critic's over its ``train.steps`` x ``n_critic`` updates), as in
    the WGAN-GP authors' CIFAR-10 script, or ``cosine``: along half a cosine,
    as R3GAN's (2e-4 -> 5e-5: ``decay_floor: 0.25``). A rerun with
    ``train.steps`` raised continues on the longer schedule, from the value
    it has at the step reached.
    """

    name: Optional[str] = None
    d_learning_rate: Optional[float] = None
    g_learning_rate: Optional[float] = None
    beta_1: Optional[float] = None
    beta_2: Optional[float] = None
    decay: str = "none"
    decay_floor: float = 0.0


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The training loop.

    Attributes:
      steps: generator steps in total.
      steps_per_epoch: generator steps between backups, sample grids and
        epoch logs.
      batch_size: global batch size of real samples per critic step.
      eval_every: score samples with ``tfgan_stable.metrics`` every this many
        generator steps (0: off); ``eval_samples`` samples, ``eval_metrics``
        names (empty: the ones that fit the data). Logged to TensorBoard.
      strategy: ``default`` (one device), ``mirrored`` (all local GPUs, or
        ``devices``), ``multi_worker`` (``MultiWorkerMirroredStrategy``, the
        cluster from ``TF_CONFIG``) or ``tpu`` (the TPU named by ``tpu``).
      mixed_precision: ``auto`` (``mixed_bfloat16`` where the CPU has AMX-BF16
        or AVX512-BF16, the GPUs compute capability 8.0+, or on TPUs;
        ``float32`` elsewhere: see :mod:`tfgan_stable.hardware`; a resumed
        run keeps the precision it started with), ``float32`` (or null),
        ``mixed_float16`` (dynamic loss scaling) or ``mixed_bfloat16``;
        variables, losses and penalties stay float32, exports serve float32.
      deterministic: enable TensorFlow's op determinism (reproducible reruns
        and resumes, somewhat slower).
    """

    steps: int = 2000
    steps_per_epoch: int = 200
    batch_size: int = 64
    seed: int = 0
    steps_per_execution: Any = "auto"
    jit_compile: bool = False
    sample_grid_size: int = 8
    verbose: int = 1
    eval_every: int = 0
    eval_samples: int = 2000
    eval_metrics: Sequence[str] = ()
    strategy: str = "default"
    devices: Sequence[str] = ()
    tpu: str = ""
    mixed_precision: Optional[str] = "auto"
    deterministic: bool = False


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Differentiable augmentation of every input the critic sees (:mod:`tfgan_stable.augment`).

    Attributes:
      policy: operations among ``color``, ``translation``, ``cutout``,
        comma-separated (DiffAugment, Zhao 2020: all three); empty: off.
        Images only.
      probability: each operation's probability per sample; null: 1, or 0
        as the start of an adaptive p.
      target: adapt p as ADA does (Karras 2020): up while the critic's
        overfitting signal is above this (ADA: 0.6), down below; null: fixed.
      speed_images: real images over which p can move from 0 to 1 (ADA: 500k).
      interval: critic updates between adjustments of p (ADA: 4).
    """

    policy: str = ""
    probability: Optional[float] = None
    target: Optional[float] = None
    speed_images: int = 500_000
    interval: int = 4


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    """SavedModel export in TF Serving's ``<dir>/<name>/<version>/`` layout.

    ``all_resolutions`` (ProGAN): also export every intermediate resolution as
    ``<name>_<r>x<r>``. ``max_batch``: the largest batch (``z`` rows, or
    ``generate``'s ``num``) the export serves; larger requests fail with an
    error naming the bound.
    """

    enabled: bool = True
    dir: str = "saved_models"
    name: str = ""
    all_resolutions: bool = False
    max_batch: int = 1024


@dataclasses.dataclass(frozen=True)
class Config:
    """A whole experiment; ``family_options`` is the section of ``model.family``.

    ``family_options`` left as None takes the family's defaults.
    """

    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    optimizer: OptimizerConfig = OptimizerConfig()
    train: TrainConfig = TrainConfig()
    augment: AugmentConfig = AugmentConfig()
    export: ExportConfig = ExportConfig()
    family_options: Any = None

    def __post_init__(self):
        family = family_of(self.model.family)
        if self.family_options is None:
            object.__setattr__(self, "family_options", family.options())
        # Defaults resolved once, here: null means "the family paper's value", and
        # the value itself is what config.yaml, --dry_run and the export record.
        object.__setattr__(self, "model", _resolved_model(self.model, family))
        object.__setattr__(self, "optimizer", _resolved_optimizer(self.optimizer, family))
        if self.augment.probability is None:  # DiffAugment's 1, or ADA's start at 0
            object.__setattr__(self, "augment", dataclasses.replace(
                self.augment, probability=0.0 if self.augment.target is not None else 1.0))

    @property
    def family(self):
        """The registered :class:`~tfgan_stable.families.Family` of ``model.family``."""
        return family_of(self.model.family)

    def validate(self) -> "Config":
        """Checks values that the types alone do not; returns self."""
        family = self.family
        if not isinstance(self.family_options, family.options):
            raise ConfigError(
                f"the options of model.family={family.name!r} must be a "
                f"{family.options.__name__}, got {type(self.family_options).__name__}")
        arch = self.model.architecture
        if arch is not None:
            _check_choice("model.architecture", arch, ARCHITECTURES)
            allowed = family.architectures or [
                a for a in ARCHITECTURES if a not in family_lib().own_architectures()]
            if arch not in allowed:
                raise ConfigError(
                    f"model.architecture={arch!r} cannot train model.family={family.name!r}; "
                    f"it trains {sorted(allowed)} (BEGAN and ProGAN need architectures of "
                    "their own, which the other families cannot use)")
        if self.optimizer.name is not None:
            _check_choice("optimizer.name", self.optimizer.name, OPTIMIZER_NAMES)
        _check_choice("optimizer.decay", self.optimizer.decay, LEARNING_RATE_DECAYS)
        _check_optimizer_values(self.optimizer)
        _check_choice("model.g_normalization", self.model.g_normalization, NORMALIZATIONS)
        _check_choice("model.fast_layers", self.model.fast_layers, FAST_LAYERS)
        if self.model.d_normalization is not None:
            _check_choice("model.d_normalization", self.model.d_normalization, NORMALIZATIONS)
        if self.data.channels not in CHANNELS:
            raise ConfigError(f"data.channels must be one of {list(CHANNELS)}, "
                              f"got {self.data.channels!r}")
        _check_data_labels(self.data)
        res = self.data.resolution
        if res < 4 or res & (res - 1):
            raise ConfigError(f"data.resolution must be a power of two >= 4 (the library's "
                              f"networks double from 4x4; networks of your own train on "
                              f"any size from Python), got {res}")
        for field, value, low in [
            ("data.num_samples", self.data.num_samples, 1),
            ("data.shuffle_buffer", self.data.shuffle_buffer, 1),
            ("model.latent_dim", self.model.latent_dim, 1),
            ("model.g_filters", self.model.g_filters, 1),
            ("model.d_filters", self.model.d_filters, 1),
            ("model.max_filters", self.model.max_filters, 1),
            ("train.steps", self.train.steps, 1),
            ("train.steps_per_epoch", self.train.steps_per_epoch, 1),
            ("train.batch_size", self.train.batch_size, 1),
            ("train.sample_grid_size", self.train.sample_grid_size, 1),
            ("train.eval_every", self.train.eval_every, 0),
            ("train.eval_samples", self.train.eval_samples, 2),
            ("export.max_batch", self.export.max_batch, 1),
        ]:
            if value < low:
                raise ConfigError(f"{field} must be >= {low}, got {value}")
        if self.model.n_critic is not None and self.model.n_critic < 1:
            raise ConfigError(f"model.n_critic must be >= 1, got {self.model.n_critic}")
        self._check_pack()
        if not self.model.hidden_units or min(self.model.hidden_units) < 1:
            raise ConfigError(
                f"model.hidden_units must be a non-empty list of positive ints, "
                f"got {list(self.model.hidden_units)}"
            )
        from tfgan_stable import schedules

        try:
            schedules.check_ema(self.model.g_ema_decay, self.model.g_ema_half_life_images,
                                self.model.g_ema_rampup, owner="model")
        except ValueError as error:
            raise ConfigError(str(error)) from None
        spe = self.train.steps_per_execution
        if spe != "auto" and (isinstance(spe, bool) or not isinstance(spe, int) or spe < 1):
            raise ConfigError(f"train.steps_per_execution must be auto or an int >= 1, "
                              f"got {spe!r}")
        if spe not in ("auto", 1) and self.train.strategy == "multi_worker":
            raise ConfigError(
                f"train.steps_per_execution={spe} does not run under "
                "train.strategy=multi_worker (Keras' multi-step loop fails to feed its "
                "iterator there); use 1 or auto")
        if spe != "auto" and (self.train.steps_per_epoch % spe or self.train.steps % spe):
            raise ConfigError(
                f"train.steps ({self.train.steps}) and train.steps_per_epoch "
                f"({self.train.steps_per_epoch}) must be multiples of "
                f"train.steps_per_execution ({spe})"
            )
        _check_choice("train.strategy", self.train.strategy, STRATEGIES)
        if self.train.devices and self.train.strategy != "mirrored":
            raise ConfigError(f"train.devices applies to train.strategy=mirrored, "
                              f"got train.strategy={self.train.strategy!r}")
        if self.train.mixed_precision is not None:
            _check_choice("train.mixed_precision", self.train.mixed_precision,
                          MIXED_PRECISION_POLICIES)
        name = self.export.name
        if name and ("/" in name or os.sep in name or name.startswith(".")):
            raise ConfigError(f"export.name must be a plain folder name, got {name!r}")
        if self.train.verbose not in (0, 1, 2):
            raise ConfigError(f"train.verbose must be 0, 1 or 2, got {self.train.verbose}")
        self._check_stabilisers()
        self._check_conditioning()
        self.family_options.check(self)
        return self

    def _check_conditioning(self):
        """``model.conditional``: labels to condition on, a family and networks that take them."""
        model = self.model
        if not isinstance(model.conditional, bool):
            raise ConfigError(f"model.conditional must be true or false, "
                              f"got {model.conditional!r}")
        if self.data.class_balanced and self.family.fit is not None:
            raise ConfigError(f"data.class_balanced: model.family={model.family!r} builds its "
                              "own pipelines (one per stage); class-balanced sampling is for "
                              "the other families")
        if not model.conditional:
            return
        if self.data.labels != "inferred":
            raise ConfigError("model.conditional needs the data's labels: set data.labels: "
                              f"inferred (got data.labels={self.data.labels!r})")
        if not self.family.gan_class.supports_conditioning:
            able = [name for name in family_lib().names()
                    if family_lib().get(name).gan_class.supports_conditioning]
            raise ConfigError(f"model.conditional: model.family={model.family!r} trains "
                              f"unconditionally; conditional families: {able}")
        if model.pack > 1:
            raise ConfigError(f"model.conditional: packing (model.pack={model.pack}) joins "
                              "samples of different classes; use model.pack: 1")
        if model.architecture is not None and model.architecture not in ("dcgan", "resnet"):
            raise ConfigError(f"model.conditional: the {model.architecture!r} networks take "
                              "no label; use model.architecture dcgan or resnet")

    def _check_stabilisers(self):
        """Spectral norm, R1/R2 and augmentation: values, and what they can apply to."""
        model, gan_class = self.model, self.family.gan_class
        if model.d_spectral_norm not in (None, True, False):
            raise ConfigError(f"model.d_spectral_norm must be true, false or null, "
                              f"got {model.d_spectral_norm!r}")
        arch = model.architecture  # null: resolved from the data (build checks it then)
        if model.d_spectral_norm and arch is not None and arch not in ("dcgan", "mlp"):
            raise ConfigError(f"model.d_spectral_norm: the library's {arch!r} critic has no "
                              f"spectral norm option (dcgan and mlp have); got "
                              f"model.architecture={model.architecture!r}")
        if not 0.0 <= self.optimizer.decay_floor < 1.0:
            raise ConfigError(f"optimizer.decay_floor must be in [0, 1), "
                              f"got {self.optimizer.decay_floor!r}")
        aug = self.augment
        try:  # the constructor's own check, in the config's words
            gan_class.check_stabilisers(
                names={"r1_gamma": "model.r1_gamma", "r2_gamma": "model.r2_gamma",
                       "r_every": "model.r_every", "augment": "augment.policy",
                       "augment_probability": "augment.probability",
                       "augment_target": "augment.target",
                       "augment_speed_images": "augment.speed_images",
                       "augment_interval": "augment.interval"},
                r1_gamma=model.r1_gamma, r2_gamma=model.r2_gamma, r_every=model.r_every,
                augment=aug.policy, augment_probability=aug.probability,
                augment_target=aug.target, augment_speed_images=aug.speed_images,
                augment_interval=aug.interval)
        except ValueError as error:
            raise ConfigError(str(error)) from None

    def _check_pack(self):
        """``model.pack``: an int >= 1, a family whose critic packs, batches that split."""
        pack = self.model.pack
        if isinstance(pack, bool) or not isinstance(pack, int) or pack < 1:
            raise ConfigError(f"model.pack must be an int >= 1, got {pack!r}")
        if pack == 1:
            return
        if not self.family.gan_class.supports_packing:
            packers = [name for name in family_lib().names()
                       if family_lib().get(name).gan_class.supports_packing]
            raise ConfigError(f"model.pack={pack} (PacGAN) needs a family whose critic "
                              f"scores samples, one of {packers}; got "
                              f"model.family={self.model.family!r}")
        for batch in self.batch_sizes():
            if batch % pack:
                raise ConfigError(f"model.pack={pack} must divide the batch size, got "
                                  f"train.batch_size={batch}")

    def batch_sizes(self) -> list:
        """The batch sizes a run uses: ``train.batch_size``, or the family's (ProGAN:
        one per resolution)."""
        family = self.family
        return family.batch_sizes(self) if family.batch_sizes else [self.train.batch_size]

    def to_dict(self) -> dict:
        """Sections in YAML order; the family's options under the family's name."""
        plain = {f.name: _to_plain(dataclasses.asdict(getattr(self, f.name)))
                 for f in dataclasses.fields(self) if f.name != "family_options"}
        options = _to_plain(dataclasses.asdict(self.family_options))
        ordered = {}
        for section, values in plain.items():
            ordered[section] = values
            if section == "model" and options:
                ordered[self.model.family] = options
        return ordered

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


ADAM_LIKE = ("adam", "optimistic_adam")


def _resolved_model(model: ModelConfig, family) -> ModelConfig:
    """``model`` with the family's defaults for the keys left null.

    ``architecture`` stays null when it depends on the data (vectors train
    ``mlp``); the run resolves it once the data is loaded.
    """
    gan_class, changes = family.gan_class, {}
    if model.n_critic is None:
        changes["n_critic"] = gan_class.default_n_critic
    if model.d_normalization is None:
        changes["d_normalization"] = family.critic_normalization
    if model.g_ema_decay is None and model.g_ema_half_life_images is None:
        changes["g_ema_decay"] = gan_class.default_g_ema_decay
    if model.d_spectral_norm is None:
        changes["d_spectral_norm"] = family.critic_spectral_norm
    for key in ("r1_gamma", "r2_gamma"):
        if getattr(model, key) is None:
            changes[key] = float(getattr(gan_class, f"default_{key}"))
    return dataclasses.replace(model, **changes) if changes else model


def _resolved_optimizer(optimizer: OptimizerConfig, family) -> OptimizerConfig:
    """``optimizer`` with the family paper's name, learning rates and betas for nulls.

    The betas stay null for RMSProp, which has none.
    """
    gan_class = family.gan_class
    name = optimizer.name or gan_class.optimizer_name
    changes = {"name": name}
    for key in ("d_learning_rate", "g_learning_rate"):
        if getattr(optimizer, key) is None:
            changes[key] = float(gan_class.default_learning_rate)
    if name in ADAM_LIKE:
        for index, key in enumerate(("beta_1", "beta_2")):
            if getattr(optimizer, key) is None:
                changes[key] = float(gan_class.default_betas[index])
    return dataclasses.replace(optimizer, **changes)


def defaults(family: str) -> dict:
    """The config dict of ``family`` with every key at its default (not validated)."""
    return Config(model=ModelConfig(family=family)).to_dict()


def family_lib():
    """:mod:`tfgan_stable.families`: the registry of families.

    Each family module registers itself when ``tfgan_stable`` is imported (the
    package imports them all), so the config never imports a model.
    """
    return family_registry


def family_of(name: str):
    """The registered family called ``name`` (ConfigError naming the valid ones)."""
    return family_lib().get(name)


def _check_optimizer_values(optimizer: "OptimizerConfig") -> None:
    """The rule of :func:`tfgan_stable.optimizers.settings_problem`, in field names."""
    for field in ("d_learning_rate", "g_learning_rate", "beta_1", "beta_2"):
        value = getattr(optimizer, field)
        problem = optimizers.settings_problem(field, value)
        if problem:
            typical = (" (GAN learning rates are about 1e-5 to 1e-2)"
                       if field.endswith("learning_rate") else "")
            raise ConfigError(f"optimizer.{field} must be {problem}{typical}, got {value!r}")


def background_rgb(background: Any) -> tuple:
    """``data.background`` as ``(r, g, b)`` ints in 0..255: ``white``, ``black`` or three ints."""
    if isinstance(background, str) and background in BACKGROUNDS:
        return BACKGROUNDS[background]
    if isinstance(background, (list, tuple)) and len(background) == 3 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and 0 <= v <= 255
            for v in background):
        return tuple(int(v) for v in background)
    raise ConfigError(f"data.background must be 'white', 'black' or a list of three ints "
                      f"0..255 (red, green, blue), got {background!r}")


def check_data_labels(name: str, labels: str) -> None:
    """ConfigError unless ``data.labels`` is valid and ``data.name`` can give labels.

    A ``tfds:`` data set's ``label`` feature is checked when it is loaded.
    """
    _check_choice("data.labels", labels, DATA_LABELS)
    if labels == "none":
        return
    if name in ("ring8", "grid25"):
        hint = "its points have no classes"
    elif name == "stacked_digits":
        hint = ("its 1,000 modes are not carried as labels (tfgan_stable.data.stacked_digits "
                "returns them)")
    elif name.startswith("npy:"):
        hint = ("an .npy array holds no labels; save the images as one subfolder per class "
                "and use data.name: folder:<path>")
    else:
        return
    raise ConfigError(f"data.labels={labels!r}: labels are not available for "
                      f"data.name={name!r} ({hint}); use data.labels: none")


def _check_data_labels(data: DataConfig) -> None:
    """``data.labels``, ``data.background`` and ``data.class_balanced``."""
    check_data_labels(data.name, data.labels)
    background_rgb(data.background)
    if not isinstance(data.class_balanced, bool):
        raise ConfigError(f"data.class_balanced must be true or false, "
                          f"got {data.class_balanced!r}")
    if data.class_balanced and data.labels == "none":
        raise ConfigError("data.class_balanced=true samples every class equally and needs "
                          "the classes: set data.labels: inferred (got data.labels='none')")


def _check_choice(field: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigError(f"{field} must be one of {list(choices)}, got {value!r}")


def _to_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    return value
