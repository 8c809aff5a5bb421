"""How pushed events travel: SSE streams and long-poll answers of the pages a request follows.

A stream or a poll follows one page, or several pages of one session (the
browser tabs of a user share one connection, see ``docs/transport.md``). It
reads them through :class:`~htag_sse.pageref.PageRef`: pages of this worker
wake it directly; pages held elsewhere are pulled from their owner (or the
shared feed) by one task per page.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.responses import Response

from .errors import RequestError, StoreError
from .eventlog import Events
from .pages.page import Page
from .pages.refs import PageRef
from .sse import HEADERS, PADDING_BYTES, RETRY_MS, EventStream, Heartbeats
from .wire import multi_poll_answer, poll_answer, sse_event, sse_gone, sse_hello

log = logging.getLogger("htag_sse")

#: At most this many pages per stream or poll (a session holds at most 16 by default).
MAX_FOLLOWS = 64
#: How long a pull of a page held elsewhere waits for news before asking again.
REMOTE_POLL_S = 20.0


@dataclass(slots=True)
class Follow:
    """A page a stream or poll follows, from the event after ``cursor`` (``None``: a full refresh first).
    ``ref`` is ``None`` for a page that is gone."""

    ref: PageRef | None
    cursor: int | None
    pid: str

    @property
    def here(self) -> bool:
        """A page of this worker (live or not)."""
        return self.ref is not None and self.ref.page is not None

    @property
    def remote(self) -> bool:
        return self.ref is not None and self.ref.page is None

    @property
    def local(self) -> Page | None:
        page = self.ref.page if self.ref is not None else None
        return page if page is not None and not page.closed else None


def sse_response(follows: list[Follow], heartbeats: Heartbeats, *, named: bool) -> EventStream:
    """An SSE stream of the followed pages' events.

    ``named``: events are named after their page (``event: <page id>``), for
    a stream shared by several tabs; otherwise a plain ``EventSource`` stream
    of one page. Starts with a padded ``hello`` event; a follower further
    behind than the backlog gets one full refresh; a page that is gone gets
    ``event: gone`` (the client asks for a rerun).
    """
    return EventStream(lambda stream: _events(follows, named, stream), heartbeats)


def _watch(pages: list[Page], wake: asyncio.Event) -> None:
    for page in pages:
        page.watch(wake)


def _release(pages: list[Page], wake: asyncio.Event) -> None:
    for page in pages:
        page.unwatch(wake)


async def _pull(f: Follow, inbox: deque[bytes], wake: asyncio.Event, named: bool) -> None:
    """Relay the events of a page held elsewhere into a stream, until it is gone."""
    assert f.ref is not None
    while True:
        try:
            found = await f.ref.events(f.cursor, REMOTE_POLL_S)
        except (RequestError, StoreError) as e:
            status = e.status if isinstance(e, RequestError) else 503
            if status not in (502, 503, 504):
                log.info("stream of page %s ends: %s", f.pid, e)
                found = None
            else:
                await asyncio.sleep(1.0)  # the store or the owner is busy: ask again soon
                continue
        if found is None:
            inbox.append(sse_gone(f.pid))
            wake.set()
            return
        for cursor, data in found:
            f.cursor = cursor
            inbox.append(sse_event(cursor, data, event=f.pid if named else None))
        if found:
            wake.set()


async def _events(follows: list[Follow], named: bool, stream: EventStream) -> AsyncIterator[bytes]:
    wake = stream.wake
    local = [f for f in follows if f.local is not None]
    watched = [p for f in local if (p := f.local) is not None]
    _watch(watched, wake)
    inbox: deque[bytes] = deque()  # events pulled from other workers
    loop = asyncio.get_running_loop()
    pullers = [loop.create_task(_pull(f, inbox, wake, named)) for f in follows if f.remote]
    try:
        yield sse_hello(0 if named else (follows[0].cursor or 0), RETRY_MS, PADDING_BYTES)
        for f in follows:
            if not f.remote and f.local is None:
                yield sse_gone(f.pid)
        while local or inbox or not all(p.done() for p in pullers):
            wake.clear()
            if stream.over:
                return
            for f in list(local):
                page = f.local
                if page is None:  # dropped: the client reruns; server stopping: it reconnects later
                    if f.ref is not None and f.ref.page is not None and f.ref.page.stopping:
                        return
                    local.remove(f)
                    yield sse_gone(f.pid)
                    continue
                for cursor, data in page.news(f.cursor) if f.cursor != page.log.last else ():
                    f.cursor = cursor
                    yield sse_event(cursor, data, event=f.pid if named else None)
            while inbox:
                yield inbox.popleft()
            if local or not all(p.done() for p in pullers):
                await wake.wait()
    finally:
        for puller in pullers:
            puller.cancel()
        _release(watched, wake)


async def collect(follows: list[Follow], timeout_s: float) -> tuple[dict[str, Events], list[str]]:
    """Hold until a followed page has events after its cursor (or is gone), or ``timeout_s``
    passes: then the events of every page, and the gone ones."""
    wake = asyncio.Event()
    watched = [p for f in follows if (p := f.local) is not None]
    _watch(watched, wake)
    calls = {f.pid: asyncio.ensure_future(f.ref.events(f.cursor, timeout_s)) for f in follows if f.ref and f.remote}
    try:
        ready = any(not f.remote and (f.local is None or f.cursor != f.local.log.last) for f in follows)
        if not ready:
            waiter = asyncio.ensure_future(wake.wait())
            await asyncio.wait([waiter, *calls.values()], timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        events: dict[str, Events] = {}
        gone: list[str] = []
        for f in follows:
            if not f.remote:
                page = f.local
                if page is None:
                    gone.append(f.pid)
                else:
                    events[f.pid] = page.news(f.cursor) if f.cursor != page.log.last else []
                continue
            call = calls[f.pid]
            if not call.done():
                events[f.pid] = []
            elif call.exception() is None:
                found = call.result()
                if found is None:
                    gone.append(f.pid)
                else:
                    events[f.pid] = found
            elif isinstance(call.exception(), RequestError) and call.exception().status == 410:  # type: ignore[union-attr]
                gone.append(f.pid)
            else:
                events[f.pid] = []
        return events, gone
    finally:
        for call in calls.values():
            call.cancel()
        _release(watched, wake)


async def poll(follows: list[Follow], timeout_s: float, *, multi: bool) -> Response:
    """Long-poll: the answer of :func:`collect` as JSON."""
    events, gone = await collect(follows, timeout_s)
    if multi:
        return Response(multi_poll_answer(events, gone), 200, HEADERS, "application/json")
    if gone:
        return Response(RequestError(410, "page_gone", "this page is gone: rerun it").body(), 410, HEADERS,
                        "application/json")  # fmt: skip
    batch = events.get(follows[0].pid, [])
    last = batch[-1][0] if batch else (follows[0].cursor or 0)
    return Response(poll_answer(batch, last), 200, HEADERS, "application/json")
