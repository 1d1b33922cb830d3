"""Experiment configuration: frozen dataclasses loaded from YAML.

Keys are strict: an unknown or mistyped key is an error that names it, and
``--override section.key=value`` bindings are type-checked the same way. The
resolved config is what gets written into a run's workdir, so a run can be
reproduced from its ``config.yaml`` alone. One job a module: the schema
(:mod:`.schema`: dataclasses, checks, family defaults), reading YAML
(:mod:`.loading`) and the generated reference (:mod:`.reference`).
"""

from tfgan_stable.errors import ConfigError, MissingPathError  # noqa: F401
from tfgan_stable.config.loading import (  # noqa: F401
    apply_overrides,
    check_sections,
    from_dict,
    load,
    parse_override,
    save,
)
from tfgan_stable.config.reference import reference_markdown  # noqa: F401
from tfgan_stable.config.schema import (  # noqa: F401
    ADAM_LIKE,
    ARCHITECTURES,
    CHANNELS,
    FAST_LAYERS,
    LEARNING_RATE_DECAYS,
    MIXED_PRECISION_POLICIES,
    NORMALIZATIONS,
    OPTIMIZER_NAMES,
    STRATEGIES,
    AugmentConfig,
    Config,
    DataConfig,
    ExportConfig,
    ModelConfig,
    OptimizerConfig,
    TrainConfig,
    defaults,
    family_lib,
    family_of,
)
