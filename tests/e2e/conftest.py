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
    """A test using ``topology`` (or ``topology_name``, for a module that starts its own) runs once per
    topology its ``topologies`` marker names, with the markers of what that topology starts."""
    if "topology_name" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("topologies")
    names = marker.args if marker and marker.args else DEFAULT
    params = [pytest.param(n, id=n, marks=[getattr(pytest.mark, m) for m in ("server", *TOPOLOGY_STARTS[n])]) for n in names]
    metafunc.parametrize("topology_name", params, indirect=True, scope="module")


@pytest.fixture(scope="module")
def topology_name(request: pytest.FixtureRequest) -> str:
    """The name of the topology a test runs on (one of harness.topologies.TOPOLOGIES)."""
    return str(request.param)


@pytest.fixture(scope="module")
def topology(
    topology_name: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Topology]:
    """A started topology, shared by the tests of a module. The module's ``topologies`` marker may say
    what it serves: ``target`` (default: every app of tests/support/apps.py and apps_client.py at
    ``/<name>``, in parano mode at ``/parano/<name>``), ``app``, ``options``, ``env`` and ``home``."""
    marker = request.node.get_closest_marker("topologies")
    kw: dict[str, Any] = dict(marker.kwargs) if marker else {}
    topo = start(topology_name, tmp_path_factory.mktemp(topology_name), target=kw.get("target", TARGET),
                 app=kw.get("app", "*"), options=kw.get("options"), env=kw.get("env"),
                 home=kw.get("home", "/"))  # fmt: skip
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
