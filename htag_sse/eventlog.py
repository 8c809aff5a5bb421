"""A page's pushed events: numbered, bounded, and awaitable by streams and polls."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

#: Numbered events: ``(id, data)`` pairs, data being one line of JSON.
Events = list[tuple[int, str]]


class Feed(Protocol):
    """Pushed events readable from any host (Redis streams, :class:`~htag_sse.redis.RedisFeed`):
    the owner publishes each event of its pages in order; any worker reads them after an id
    (``None``: some were lost, the reader needs a full refresh)."""

    async def publish(self, pid: str, event_id: int, data: str) -> None: ...

    async def read(self, pid: str, after: int, timeout_s: float) -> list[tuple[int, str]] | None: ...

    async def drop(self, pid: str) -> None: ...


class EventLog:
    """Events pushed by a page (``tag.update()``), each with an increasing id.

    Keeps the last ``limit`` events so a client that reconnects with the id it
    last saw gets everything after it. When the client is further behind than
    the backlog (or names an id the log never issued), :meth:`since` answers
    ``None``: the caller then sends a full refresh of the page instead.

    Streams that follow several pages register one :class:`asyncio.Event`
    with each log (:meth:`listen`); it is set on every append and on close.
    """

    __slots__ = ("_events", "_last", "_limit", "_listeners", "closed")

    def __init__(self, limit: int) -> None:
        self._events: deque[tuple[int, str]] | None = None  # made at the first event: many pages never push
        self._limit = limit
        self._last = 0
        self._listeners: list[asyncio.Event] | None = None
        self.closed = False

    @property
    def last(self) -> int:
        """Id of the newest event (0 before the first)."""
        return self._last

    def append(self, data: str) -> int:
        self._last += 1
        if self._events is None:
            self._events = deque(maxlen=self._limit)
        self._events.append((self._last, data))
        self._wake()
        return self._last

    def since(self, after: int) -> list[tuple[int, str]] | None:
        """Events with an id greater than ``after``; ``None`` if some were lost."""
        if after == self._last:
            return []
        if after > self._last or not self._events or after < self._events[0][0] - 1:
            return None
        return [e for e in self._events if e[0] > after]

    def listen(self, wake: asyncio.Event) -> None:
        if self._listeners is None:
            self._listeners = []
        self._listeners.append(wake)
        if self.closed:
            wake.set()

    def unlisten(self, wake: asyncio.Event) -> None:
        if self._listeners and wake in self._listeners:
            self._listeners.remove(wake)
            if not self._listeners:
                self._listeners = None

    async def wait(self, after: int, timeout_s: float | None = None) -> None:
        """Return once an event newer than ``after`` exists, the log is closed,
        or ``timeout_s`` has passed."""
        if self._last > after or self.closed:
            return
        wake = asyncio.Event()
        self.listen(wake)
        try:
            async with asyncio.timeout(timeout_s):
                await wake.wait()
        except TimeoutError:
            pass
        finally:
            self.unlisten(wake)

    def close(self) -> None:
        """Wake every listener for good (page dropped, server stopping)."""
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        for wake in self._listeners or ():
            wake.set()
