"""How pushed events travel: SSE streams and long-poll answers, with every
proxy-facing detail (headers, padding, heartbeats, retry) in this one module.

A stream or a poll *follows* one page, or several pages of one session (the
browser tabs of a user share one connection, see ``docs/transport.md``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import Response
from starlette.types import Scope

from .page import Page
from .wire import dumps, multi_poll_answer, poll_answer, sse_event, sse_hello

#: Proxies must neither cache, transform (compress) nor buffer pushed events.
HEADERS = {"Cache-Control": "no-cache, no-store, no-transform", "X-Accel-Buffering": "no"}
#: Sent first, so proxies that buffer the first few KB flush the stream at once.
PADDING_BYTES = 2048
#: The SSE ``retry:`` field: how long a plain EventSource waits to reconnect.
RETRY_MS = 2000
#: At most this many pages per stream or poll (a session holds at most 16 by default).
MAX_FOLLOWS = 64


@dataclass(slots=True)
class Follow:
    """A page a stream follows, from the event after ``cursor`` (``None``: a full refresh first)."""

    pid: str
    page: Page | None
    cursor: int | None

    @property
    def live(self) -> bool:
        return self.page is not None and not self.page.closed


def sse_response(scope: Scope, follows: list[Follow], heartbeat_s: float, *, named: bool) -> Response:
    """An SSE stream of the followed pages' events.

    ``named``: events are named after their page (``event: <page id>``), for
    a stream shared by several tabs; otherwise a plain ``EventSource`` stream
    of one page. Starts with a padded ``hello`` event; a follower further
    behind than the backlog gets one full refresh; a page that is gone gets
    ``event: gone`` (the client asks for a rerun). Ends when the server stops.
    """
    response = EventSourceResponse(
        _events(follows, named),
        headers=HEADERS,
        ping=heartbeat_s,
        sep="\n",
        ping_message_factory=lambda: ServerSentEvent(comment="", sep="\n"),
    )
    if scope.get("http_version", "1.1") not in ("1.0", "1.1"):
        # connection-specific headers are forbidden in HTTP/2 and HTTP/3
        response.raw_headers = [(k, v) for k, v in response.raw_headers if k != b"connection"]
    return response


def _gone(pid: str) -> bytes:
    return sse_event(0, dumps({"page": pid}), event="gone")


def _watch(follows: list[Follow], wake: asyncio.Event) -> list[Page]:
    """Count the followers of each live page and have its log set ``wake``."""
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


async def _events(follows: list[Follow], named: bool) -> AsyncIterator[bytes]:
    wake = asyncio.Event()
    watched = _watch(follows, wake)
    live = [f for f in follows if f.live]
    try:
        yield sse_hello(0 if named else (follows[0].cursor or 0), RETRY_MS, PADDING_BYTES)
        for f in follows:
            if not f.live:
                yield _gone(f.pid)
        while live:
            wake.clear()
            for f in list(live):
                page = f.page
                assert page is not None
                if page.closed:  # dropped: the client reruns; server stopping: it reconnects later
                    if page.stopping:
                        return
                    live.remove(f)
                    yield _gone(f.pid)
                    continue
                batch = page.log.since(f.cursor) if f.cursor is not None else None
                if batch is None:
                    batch = [(page.log.last, dumps(page.refresh()))]
                for f.cursor, data in batch:
                    yield sse_event(f.cursor, data, event=f.pid if named else None)
            if live:
                await wake.wait()
    finally:
        _release(watched, wake)


async def poll(follows: list[Follow], timeout_s: float, *, multi: bool) -> Response:
    """Long-poll: hold the request until a followed page has events after its
    cursor (or is gone), or ``timeout_s`` passes; then answer them as JSON."""
    wake = asyncio.Event()
    watched = _watch(follows, wake)
    try:
        if len(watched) == len(follows) and all(f.cursor == f.page.log.last for f in follows if f.page):
            try:
                async with asyncio.timeout(timeout_s):
                    await wake.wait()
            except TimeoutError:
                pass
        answers: dict[str, list[tuple[int, str]]] = {}
        gone = []
        for f in follows:
            page = f.page
            if page is None or page.closed:
                gone.append(f.pid)
                continue
            batch = page.log.since(f.cursor) if f.cursor is not None else None
            answers[f.pid] = batch if batch is not None else [(page.log.last, dumps(page.refresh()))]
    finally:
        _release(watched, wake)
    if not multi:
        if gone:
            return Response(b'{"error":"page_gone","message":"this page is gone: rerun it"}', 410, HEADERS, "application/json")
        page = follows[0].page
        assert page is not None
        return Response(poll_answer(answers[follows[0].pid], page.log.last), 200, HEADERS, "application/json")
    return Response(multi_poll_answer(answers, gone), 200, HEADERS, "application/json")
