"""The topologies a real-server test runs on (harness/topologies.py).

A test that takes the ``topology`` fixture runs once per topology its module (or itself) names with
``pytest.mark.topologies(...)`` — by default one worker, two workers, two hosts — on servers shared
by the tests of a module. ``pytest.mark.feature("...")`` names the user-visible feature a test
shows; docs/workers.md's table (feature × topology) is made from these marks and checked by
tests/unit/test_feature_table.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.topologies import Topology, start

from ..support.serve import TARGET

#: The topologies of a test that names none.
DEFAULT = ("one", "workers", "hosts")
#: What each topology starts besides its servers (the markers ``-m`` selects them by).
TOPOLOGY_STARTS = {
    "one": (), "workers": (), "hosts": ("redis", "nginx"), "proxy": ("nginx",), "apart": ("redis", "nginx", "netns"),
}  # fmt: skip


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "topology" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("topologies")
    names = marker.args if marker and marker.args else DEFAULT
    params = [pytest.param(n, id=n, marks=[getattr(pytest.mark, m) for m in ("server", *TOPOLOGY_STARTS[n])]) for n in names]
    metafunc.parametrize("topology", params, indirect=True, scope="module")


@pytest.fixture(scope="module")
def topology(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """A started topology, shared by the tests of a module. The module's ``topologies`` marker may say
    what it serves: ``target`` (default: every app of tests/support/apps.py at ``/<name>``), ``app``,
    ``options`` and ``env``."""
    marker = request.node.get_closest_marker("topologies")
    kw: dict[str, Any] = dict(marker.kwargs) if marker else {}
    name = request.param
    topo = start(name, tmp_path_factory.mktemp(name), target=kw.get("target", TARGET), app=kw.get("app", "*"),
                 options=kw.get("options"), env=kw.get("env"))  # fmt: skip
    yield topo
    topo.stop()


@pytest.fixture
def tab(chromium: Any) -> Iterator[Any]:
    """A page of a new browser context (its own cookies: a new user)."""
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
