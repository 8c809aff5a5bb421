"""``pytest --feature-table``: which test covers which user-visible feature on which topology.

A test says what it shows with ``pytest.mark.feature("<feature>")`` (several marks: several
features). Where it runs comes from the ``topology_name`` it is parametrized with
(tests/e2e/conftest.py), or, for a test that starts its own servers, from the mark:
``pytest.mark.feature("...", topology="workers")``. A feature mark that says neither is an error
at collection.

With ``--feature-table``, pytest only collects (nothing runs) and prints, between the markers
docs/workers.md keeps it in, the markdown table feature × topology (each cell: how many test items
cover it there, ``—`` for none), then the test files of each feature. ``scripts/feature-table``
(``python -m tests.support.featuretable --write``) writes it into docs/workers.md;
tests/unit/test_feature_table.py checks that the docs say the same.
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from harness.topologies import TOPOLOGIES

BEGIN, END = "<!-- feature table -->", "<!-- /feature table -->"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--feature-table",
        action="store_true",
        help="collect only, and print the table feature x topology of the tests' feature marks (docs/workers.md)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("feature_table"):
        config.option.collectonly = True


def coverage(item: pytest.Item) -> list[tuple[str, str]]:
    """(feature, topology) for each feature mark of ``item``."""
    callspec = getattr(item, "callspec", None)
    param = callspec.params.get("topology_name") if callspec is not None else None
    found = []
    for mark in item.iter_markers("feature"):
        if len(mark.args) != 1 or not isinstance(mark.args[0], str):
            raise pytest.UsageError(f"{item.nodeid}: pytest.mark.feature takes one name, got {mark.args!r}")
        where = mark.kwargs.get("topology", param)
        if where not in TOPOLOGIES:
            raise pytest.UsageError(
                f"{item.nodeid}: pytest.mark.feature({mark.args[0]!r}) on no known topology ({where!r}): the test "
                f"must run on the topology fixture or say topology= (one of {', '.join(TOPOLOGIES)})"
            )
        found.append((mark.args[0], str(where)))
    return found


def table(items: list[pytest.Item], root: Path) -> list[str]:
    """The markdown lines: the table, then each feature's test files."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    files: dict[str, set[str]] = defaultdict(set)
    for item in items:
        for feature, where in coverage(item):
            counts[feature][where] += 1
            files[feature].add(item.path.relative_to(root).as_posix())
    features = sorted(counts, key=str.casefold)
    lines = [BEGIN, "", f"| feature | {' | '.join(TOPOLOGIES)} |", f"|---|{'---:|' * len(TOPOLOGIES)}"]
    for feature in features:
        cells = [str(counts[feature][t]) if counts[feature][t] else "—" for t in TOPOLOGIES]
        lines.append(f"| {feature} | {' | '.join(cells)} |")
    lines.append("")
    lines += [f"- {feature}: {', '.join(f'`{f}`' for f in sorted(files[feature]))}" for feature in features]
    return [*lines, "", END]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        coverage(item)  # a feature mark on no known topology fails the collection, whatever runs


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    if not config.getoption("feature_table"):
        return []
    return table(items, config.rootpath)


# ---------------------------------------------------------------- the table in docs/workers.md

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "workers.md"


def block(text: str) -> str:
    """The table between the markers of ``text`` (markers included), or ``""``."""
    start, end = text.find(BEGIN), text.find(END)
    return text[start : end + len(END)] if 0 <= start < end else ""


def generated() -> str:
    """The table the tests' marks make: ``pytest --feature-table`` in a subprocess (a collection)."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--feature-table", "-qq", "-p", "no:cacheprovider", "tests"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    table = block(run.stdout)
    if run.returncode != 0 or not table:
        raise RuntimeError(f"pytest --feature-table failed ({run.returncode}):\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
    return table


def main(argv: list[str]) -> int:
    """``--write``: put the table into docs/workers.md; otherwise print it."""
    table = generated()
    if "--write" not in argv:
        print(table)
        return 0
    text = DOC.read_text()
    if not block(text):
        print(f"{DOC}: no {BEGIN} ... {END} markers", file=sys.stderr)
        return 1
    DOC.write_text(text.replace(block(text), table))
    print(f"{DOC.relative_to(ROOT)}: feature table written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
