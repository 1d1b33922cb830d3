"""The documentation stays true: the generated config reference, links, README size."""

import os
import re

from helpers import REPO
from tfgan_stable import config as config_lib

DOCS = os.path.join(REPO, "docs")
PAGES = [os.path.join(REPO, "README.md"), os.path.join(REPO, "CHANGELOG.md")] + sorted(
    os.path.join(DOCS, name) for name in os.listdir(DOCS) if name.endswith(".md"))


def test_config_reference_is_generated_from_the_dataclasses():
    with open(os.path.join(DOCS, "config_reference.md")) as f:
        assert f.read() == config_lib.reference_markdown(), (
            "docs/config_reference.md is stale; regenerate it with "
            "python -m tfgan_stable.config > docs/config_reference.md")


def test_every_section_and_key_is_in_the_reference():
    text = config_lib.reference_markdown()
    for section, values in config_lib.Config().to_dict().items():
        assert f"## `{section}`" in text
        for key in values:
            assert f"| `{key}` |" in text


def test_relative_links_point_at_files_that_exist():
    for page in PAGES:
        with open(page) as f:
            text = f.read()
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            path = os.path.normpath(os.path.join(os.path.dirname(page), target))
            assert os.path.exists(path), f"{os.path.relpath(page, REPO)} links {target}"


def test_readme_is_short_and_keeps_both_quickstart_commands():
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    assert len(text.splitlines()) <= 200
    assert "make demo" in text and "make test" in text


def test_the_layout_page_names_every_module():
    with open(os.path.join(DOCS, "layout.md")) as f:
        text = f.read()
    package = os.path.join(REPO, "tfgan_stable")
    missing = []
    for name in sorted(os.listdir(package)):
        path = os.path.join(package, name)
        if name.endswith(".py") and name != "__init__.py":
            if not re.search(rf"(?<![\w/]){re.escape(name)}", text):
                missing.append(name)
        elif os.path.isdir(path) and os.path.isfile(os.path.join(path, "__init__.py")):
            if f"{name}/" not in text:
                missing.append(name + "/")
    assert not missing, f"docs/layout.md does not name {missing}"


def test_the_binary_page_lists_every_config_key():
    from tfgan_stable import families as family_lib

    with open(os.path.join(DOCS, "binary.md")) as f:
        rows = {line.split("|")[1].strip(): line for line in f
                if re.match(r"^\| `\w+` \|", line)}
    missing = []
    for family in family_lib.names():
        for section, values in config_lib.defaults(family).items():
            row = rows.get(f"`{section}`", "")
            missing += [f"{section}.{key}" for key in values if f"`{key}`" not in row]
    assert not missing, f"docs/binary.md's key table lacks {sorted(set(missing))}"


def test_readme_reads_in_five_minutes():
    """Short paragraphs and table rows; the numbers live in docs/benchmarks.md."""
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    paragraphs = [p for p in re.split(r"\n\s*\n", prose) if p.strip()]
    link_definitions = re.compile(r"^(\[[^\]]+\]: \S+\n?)+$")
    long = [p.splitlines()[0] for p in paragraphs
            if not p.lstrip().startswith("|") and not link_definitions.match(p.strip())
            and len(p.splitlines()) > 8]
    assert not long, f"README paragraphs over 8 lines: {long}"
    rows = [line for line in text.splitlines() if line.startswith("|") and len(line) > 160]
    assert not rows, f"README table rows over 160 characters: {rows}"
