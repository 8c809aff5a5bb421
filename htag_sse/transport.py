"""How pushed events travel: the SSE stream and the long-poll answer, with every
proxy-facing detail (headers, padding, heartbeats, retry) in this one module."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import Response
from starlette.types import Scope

from .page import Page
from .wire import dumps, poll_answer, sse_event, sse_hello

#: Proxies must neither cache, transform (compress) nor buffer pushed events.
HEADERS = {"Cache-Control": "no-cache, no-store, no-transform", "X-Accel-Buffering": "no"}
#: Sent first, so proxies that buffer the first few KB flush the stream at once.
PADDING_BYTES = 2048
#: The SSE ``retry:`` field: how long a plain EventSource waits to reconnect.
RETRY_MS = 2000


def sse_response(scope: Scope, page: Page | None, after: int | None, heartbeat_s: float) -> Response:
    """The page's event stream, resuming after event ``after``.

    Starts with a padded ``hello`` event; a client further behind than the
    backlog gets one full refresh; a page that is gone says ``event: gone``
    (the client then asks for a rerun). Ends when the server stops.
    """
    response = EventSourceResponse(
        _events(page, after),
        headers=HEADERS,
        ping=heartbeat_s,
        sep="\n",
        ping_message_factory=lambda: ServerSentEvent(comment="", sep="\n"),
    )
    if scope.get("http_version", "1.1") not in ("1.0", "1.1"):
        # connection-specific headers are forbidden in HTTP/2 and HTTP/3
        response.raw_headers = [(k, v) for k, v in response.raw_headers if k != b"connection"]
    return response


async def _events(page: Page | None, after: int | None) -> AsyncIterator[bytes]:
    if page is None or page.closed:
        yield sse_event(0, "{}", event="gone")
        return
    page.streams += 1
    try:
        cursor = after
        yield sse_hello(cursor or 0, RETRY_MS, PADDING_BYTES)
        while True:
            batch = page.log.since(cursor) if cursor is not None else None
            if page.closed:  # dropped: the client reruns; server stopping: it reconnects later
                if not page.stopping:
                    yield sse_event(page.log.last, "{}", event="gone")
                return
            if batch is None:
                cursor = page.log.last
                yield sse_event(cursor, dumps(page.refresh()))
            else:
                for cursor, data in batch:
                    yield sse_event(cursor, data)
            await page.log.wait(cursor)
    finally:
        page.streams -= 1
        page.seen_at = time.monotonic()


async def poll(page: Page, after: int | None, timeout_s: float) -> Response:
    """Long-poll: hold the request until events after ``after`` exist or ``timeout_s`` passes."""
    page.streams += 1
    try:
        if after is not None:
            await page.log.wait(after, timeout_s)
        if page.closed:
            return Response(b'{"error":"page_gone","message":"page is gone"}', 410, HEADERS, "application/json")
        batch = page.log.since(after) if after is not None else None
        if batch is None:
            batch = [(page.log.last, dumps(page.refresh()))]
        return Response(poll_answer(batch, page.log.last), 200, HEADERS, "application/json")
    finally:
        page.streams -= 1
        page.seen_at = time.monotonic()
