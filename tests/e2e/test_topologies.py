"""Every feature on every topology we document (harness/topologies.py): one worker, two workers
on one host, two hosts of two workers on Redis behind nginx round-robin, one worker behind a
buffering proxy, and hosts apart on a network with latency. Where a request could land on the
page's owner by luck, the test pins it: the owner is paused (SIGSTOP) while the request is sent,
so another worker takes it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.processes import wait_until
from harness.topologies import Topology, Worker, start

from ..support.serve import TARGET

pytestmark = [pytest.mark.server, pytest.mark.browser]

TOPOLOGIES = [
    pytest.param("one", id="one"),
    pytest.param("workers", id="workers"),
    pytest.param("hosts", id="hosts", marks=[pytest.mark.redis, pytest.mark.nginx]),
    pytest.param("proxy", id="proxy", marks=[pytest.mark.nginx]),
    pytest.param("apart", id="apart", marks=[pytest.mark.redis, pytest.mark.nginx, pytest.mark.netns]),
]


@pytest.fixture(scope="module", params=TOPOLOGIES)
def topology(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    topo = start(request.param, tmp_path_factory.mktemp(request.param), target=TARGET, app="*")
    yield topo
    topo.stop()


def open_tab(chromium: Any, topology: Topology, path: str) -> tuple[Any, Any, Worker]:
    """A new browser context on ``path``; the page, its context, and the worker that made it."""
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    answer = page.goto(topology.url + path)
    assert answer is not None and answer.ok, answer and answer.status
    return page, context, topology.worker(answer.headers.get("x-htag-worker"))


def count(page: Any) -> int:
    return int(page.text_content(".count"))


def reloaded(page: Any) -> bool:
    try:
        return bool(page.evaluate("window.__before === undefined && document.readyState === 'complete'"))
    except Exception:  # the old document is going: not yet
        return False


def reload(page: Any, topology: Topology, owner: Worker | None) -> None:
    """F5 in the tab; with ``owner``, pinned: the owner is paused while the reload is sent, so
    another worker gets it, and resumed once that worker has asked it for the page (or answered)."""
    page.evaluate("window.__before = true")
    mark = topology.mark()
    if owner is None:
        page.evaluate("setTimeout(() => location.reload(), 0)")
    else:
        with owner.paused():
            page.evaluate("setTimeout(() => location.reload(), 0)")
            # another worker took the GET: it asked the owner for the page (or, wrongly, made a new one)
            topology.wait_logged(r"event=page\.(takeover\.relayed|created)", mark)
    wait_until(lambda: reloaded(page), 15, "the reloaded page")
    page.wait_for_function("window.htagSSEState && window.htagSSEState().page")


def test_f5_keeps_the_live_page_and_its_attributes(topology: Topology, chromium: Any) -> None:
    """A counter held in an attribute (not in the session) survives 20 reloads, whichever worker
    each reload reaches: the reload takes the same live instance over."""
    page, context, owner = open_tab(chromium, topology, "/tally")
    try:
        for i in range(20):
            expected = i + 1
            page.click(".inc")
            page.wait_for_function(f"document.querySelector('.count').textContent === '{expected}'")
            reload(page, topology, owner if topology.several and i % 2 == 0 else None)
            assert count(page) == expected, f"reload {i + 1}: a new instance ({count(page)}, not {expected})"
    finally:
        context.close()
