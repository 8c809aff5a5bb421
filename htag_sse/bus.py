"""How worker processes reach each other: a small message-bus interface, and the embedded
bus for the workers of one host (:class:`LoopbackBus`). Several hosts use Redis instead
(:class:`~htag_sse.redis.RedisBus`).

Portable: TCP on 127.0.0.1 exists on Linux, macOS and Windows; no fork, file
locks, unix sockets or shared memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .errors import ConfigError

log = logging.getLogger("htag_sse")

Deliver = Callable[[bytes], None]

#: Once a frame's length is read, the rest must arrive within this long.
FRAME_TIMEOUT_S = 10.0
#: A connection starts with the reader's random nonce, answered signed (HMAC of HELLO + nonce).
NONCE_BYTES = 16
HELLO = b"htag-sse loopback bus hello"
#: The file (in the private session directory, beside the database) holding the loopback bus's secret.
SECRET_FILE = "bus.secret"


@runtime_checkable
class Bus(Protocol):
    """Delivers opaque messages (bytes) to a worker, by worker id, in order, each at most once.

    ``open`` starts receiving for worker ``me`` (``deliver`` is called with
    each message, on the event loop) and returns how others reach it — a
    small JSON-able dict, published next to the worker's lease; ``send`` gets
    that contact back. Messages carry their own deadlines: a bus may drop
    what waited too long. ``open`` may be called again (a new worker id).

    A bus whose class says ``direct = True`` reaches a worker by its id alone:
    each worker opens it as it starts, and no contact is published or looked up.
    """

    async def open(self, me: str, deliver: Deliver) -> dict[str, Any]: ...

    async def send(self, to: str, contact: Mapping[str, Any], message: bytes) -> None:
        """Deliver ``message`` to worker ``to``; ``ConnectionError`` if it cannot be reached."""
        ...

    async def close(self) -> None: ...


def bus_secret(configured: bytes | None, directory: Path) -> bytes:
    """The loopback bus's signing key: derived from the app's ``secret``, else kept in a 0600
    file of the private session directory (created by the first worker) — never in the store."""
    if configured is not None:
        return hmac.digest(configured, b"htag-sse loopback bus", "sha256")
    path = directory / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as e:
        raise ConfigError(f"cannot create the bus secret {str(path)!r}: {e}") from None
    else:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    for _ in range(100):  # another worker may be writing it this instant
        data = path.read_bytes()
        if len(data) == 32:
            return data
        time.sleep(0.01)  # startup only
    raise ConfigError(f"the bus secret {str(path)!r} is damaged: delete it and restart every worker")


class LoopbackBus:
    """TCP on 127.0.0.1 between the workers of a host, one connection per pair,
    length-prefixed frames each signed (HMAC-SHA256) with a secret other local
    users cannot read. A connection must first prove it knows the secret (a
    signed nonce) before any frame is read; a frame longer than ``max_frame``
    or slower than ``FRAME_TIMEOUT_S`` closes it. The listening socket opens
    only once another worker exists."""

    def __init__(self, secret: bytes, *, max_frame: int) -> None:
        self._secret = secret
        self.max_frame = max_frame
        self._server: asyncio.Server | None = None
        self._links: dict[str, asyncio.StreamWriter] = {}
        self._accepted: set[asyncio.StreamWriter] = set()
        self._opening: dict[str, asyncio.Lock] = {}
        self._deliver: Deliver | None = None
        self._closed = False

    async def open(self, me: str, deliver: Deliver) -> dict[str, Any]:
        self._deliver, self._closed = deliver, False
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        log.debug("bus: worker %s listens on tcp/%d", me, port)
        return {"port": port}

    def _sign(self, message: bytes) -> bytes:
        return hmac.digest(self._secret, message, hashlib.sha256)

    async def send(self, to: str, contact: Mapping[str, Any], message: bytes) -> None:
        if self._closed:
            raise ConnectionError("this worker's bus is closed (it is stopping)")
        if len(message) > self.max_frame:
            raise ValueError(f"a bus message of {len(message)} bytes is over the {self.max_frame} bytes limit")
        frame = len(message).to_bytes(4, "big") + self._sign(message) + message
        for attempt in (1, 2):  # a cached connection may have died with its worker: one new try
            try:
                link = await self._link(to, contact)
                link.write(frame)
                await link.drain()
                return
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as e:
                self._links.pop(to, None)
                if attempt == 2:
                    raise ConnectionError(f"worker {to} cannot be reached: {e}") from e

    async def _link(self, to: str, contact: Mapping[str, Any]) -> asyncio.StreamWriter:
        """The connection to worker ``to``, opened once (one at a time) and proven: the reader sends a
        nonce, we answer it signed; only then may frames come."""
        lock = self._opening.setdefault(to, asyncio.Lock())
        async with lock:
            link = self._links.get(to)
            if link is not None and not link.is_closing():
                return link
            reader, link = await asyncio.open_connection("127.0.0.1", int(contact["port"]))
            try:
                async with asyncio.timeout(FRAME_TIMEOUT_S):
                    nonce = await reader.readexactly(NONCE_BYTES)
                link.write(self._sign(HELLO + nonce))
            except BaseException:
                link.close()
                raise
            self._links[to] = link
            return link

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._accepted.add(writer)
        try:
            nonce = secrets.token_bytes(NONCE_BYTES)
            writer.write(nonce)
            async with asyncio.timeout(FRAME_TIMEOUT_S):  # a stranger is cut off before it sends a frame
                proof = await reader.readexactly(32)
            if not hmac.compare_digest(proof, self._sign(HELLO + nonce)):
                log.warning("bus: a connection that does not know the secret: closed")
                return
            while True:
                size = int.from_bytes(await reader.readexactly(4), "big")
                if size > self.max_frame:
                    log.warning(
                        "bus: a frame of %d bytes announced (limit %d): connection closed", size, self.max_frame
                    )
                    return
                async with asyncio.timeout(FRAME_TIMEOUT_S):
                    mac = await reader.readexactly(32)
                    message = await reader.readexactly(size)
                if not hmac.compare_digest(mac, self._sign(message)):
                    log.warning("bus: a message with a wrong signature: connection closed")
                    return
                if self._deliver is not None:
                    self._deliver(message)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError, asyncio.CancelledError):
            pass
        finally:
            self._accepted.discard(writer)
            writer.close()

    async def close(self) -> None:
        self._closed = True
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in [*self._links.values(), *self._accepted]:
            writer.close()
        for writer in [*self._links.values(), *self._accepted]:
            try:
                await writer.wait_closed()
            except OSError:
                pass
        self._links.clear()
