"""The SSE response, with every proxy-facing detail in one place: headers, padding,
``retry:``, heartbeats, a lock and a timeout around each send, and the end of
streams when the server stops or a stream reaches ``max_stream_s``.

It costs little per open stream: one coroutine and one disconnect watcher per
stream, and one heartbeat timer for all the streams of a worker (sse-starlette's
``EventSourceResponse`` runs four tasks per stream, its own heartbeat timer
among them: measured ~45 KB and a wake-up per stream per heartbeat; see
docs/performance.md). Frames are encoded with sse-starlette (:mod:`.wire`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from sse_starlette.sse import AppStatus
from starlette.types import Receive, Scope, Send

from .wire import HEARTBEAT

log = logging.getLogger("htag_sse")

#: Proxies must neither cache, transform (compress) nor buffer pushed events.
HEADERS = {"Cache-Control": "no-cache, no-store, no-transform", "X-Accel-Buffering": "no"}
SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"),
               *((k.lower().encode(), v.encode()) for k, v in HEADERS.items())]  # fmt: skip
#: Sent first, so proxies that buffer the first few KB flush the stream at once.
PADDING_BYTES = 2048
#: The SSE ``retry:`` field: how long a plain EventSource waits to reconnect.
RETRY_MS = 2000
#: The shared timer ticks this often: heartbeats are spread over the ticks of an interval.
TICK_S = 1.0
#: A stream whose client does not take a chunk within this long is closed (it would hold memory, and
#: its sender): a healthy client behind any proxy takes a few KB in well under a second.
SEND_TIMEOUT_S = 10.0


class Shutdown:
    """The one "server is stopping" signal of an app, fed by whichever server runs it:
    ``run()``/the CLI on a stop signal (hypercorn's ``shutdown_trigger``), the ASGI
    lifespan's shutdown, or uvicorn's exit flag as sse-starlette learns it."""

    def __init__(self) -> None:
        self.stopping = False
        self._hooks: list[Callable[[], None]] = []

    def on_stop(self, hook: Callable[[], None]) -> None:
        self._hooks.append(hook)

    def begin(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        for hook in self._hooks:
            hook()

    def poll_server(self) -> None:
        """uvicorn tells no application that it stops; sse-starlette learns it (``AppStatus``)."""
        if AppStatus.should_exit and not self.stopping:
            log.info("server stopping: ending the streams")
            self.begin()


class EventStream:
    """An ASGI response streaming the bytes of ``body(stream)``.

    The body waits on :attr:`wake`; it is set by the pages it follows, when
    the client goes away, when the server stops, and past ``max_stream_s``
    (:attr:`over`: the body ends, the client reconnects and resumes by event id).
    """

    __slots__ = ("body", "ending", "gone", "heartbeats", "lock", "send", "sent_at", "wake")

    def __init__(self, body: Callable[[EventStream], AsyncIterator[bytes]], heartbeats: Heartbeats) -> None:
        self.body = body
        self.heartbeats = heartbeats
        self.wake = asyncio.Event()
        self.gone = False  # the client went away (or could not keep up)
        self.ending = False  # the server is stopping, or the stream reached its age limit
        self.send: Send | None = None
        self.lock = asyncio.Lock()  # the body and the heartbeat timer never write at once
        self.sent_at = 0.0

    @property
    def over(self) -> bool:
        return self.gone or self.ending

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        if scope["method"] == "HEAD":  # headers only: the stream would never end
            await send({"type": "http.response.body", "body": b""})
            return
        loop = asyncio.get_running_loop()
        watcher = loop.create_task(self._watch(receive))
        limit = self.heartbeats.max_stream_s
        ender = loop.call_later(limit, self.end) if limit else None
        self.send = send
        self.heartbeats.add(self)
        try:
            chunks = self.body(self)
            async with contextlib.aclosing(chunks):  # type: ignore[type-var]
                async for chunk in chunks:
                    if not await self.write(chunk):
                        return
            if not self.gone:
                await send({"type": "http.response.body", "body": b""})
        except OSError:  # the connection broke while sending
            pass
        finally:
            self.heartbeats.discard(self)
            watcher.cancel()
            if ender is not None:
                ender.cancel()

    async def write(self, chunk: bytes) -> bool:
        """Send a chunk; False (and the stream is over) if the client cannot take it in time."""
        assert self.send is not None
        try:
            async with self.lock:
                async with asyncio.timeout(SEND_TIMEOUT_S):
                    await self.send({"type": "http.response.body", "body": chunk, "more_body": True})
        except TimeoutError:
            log.info("a stream's client took no data for %g s: closed", SEND_TIMEOUT_S)
            self.gone = True
            self.wake.set()
            return False
        self.sent_at = time.monotonic()
        return True

    async def heartbeat(self, idle_s: float) -> None:
        """Send a comment line if nothing was sent for ``idle_s`` (from the heartbeat timer:
        the stream's own coroutine is not even woken)."""
        if self.over or self.send is None or self.lock.locked() or time.monotonic() - self.sent_at < idle_s:
            return
        try:
            await self.write(HEARTBEAT)
        except OSError:
            pass

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.gone = True
        self.wake.set()

    def end(self) -> None:
        """End the stream cleanly (server stopping, age limit): the client reconnects."""
        self.ending = True
        self.wake.set()


class Heartbeats:
    """One timer for every stream of the worker: each stream gets a heartbeat
    every ``interval_s``, a slice of them at each tick (no burst of 10,000
    writes at once). Each heartbeat is its own task: one stream whose client
    does not read never delays another's."""

    def __init__(self, interval_s: float, shutdown: Shutdown, max_stream_s: float = 0.0) -> None:
        self.interval_s = interval_s
        self.max_stream_s = max_stream_s
        self.shutdown = shutdown
        self.slices = max(1, round(interval_s / TICK_S))
        self._buckets: list[set[EventStream]] = [set() for _ in range(self.slices)]
        self._next = 0
        self._task: asyncio.Task[None] | None = None
        self._beating: set[asyncio.Task[None]] = set()
        shutdown.on_stop(self.end_all)

    def __len__(self) -> int:
        return sum(len(b) for b in self._buckets)

    def add(self, stream: EventStream) -> None:
        if self.shutdown.stopping:
            stream.end()
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
        loop = asyncio.get_running_loop()
        while len(self):
            await asyncio.sleep(TICK_S)
            self.shutdown.poll_server()
            tick += 1
            now, idle_s = time.monotonic(), self.interval_s / 2
            for stream in list(self._buckets[tick % self.slices]):
                if stream.lock.locked() or stream.over or now - stream.sent_at < idle_s:
                    continue  # busy sending (or stuck: its send timeout will close it), or not idle
                task = loop.create_task(stream.heartbeat(self.interval_s / 2))
                self._beating.add(task)
                task.add_done_callback(self._beating.discard)
