"""How pushed events travel: SSE streams and long-poll answers, with every
proxy-facing detail (headers, padding, heartbeats, retry) in this one module.

A stream or a poll *follows* one page, or several pages of one session (the
browser tabs of a user share one connection, see ``docs/transport.md``).
A followed page lives in this worker or, with several workers, in another
one: its events are then fetched from its owner by forwarded long-polls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from starlette.responses import Response

from .errors import RequestError
from .page import Page
from .stream import EventStream, Heartbeats
from .wire import dumps, multi_poll_answer, poll_answer, sse_event, sse_hello

log = logging.getLogger("htag_sse")

#: Proxies must neither cache, transform (compress) nor buffer pushed events.
HEADERS = {"Cache-Control": "no-cache, no-store, no-transform", "X-Accel-Buffering": "no"}
SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"),
               *((k.lower().encode(), v.encode()) for k, v in HEADERS.items())]  # fmt: skip
#: Sent first, so proxies that buffer the first few KB flush the stream at once.
PADDING_BYTES = 2048
#: The SSE ``retry:`` field: how long a plain EventSource waits to reconnect.
RETRY_MS = 2000
#: At most this many pages per stream or poll (a session holds at most 16 by default).
MAX_FOLLOWS = 64
#: How long a forwarded long-poll is held by the worker that owns the pages.
REMOTE_POLL_S = 20.0

Events = dict[str, list[tuple[int, str]]]


@dataclass(slots=True)
class Follow:
    """A page a stream follows, from the event after ``cursor`` (``None``: a full refresh first).

    ``page`` is set for a page of this worker, ``owner`` for a page of another live worker.
    """

    pid: str
    page: Page | None
    cursor: int | None
    owner: str | None = None

    @property
    def live(self) -> bool:
        return self.owner is not None or (self.page is not None and not self.page.closed)


#: Fetches events of pages held by another worker: (owner, follows, timeout) -> (events, gone).
Remote = Callable[[str, list[Follow], float], Awaitable[tuple[Events, list[str]]]]


def sse_response(follows: list[Follow], heartbeats: Heartbeats, *, named: bool, remote: Remote | None = None
                 ) -> EventStream:  # fmt: skip
    """An SSE stream of the followed pages' events.

    ``named``: events are named after their page (``event: <page id>``), for
    a stream shared by several tabs; otherwise a plain ``EventSource`` stream
    of one page. Starts with a padded ``hello`` event; a follower further
    behind than the backlog gets one full refresh; a page that is gone gets
    ``event: gone`` (the client asks for a rerun). Ends when the server stops.
    """
    return EventStream(lambda stream: _events(follows, named, remote, stream), SSE_HEADERS, heartbeats)


def _gone(pid: str) -> bytes:
    return sse_event(0, dumps({"page": pid}), event="gone")


def _watch(follows: list[Follow], wake: asyncio.Event) -> list[Page]:
    """Count the followers of each live local page and have its log set ``wake``."""
    pages = [f.page for f in follows if f.page is not None and not f.page.closed]
    for page in pages:
        page.streams += 1
        page.log.listen(wake)
    return pages


def _release(pages: list[Page], wake: asyncio.Event) -> None:
    now = time.monotonic()
    for page in pages:
        page.log.unlisten(wake)
        page.streams -= 1
        page.seen_at = now


def _news(f: Follow) -> list[tuple[int, str]]:
    """A local page's events after the follower's cursor, or one full refresh."""
    assert f.page is not None
    batch = f.page.log.since(f.cursor) if f.cursor is not None else None
    if batch is None:
        last = f.page.log.last
        batch = [(last, f.page.event_data(last, f.page.refresh()))]
    return batch


def _ready(f: Follow) -> bool:
    """A local page with something to answer at once: events, a refresh, or its end."""
    if f.owner is not None:
        return False
    return f.page is None or f.page.closed or f.cursor != f.page.log.last


def _by_owner(follows: list[Follow]) -> dict[str, list[Follow]]:
    groups: dict[str, list[Follow]] = {}
    for f in follows:
        if f.owner is not None:
            groups.setdefault(f.owner, []).append(f)
    return groups


async def _pull(owner: str, follows: list[Follow], remote: Remote, inbox: deque[bytes], wake: asyncio.Event,
                named: bool) -> None:  # fmt: skip
    """Relay the events of ``follows`` (pages of worker ``owner``) into a stream, until they are all gone."""
    live = {f.pid: f for f in follows}
    while live:
        try:
            events, gone = await remote(owner, list(live.values()), REMOTE_POLL_S)
        except RequestError as e:
            if e.status != 410:
                log.debug("events of worker %s unavailable (%s): retrying", owner, e.message)
                await asyncio.sleep(1)
                continue
            events, gone = {}, list(live)
        for pid, batch in events.items():
            f = live.get(pid)
            if f is not None:
                for cursor, data in batch:
                    f.cursor = cursor
                    inbox.append(sse_event(cursor, data, event=pid if named else None))
        for pid in gone:
            if live.pop(pid, None) is not None:
                inbox.append(_gone(pid))
        wake.set()


async def _events(follows: list[Follow], named: bool, remote: Remote | None, stream: EventStream
                  ) -> AsyncIterator[bytes]:  # fmt: skip
    wake = stream.wake
    watched = _watch(follows, wake)
    local = [f for f in follows if f.page is not None and not f.page.closed]
    inbox: deque[bytes] = deque()  # events relayed from other workers
    pullers = [
        asyncio.ensure_future(_pull(owner, group, remote, inbox, wake, named))
        for owner, group in _by_owner(follows).items()
        if remote is not None
    ]
    try:
        yield sse_hello(0 if named else (follows[0].cursor or 0), RETRY_MS, PADDING_BYTES)
        for f in follows:
            if not f.live:
                yield _gone(f.pid)
        while local or not all(p.done() for p in pullers) or inbox:
            wake.clear()
            if stream.over:
                return
            for f in list(local):
                assert f.page is not None
                if f.page.closed:  # dropped: the client reruns; server stopping: it reconnects later
                    if f.page.stopping:
                        return
                    local.remove(f)
                    yield _gone(f.pid)
                    continue
                for cursor, data in _news(f):
                    f.cursor = cursor
                    yield sse_event(cursor, data, event=f.pid if named else None)
            while inbox:
                yield inbox.popleft()
            if local or not all(p.done() for p in pullers):
                await wake.wait()
    finally:
        for p in pullers:
            p.cancel()
        _release(watched, wake)


async def collect(follows: list[Follow], timeout_s: float, remote: Remote | None = None) -> tuple[Events, list[str]]:
    """Hold until a followed page has events after its cursor (or is gone), or
    ``timeout_s`` passes: then the events of every page, and the gone ones."""
    wake = asyncio.Event()
    watched = _watch(follows, wake)
    groups = _by_owner(follows) if remote is not None else {}
    calls = {owner: asyncio.ensure_future(remote(owner, group, timeout_s)) for owner, group in groups.items()}  # type: ignore[misc]
    try:
        if not any(_ready(f) for f in follows):
            waiter = asyncio.ensure_future(wake.wait())
            await asyncio.wait([waiter, *calls.values()], timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        events: Events = {}
        gone: list[str] = []
        for f in follows:
            if f.owner is not None:
                continue
            if f.page is None or f.page.closed:
                gone.append(f.pid)
            else:
                events[f.pid] = _news(f)
        for owner, call in calls.items():
            if not call.done():
                events.update({f.pid: [] for f in groups[owner]})
            elif isinstance(call.exception(), RequestError) and call.exception().status == 410:  # type: ignore[union-attr]
                gone += [f.pid for f in groups[owner]]
            elif call.exception() is None:
                remote_events, remote_gone = call.result()
                events.update(remote_events)
                gone += remote_gone
        return events, gone
    finally:
        for call in calls.values():
            call.cancel()
        _release(watched, wake)


async def poll(follows: list[Follow], timeout_s: float, *, multi: bool, remote: Remote | None = None) -> Response:
    """Long-poll: the answer of :func:`collect` as JSON."""
    events, gone = await collect(follows, timeout_s, remote)
    if multi:
        return Response(multi_poll_answer(events, gone), 200, HEADERS, "application/json")
    if gone:
        return Response(b'{"error":"page_gone","message":"this page is gone: rerun it"}', 410, HEADERS, "application/json")
    batch = events.get(follows[0].pid, [])
    last = batch[-1][0] if batch else (follows[0].cursor or 0)
    return Response(poll_answer(batch, last), 200, HEADERS, "application/json")
