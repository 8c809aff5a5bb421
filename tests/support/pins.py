"""Where a browser's requests land, on a topology of several workers (harness/topologies.py).

Requests land on any worker; a test whose meaning is "a request reaching a worker that does not
own its page still works" must not pass by luck of where they land. It **pins** them: the browser's
request is held back (Playwright's routing) until it has left the page, the page's owner is then
paused (SIGSTOP), the request let go, so another worker takes it, and the owner resumed once that
worker logged that it relays the request to it (``relaying interact to worker ...``). A paused
worker keeps its lease (``lease_s``, 5 s, renewed every third of it) only if the pause stays short:
pauses end after :data:`PAUSE_S` whatever happens, and the test then waits for the line (a request
may have waited for a store lock the paused worker held). On one worker nothing is held or paused.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from harness.processes import wait_until
from harness.topologies import Topology, Worker

T = TypeVar("T")
#: The longest a worker stays paused: well within its lease.
PAUSE_S = 2.5
#: The event stream's URL (the tabs of a browser share one), and an interaction's.
EVENTS = "**/_htag/events?*"
INTERACT = "**/_htag/*/interact"


def worker(topology: Topology, answer: Any) -> Worker:
    """The worker that gave ``answer`` (a Playwright or httpx response: its ``X-Htag-Worker``)."""
    return topology.worker(answer.headers.get("x-htag-worker"))


def open_page(tab: Any, topology: Topology, path: str, *, stream_elsewhere: bool = False, url: str = "") -> Worker:
    """``tab`` goes to ``path`` and its client starts; the worker that made the page (its owner).
    ``stream_elsewhere``: on several workers, the tab's event stream is held by another worker than
    the page's owner, so every push crosses processes (the stream's request is held back from the
    moment the page's answer names its owner: the client's first-event probe is running). ``url``:
    where the browser goes (by default the topology's)."""
    url = url or topology.url
    elsewhere = stream_elsewhere and topology.several
    held: list[Any] = []
    if elsewhere:
        tab.route(EVENTS, lambda route: held.append(route))
    answer = tab.goto(url + path, wait_until="commit" if elsewhere else "load")
    assert answer is not None and answer.ok, answer and answer.status
    owner = worker(topology, answer)
    if elsewhere:
        streams: list[Any] = []

        def streamed(response: Any) -> None:
            if "/_htag/events?" in response.url:
                streams.append(response)

        tab.on("response", streamed)
        try:
            _let_go(tab, EVENTS, held, owner, lambda: _pumping(tab, lambda: streams, PAUSE_S))
            # not answered yet: its worker waited for a store lock the paused owner held
            assert _pumping(tab, lambda: streams, 30), "the event stream was not answered"
        finally:
            tab.remove_listener("response", streamed)
        stream = worker(topology, streams[0])
        assert stream.pid != owner.pid, f"the stream reached the page's owner {owner.pid}, paused"
        tab.wait_for_function("window.htagSSEState && htagSSEState().online")
        assert tab.evaluate("htagSSEState().transport") == "sse", "the held stream fell back to long-poll"
    tab.wait_for_function("window.htagSSEState && window.htagSSEState().page")
    return owner


def _let_go(tab: Any, hold: Any, held: list[Any], away: Worker, done: Callable[[], Any]) -> None:
    """Once a request ``hold`` matches is held: pause ``away``, let it go, and resume ``away`` once
    ``done()`` (or after :data:`PAUSE_S`); then stop holding (what was held meanwhile goes then:
    Playwright lets a route's held requests go when it is removed, and may wait for a navigation to
    remove it, so never while ``away`` is paused)."""
    try:
        assert _pumping(tab, lambda: held, 30), "the request did not leave the browser"
        first = held[0]
        with away.paused():
            first.continue_()
            _until(done, PAUSE_S)
    finally:
        tab.unroute(hold)


def _pumping(tab: Any, condition: Callable[[], Any], timeout_s: float) -> bool:
    """Wait until ``condition()``, letting Playwright deliver the browser's events meanwhile."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        tab.wait_for_timeout(20)
    return True


def _until(condition: Callable[[], Any], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def idle(tab: Any) -> None:
    """Wait until ``tab`` has no interaction in flight or queued (its next one leaves at once)."""
    tab.wait_for_function("!window.htagSSEState || (!htagSSEState().sending && !htagSSEState().queued)")


@contextlib.contextmanager
def pinned(
    topology: Topology, away: Worker | None, pattern: str, tab: Any = None, hold: Any = INTERACT
) -> Iterator[None]:
    """The request the block makes reaches another worker than ``away``, and a host logs a line
    matching ``pattern`` (waited for after the block).

    With ``tab`` (a Playwright page or context), its requests matching ``hold`` (a glob or a
    predicate on the URL) are held back: the block makes one (and must not wait for its answer);
    ``away`` is paused once it was held, until the line is logged. Without ``tab`` (a request the
    test sends itself, from a thread), ``away`` is paused during the block, and until the line is
    logged."""
    if away is None or not topology.several:
        yield
        return
    mark = topology.mark()
    logged = lambda: topology.logged(pattern, mark)
    if tab is None:
        with away.paused():
            yield
            _until(logged, PAUSE_S)
    else:
        held: list[Any] = []
        tab.route(hold, lambda route: held.append(route))
        try:
            yield
        except BaseException:
            tab.unroute(hold)
            raise
        _let_go(tab, hold, held, away, logged)
    topology.wait_logged(pattern, mark)  # not logged yet: it waited for a store lock the paused one held


def relayed(topology: Topology, owner: Worker | None, tab: Any = None, what: str = "interact") -> Any:
    """The interaction the block makes in ``tab`` (after the tab's in-flight ones are answered)
    reaches another worker than its page's ``owner``, which relays it (:func:`pinned` until a host
    logs ``relaying interact to worker``)."""
    if tab is not None and owner is not None and topology.several:
        idle(tab)  # one in flight would hold the next back in the client
    return pinned(topology, owner, f"relaying ({what}) to worker", tab)


def send_relayed(topology: Topology, owner: Worker, send: Callable[[], T], what: str = "interact") -> T:
    """``send()`` (a blocking request, e.g. httpx's), reaching another worker than ``owner``, which
    relays it: sent from a thread while the owner is paused; its answer."""
    with ThreadPoolExecutor(1) as pool:
        with pinned(topology, owner, f"relaying ({what}) to worker"):
            sent = pool.submit(send)
        return sent.result(timeout=60)


def reload(tab: Any, topology: Topology, owner: Worker | None) -> None:
    """F5 in ``tab``; on several workers its GET reaches another worker
    than the page's ``owner``, which asks the owner for the page (a takeover). Returns once the new
    document's client started."""
    tab.evaluate("window.__before = true")
    document = tab.url.split("#")[0]
    with pinned(topology, owner, "relaying (takeover) to worker", tab, lambda url: url.split("#")[0] == document):
        tab.evaluate("setTimeout(() => location.reload(), 0)")
    wait_until(lambda: _reloaded(tab), 15, "the reloaded page")
    tab.wait_for_function("window.htagSSEState && window.htagSSEState().page")


def _reloaded(tab: Any) -> bool:
    try:
        return bool(tab.evaluate("window.__before === undefined && document.readyState === 'complete'"))
    except Exception:  # the old document is going: not yet
        return False
