"""How worker processes reach each other: a small message-bus interface, and the
embedded one — messages through a diskcache directory, with a loopback UDP
datagram as the doorbell (so a waiting worker wakes at once instead of polling).

Portable: diskcache (SQLite) and UDP sockets on 127.0.0.1 exist on Linux,
macOS and Windows; no fork, file locks, unix sockets or shared memory.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

log = logging.getLogger("htag_sse")

Deliver = Callable[[bytes], None]

#: Messages not read within this many seconds are dropped (their sender gave up long before).
MESSAGE_TTL_S = 60.0
#: A reader also looks for messages this often, in case a doorbell datagram was lost.
SAFETY_POLL_S = 1.0


@runtime_checkable
class Bus(Protocol):
    """Delivers opaque messages to a worker, by worker id.

    ``open`` starts receiving for worker ``me`` and returns how others reach it
    (stored in its lease); ``send`` gets that contact back.
    """

    async def open(self, me: str, deliver: Deliver) -> dict[str, Any]: ...

    def send(self, to: str, contact: Mapping[str, Any], message: bytes) -> None: ...

    def close(self) -> None: ...


class DiskBus:
    """The embedded bus for the workers of one host: one inbox per worker in a
    diskcache directory (a counter and numbered messages), and a UDP doorbell."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        import diskcache

        self._cache = diskcache.Cache(str(directory), timeout=30, eviction_policy="none", statistics=False)
        self._out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._out.setblocking(False)
        self._transport: asyncio.DatagramTransport | None = None
        self._safety: asyncio.Task[None] | None = None
        self._me = ""
        self._read = 0
        self._deliver: Deliver | None = None
        self._draining = False

    async def open(self, me: str, deliver: Deliver) -> dict[str, Any]:
        self._me, self._deliver = me, deliver
        self._read = int(self._cache.get("n:" + me, 0, retry=True))
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _Doorbell(self.drain), local_addr=("127.0.0.1", 0)
        )
        self._safety = loop.create_task(self._poll(), name="htag-sse bus safety poll")
        port = self._transport.get_extra_info("sockname")[1]
        log.debug("bus: worker %s listens on udp/%d", me, port)
        return {"port": port}

    def send(self, to: str, contact: Mapping[str, Any], message: bytes) -> None:
        with self._cache.transact(retry=True):
            n = self._cache.incr("n:" + to, retry=True)
            self._cache.set(f"m:{to}:{n}", message, expire=MESSAGE_TTL_S, retry=True)
        try:
            self._out.sendto(b"!", ("127.0.0.1", int(contact["port"])))
        except OSError as e:  # the reader's safety poll will find the message
            log.debug("bus: doorbell to %s failed: %s", to, e)

    def drain(self) -> None:
        """Deliver every message that arrived in our inbox since the last drain."""
        if self._draining or self._deliver is None:
            return
        self._draining = True
        try:
            last = int(self._cache.get("n:" + self._me, 0, retry=True))
            while self._read < last:
                self._read += 1
                message = self._cache.get(f"m:{self._me}:{self._read}", retry=True)
                if isinstance(message, bytes):
                    self._deliver(message)
        finally:
            self._draining = False

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(SAFETY_POLL_S)
            self.drain()

    def close(self) -> None:
        if self._safety is not None:
            self._safety.cancel()
        if self._transport is not None:
            self._transport.close()
        self._out.close()
        self._cache.close()


class _Doorbell(asyncio.DatagramProtocol):
    def __init__(self, ring: Callable[[], None]) -> None:
        self.ring = ring

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.ring()
