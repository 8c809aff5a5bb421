"""An SSE response that costs little per open stream: one coroutine and one
disconnect watcher per stream, and one heartbeat timer for all the streams of
the worker (sse-starlette's ``EventSourceResponse`` runs four tasks per stream,
its own heartbeat timer among them: measured, ~45 KB and a wake-up per stream
per heartbeat; see docs/performance.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from sse_starlette.sse import AppStatus
from starlette.types import Receive, Scope, Send

log = logging.getLogger("htag_sse")

#: The shared timer ticks this often: heartbeats are spread over the ticks of an interval.
TICK_S = 1.0
#: A comment line: keeps proxies from closing an idle stream; clients see a live stream.
HEARTBEAT = b":\n\n"


class EventStream:
    """An ASGI response streaming the bytes of ``body(stream)``.

    The body waits on :attr:`wake`; it is set by the pages it follows, by the
    shared heartbeat timer (:attr:`beat` then asks for a comment line), when
    the client goes away and when the server stops (:attr:`over`: the body ends).
    """

    __slots__ = ("body", "ending", "gone", "headers", "heartbeats", "send", "sending", "sent_at", "wake")

    def __init__(self, body: Callable[[EventStream], AsyncIterator[bytes]], headers: list[tuple[bytes, bytes]],
                 heartbeats: Heartbeats) -> None:  # fmt: skip
        self.body = body
        self.headers = headers
        self.heartbeats = heartbeats
        self.wake = asyncio.Event()
        self.gone = False  # the client went away
        self.ending = False  # the server is stopping
        self.send: Send | None = None
        self.sending = False
        self.sent_at = 0.0

    @property
    def over(self) -> bool:
        return self.gone or self.ending

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        if scope["method"] == "HEAD":  # headers only: the stream would never end
            await send({"type": "http.response.body", "body": b""})
            return
        watcher = asyncio.get_running_loop().create_task(self._watch(receive))
        self.send = send
        self.heartbeats.add(self)
        try:
            chunks = self.body(self)
            async with contextlib.aclosing(chunks):  # type: ignore[type-var]
                async for chunk in chunks:
                    await self._send(chunk)
            if not self.gone:
                await send({"type": "http.response.body", "body": b""})
        except OSError:  # the connection broke while sending
            pass
        finally:
            self.heartbeats.discard(self)
            watcher.cancel()

    async def _send(self, chunk: bytes) -> None:
        assert self.send is not None
        self.sending = True
        try:
            await self.send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            self.sending = False
            self.sent_at = time.monotonic()

    async def heartbeat(self, idle_s: float) -> None:
        """Send a comment line if nothing was sent for ``idle_s`` — from the heartbeat
        timer's task: the stream's own coroutine is not even woken."""
        if self.sending or self.over or self.send is None or time.monotonic() - self.sent_at < idle_s:
            return
        try:
            await self._send(HEARTBEAT)
        except OSError:
            pass

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.gone = True
        self.wake.set()

    def end(self) -> None:
        """End the stream (server stopping)."""
        self.ending = True
        self.wake.set()


class Heartbeats:
    """One timer for every stream of the worker: each stream gets a heartbeat
    every ``interval_s``, a slice of them at each tick (no burst of 10,000
    writes at once). It also ends the streams when uvicorn is stopping (what
    sse-starlette's ``AppStatus`` learns from uvicorn)."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.slices = max(1, round(interval_s / TICK_S))
        self._buckets: list[set[EventStream]] = [set() for _ in range(self.slices)]
        self._next = 0
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return sum(len(b) for b in self._buckets)

    def add(self, stream: EventStream) -> None:
        self._buckets[self._next % self.slices].add(stream)
        self._next += 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="htag-sse heartbeats")

    def discard(self, stream: EventStream) -> None:
        for bucket in self._buckets:
            bucket.discard(stream)

    def end_all(self) -> None:
        for bucket in self._buckets:
            for stream in list(bucket):
                stream.end()

    async def _run(self) -> None:
        tick = 0
        while len(self):
            await asyncio.sleep(TICK_S)
            if AppStatus.should_exit:
                log.info("server stopping: ending %d stream(s)", len(self))
                self.end_all()
                return
            tick += 1
            for stream in list(self._buckets[tick % self.slices]):
                await stream.heartbeat(self.interval_s / 2)
