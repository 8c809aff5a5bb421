"""One long request must not drop every user's page, on every topology: a worker whose event loop a
synchronous handler keeps busy past its lease (1 s here) keeps its pages; it loses a page only if
another worker actually took it meanwhile (a request for it reached another worker, which reran it)
— the store decides, never the stalled worker's own clock. Nothing acknowledged is lost."""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.topologies import Topology

from ..support.wiretab import WireTab, shown

LEASE_S = 1.0
STALL_S = 3.5 * LEASE_S

pytestmark = pytest.mark.topologies(
    "one", "workers", "hosts", options={"lease_s": LEASE_S}, env={"HTAG_SSE_TEST_STALL_S": str(STALL_S)}
)


def pages_of(topology: Topology, owner_pid: int) -> list[WireTab]:
    """Three tabs whose pages the worker ``owner_pid`` made (new tabs until enough land there)."""
    tabs: list[WireTab] = []
    for _ in range(60):
        tab = WireTab(topology, "/stall")
        if tab.owner.pid == owner_pid:
            tabs.append(tab)
            if len(tabs) == 3:
                return tabs
        else:
            tab.close()
    raise AssertionError(f"no three pages made by worker {owner_pid} in 60 tries")


@pytest.mark.feature("a long request drops no other page")
def test_a_worker_stalled_past_its_lease_keeps_the_pages_nobody_took(topology: Topology) -> None:
    owner = topology.workers[0]
    staller, idle, other = pages_of(topology, owner.pid)
    try:
        for tab in (staller, idle, other):
            assert shown(tab.click("inc")) == "1"
        with ThreadPoolExecutor(1) as pool:
            mark = topology.mark()
            siblings = [w for w in topology.others(owner) if w.host is owner.host]
            with contextlib.ExitStack() as paused:  # the click goes to the owner: its host's other worker waits
                for worker in siblings:
                    paused.enter_context(worker.paused())
                stalled = pool.submit(staller.click, "stall", owner.host.url)  # its loop busy for 3.5 leases
                topology.wait_logged(f"stalling {owner.pid}", mark)
            if topology.several:  # meanwhile another worker gets a click for one of its pages...
                taken = other.click("inc")
                assert taken.status_code == 410  # ...finds its owner's lease gone, and the tab reruns it there
                assert other.rerun().status_code == 200
                assert shown(other.click("inc")) == "1"  # a new live instance: its attribute starts again
            answer = stalled.result(timeout=30)
        assert answer.status_code == 200 and shown(answer) == "2"  # the stalled click itself, answered
        kept = idle.click("inc")
        assert kept.status_code == 200 and shown(kept) == "2"  # a page nobody took: the same live instance
        assert shown(staller.click("inc")) == "3"
        if topology.several:
            assert shown(other.click("inc")) == "2"  # the page the other worker took lives there now
    finally:
        for tab in (staller, idle, other):
            tab.close()
