"""A config from YAML: strict keys, typed values, ``--override section.key=value``.

Every key must be known and every value of its field's type; a key given
twice in a file is an error naming both lines. What it builds is a validated
:class:`~tfgan_stable.config.schema.Config`.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import difflib
import os
import typing
from typing import Any, Mapping, Sequence

import yaml

from tfgan_stable.config.schema import Config, ModelConfig, family_lib, family_of
from tfgan_stable.errors import ConfigError, MissingPathError


def _coerce(field: str, value: Any, annotation: Any) -> Any:
    """Checks ``value`` against a dataclass field's type; returns the value to store."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union:  # Optional[X]
        if value is None:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(field, value, inner)
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif annotation is str:
        if isinstance(value, str):
            return value
    elif origin in (collections.abc.Sequence, list, tuple):
        (inner,) = args or (Any,)
        if isinstance(value, (list, tuple)):
            return tuple(_coerce(f"{field}[{i}]", v, inner) for i, v in enumerate(value))
    elif annotation is Any:
        return value
    type_name = getattr(annotation, "__name__", str(annotation))
    raise ConfigError(
        f"{field} must be of type {type_name}, got {value!r} ({type(value).__name__})"
    )


def _section_types() -> dict:
    hints = typing.get_type_hints(Config)
    return {f.name: hints[f.name] for f in dataclasses.fields(Config)
            if f.name != "family_options"}


def _unknown_key(field: str, key: str, valid: Sequence[str]) -> ConfigError:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(f"unknown config key {field!r}{hint} valid keys: {sorted(valid)}")


def check_sections(raw: Any, source: str = "config") -> None:
    """Raises ConfigError unless ``raw`` is a mapping of section names to mappings."""
    if raw is None:
        return
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source} must be a mapping of sections (data:, model:, ...), "
                          f"got {type(raw).__name__} {_short(raw)}")
    for section, values in raw.items():
        if values is not None and not isinstance(values, Mapping):
            raise ConfigError(f"{source}: section {section!r} must be a mapping of keys, "
                              f"got {type(values).__name__} {_short(values)}")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _section(cls, section: str, values: Mapping[str, Any]):
    """``cls(**values)`` with every key known and every value of its field's type."""
    hints = typing.get_type_hints(cls)
    field_names = [f.name for f in dataclasses.fields(cls)]
    fields = {}
    for key, value in (values or {}).items():
        if key not in field_names:
            raise _unknown_key(f"{section}.{key}", str(key), field_names)
        fields[key] = _coerce(f"{section}.{key}", value, hints[key])
    return cls(**fields)


def from_dict(raw: Mapping[str, Any]) -> Config:
    """Builds a validated Config from nested mappings; unknown keys are errors.

    The section named after ``model.family`` holds that family's options; a
    section of another family is an error naming both.
    """
    check_sections(raw)
    raw = raw or {}
    sections = _section_types()
    model = _section(ModelConfig, "model", raw.get("model"))
    family = family_of(model.family)
    families = family_lib().names()
    kwargs = {"model": model}
    for section, values in raw.items():
        if section == "model":
            continue  # parsed above: its family names the family's section
        if section == family.name:
            kwargs["family_options"] = _section(family.options, section, values)
        elif section in families:
            raise ConfigError(
                f"section {section!r} holds the options of family {section!r}, but "
                f"model.family is {family.name!r}; remove it or set model.family: {section}")
        elif section in sections:
            kwargs[section] = _section(sections[section], section, values)
        else:
            raise _unknown_key(str(section), str(section), list(sections) + [family.name])
    return Config(**kwargs).validate()


def parse_override(binding: str) -> tuple[str, str, Any]:
    """Splits ``section.key=value``; the value is parsed as YAML (``1e-4``, ``[1, 2]``)."""
    if "=" not in binding:
        raise ConfigError(f"override {binding!r} must look like section.key=value")
    path, text = binding.split("=", 1)
    parts = path.strip().split(".")
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"override key {path!r} must look like section.key")
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as e:
        problem = str(getattr(e, "problem", None) or e).strip()
        raise ConfigError(
            f"override {binding!r}: the value is not valid YAML ({problem})") from None
    # YAML reads "1e-4" as a string; numbers written that way are meant as floats.
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value.lower() for c in ".e") else value
        except ValueError:
            pass
    return parts[0], parts[1], value


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict:
    """Returns a copy of ``raw`` with each ``section.key=value`` binding applied."""
    check_sections(raw)
    merged = {k: dict(v or {}) for k, v in (raw or {}).items()}
    for binding in overrides:
        section, key, value = parse_override(binding)
        merged.setdefault(section, {})[key] = value
    return merged


def _strict_loader(path: str):
    """A safe YAML loader that refuses a key given twice in one mapping (plain YAML
    keeps the last silently), naming the key, both lines and ``path``."""

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen = {}
                for key_node, _ in node.value:
                    key = self.construct_object(key_node, deep=True)
                    line = key_node.start_mark.line + 1
                    try:
                        first = seen.setdefault(key, line)
                    except TypeError:  # an unhashable key: yaml's own error follows
                        continue
                    if first != line:
                        raise ConfigError(
                            f"config file {path!r}: key {key!r} appears twice (lines {first} "
                            f"and {line}); YAML would silently keep the last, remove one")
            return super().construct_mapping(node, deep)

    return Loader


def load(path: str, overrides: Sequence[str] = ()) -> Config:
    """Loads a YAML config file, applies overrides and validates the result."""
    if not os.path.isfile(path):
        raise MissingPathError(f"config file not found: {path!r}")
    with open(path) as f:
        try:
            raw = yaml.load(f, Loader=_strict_loader(path))
        except yaml.YAMLError as e:
            raise ConfigError(f"config file {path!r} is not valid YAML: "
                              f"{' '.join(str(e).split())}") from None
    if raw is None:
        raise ConfigError(f"config file {path!r} is empty; start from one in configs/ "
                          "(an empty file would silently train the defaults)")
    check_sections(raw, f"config file {path!r}")
    return from_dict(apply_overrides(raw, overrides))


def save(config: Config, path: str) -> None:
    """Writes the resolved config atomically (temporary file, then rename)."""
    from tfgan_stable.utils import files

    files.write_text(path, config.to_yaml())
