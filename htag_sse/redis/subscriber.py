"""One Redis pub/sub connection per process (:class:`Subscriber`), shared by the bus (each worker's
inbox channel) and the store (the channel where session changes are announced). Pub/sub keeps
nothing: what is published while the connection is down is lost, so every (re)connection bumps
:attr:`Subscriber.generation` — whatever was learnt from messages before it is known no more."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from .connection import BLOCK_S, RedisConnection

log = logging.getLogger("htag_sse")

Handler = Callable[[bytes], None]


class Subscriber:
    """Reads the channels subscribed to, hands each message to its channel's handler, on the event loop."""

    def __init__(self, conn: RedisConnection) -> None:
        self.conn = conn
        self.generation = 0  # bumped at each connection, once every channel is subscribed
        self.connected = False
        self._handlers: dict[str, Handler] = {}
        self._task: asyncio.Task[None] | None = None
        self._pubsub: Any = None
        self._ready: asyncio.Event | None = None
        self._closing = False

    async def subscribe(self, channel: str, handler: Handler) -> None:
        """Hand ``channel``'s messages to ``handler`` from now on (returns once Redis confirmed it)."""
        self._handlers[channel] = handler
        if self._task is None or self._task.done():
            self._ready = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="htag-sse subscriber")
        elif self._pubsub is not None and self.connected:
            ready = self._ready = asyncio.Event()
            try:
                await self._pubsub.subscribe(channel)
            except self.conn.errors as e:  # the reader reconnects and subscribes to it with the others
                log.debug("redis: subscribing to %s failed (%s)", channel, e)
            ready.set()  # the confirmation is read by the reader: messages after it are delivered
        assert self._ready is not None
        async with asyncio.timeout(self.conn.limit):
            await self._ready.wait()

    def unsubscribe(self, channel: str) -> None:
        self._handlers.pop(channel, None)
        if self._pubsub is not None and self.connected:
            asyncio.get_running_loop().create_task(self._quiet(self._pubsub.unsubscribe(channel)))

    async def _quiet(self, call: Any) -> None:
        try:
            await call
        except self.conn.errors:
            pass

    async def _run(self) -> None:
        delay = 0.05
        while not self._closing:
            try:
                self._pubsub = self.conn.blocking.pubsub(ignore_subscribe_messages=True)
                await self._pubsub.subscribe(*self._handlers)
                self.generation += 1
                self.connected = True
                if self._ready is not None:
                    self._ready.set()
                if delay > 0.05:
                    log.warning("redis: subscribed again (messages published meanwhile are lost)")
                delay = 0.05
                while not self._closing:
                    message = await self._pubsub.get_message(timeout=BLOCK_S)
                    if message is not None and message.get("type") in ("message", "pmessage"):
                        self._deliver(message)
            except (*self.conn.errors, OSError, TimeoutError) as e:
                if self._closing:
                    return
                self.connected = False
                (log.warning if delay == 0.05 else log.debug)("redis: the subscription failed (%s)", e or "timeout")
                await self._close_pubsub()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _deliver(self, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        name = channel.decode() if isinstance(channel, bytes) else str(channel)
        handler = self._handlers.get(name)
        data = message.get("data")
        if handler is None or not isinstance(data, bytes):
            return
        try:
            handler(data)
        except Exception:
            log.exception("redis: a message of %s could not be handled", name)

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                await pubsub.aclose()
            except (*self.conn.errors, OSError):
                pass

    async def close(self) -> None:
        self._closing = True
        task, self._task = self._task, None
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=0.1)
        await self._close_pubsub()
