"""The config reference (``docs/config_reference.md``), generated from the dataclasses.

Regenerate it with ``python -m tfgan_stable.config > docs/config_reference.md``.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import typing
from typing import Any

import yaml

from tfgan_stable.config.loading import _section_types
from tfgan_stable.config.schema import _to_plain, family_lib, family_of


def _type_name(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union:
        inner = [a for a in args if a is not type(None)]
        return f"{_type_name(inner[0])} or null"
    if origin in (collections.abc.Sequence, list, tuple):
        return f"list of {_type_name(args[0])}" if args else "list"
    if annotation is Any:
        return "any"
    return getattr(annotation, "__name__", str(annotation))


def _reference_table(cls) -> list:
    hints = typing.get_type_hints(cls)
    rows = ["| key | type | default |", "|---|---|---|"]
    for field in dataclasses.fields(cls):
        default = _to_plain(field.default)
        shown = "null" if default is None else yaml.safe_dump(
            default, default_flow_style=True).strip().removesuffix("...").strip()
        rows.append(f"| `{field.name}` | {_type_name(hints[field.name])} | `{shown}` |")
    return rows


def reference_markdown() -> str:
    """Every config section and key with its type and default, as Markdown.

    ``docs/config_reference.md`` is this text (a test fails when it is stale);
    regenerate it with ``python -m tfgan_stable.config > docs/config_reference.md``.
    """
    lines = ["# Config reference", "",
             "Generated from the config dataclasses by `python -m tfgan_stable.config`; "
             "do not edit by hand. Keys are strict: an unknown or mistyped key, or a value "
             "of the wrong type, is an error naming it. A family's own options live in a "
             "section named after the family; only the section of `model.family` may "
             "appear.", ""]
    for name, cls in _section_types().items():
        doc = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        lines += [f"## `{name}`", "", " ".join(doc.split()), "", *_reference_table(cls), ""]
    for name in family_lib().names():
        options = family_of(name).options
        doc = (options.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        lines += [f"## `{name}` (with `model.family: {name}`)", ""]
        if dataclasses.fields(options):
            lines += [" ".join(doc.split()), "", *_reference_table(options), ""]
        else:
            lines += ["No options of its own.", ""]
    return "\n".join(lines).rstrip() + "\n"

