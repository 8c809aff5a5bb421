"""The house as drawn in docs/architecture.md is the house as built: the layers the import
contracts check (pyproject.toml), a file for each concept, no private name borrowed across
modules, no module too long to read."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "htag_sse"
DOC = (ROOT / "docs" / "architecture.md").read_text()
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
MAX_LINES = 400


def section(title: str) -> str:
    return DOC.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def layer_contract() -> list[str]:
    (contract,) = [c for c in CONTRACTS if c["type"] == "layers"]
    assert contract["containers"] == ["htag_sse"]
    return list(contract["layers"])


def documented_layers() -> list[str]:
    """The modules column of the layers table, written as the contract writes a layer."""
    rows = [line.split(" | ")[1] for line in section("The modules, in layers").splitlines() if line.startswith("| ")]
    return [re.sub(r"`([\w/]+?)/?`", r"\1", row).replace("\\|", "|") for row in rows[1:]]  # after the header


def top_level() -> set[str]:
    """The package's top-level modules and subpackages."""
    names = {p.stem for p in PACKAGE.glob("*.py")} | {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    return names - {"__init__", "__main__"}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_documented_layers_are_the_checked_contract():
    assert documented_layers() == layer_contract()


def test_every_module_has_its_place_in_a_layer():
    placed = {m.strip() for layer in layer_contract() for m in re.split(r"[:|]", layer)}
    assert placed == top_level()


def test_a_reader_finds_the_file_of_every_module_in_the_concepts_table():
    listed = set(re.findall(r"`(htag_sse/[\w/]+\.py)`", section("Where each concept lives")))
    files = {p.relative_to(ROOT).as_posix() for p in modules() if p.name != "__init__.py" or p.parent != PACKAGE}
    packages_told_by_init = {f for f in files if f.endswith("/__init__.py") and f not in listed}
    assert listed <= files, f"the table names files that do not exist: {sorted(listed - files)}"
    missing = files - listed - packages_told_by_init
    assert not missing, f"files no row of the concepts table names: {sorted(missing)}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_module_borrows_another_modules_private_names(path):
    tree = ast.parse(path.read_text())
    borrowed = [
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("htag_sse"))
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert not borrowed


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_every_module_reads_in_one_sitting(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES
