"""``python -m tfgan_stable.config``: prints the config reference (docs/config_reference.md)."""

from tfgan_stable.config.reference import reference_markdown

print(reference_markdown(), end="")
