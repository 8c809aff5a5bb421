"""The bus between workers of several hosts on Redis (:class:`RedisBus`): a pub/sub channel per worker.
Keys and channels: docs/redis.md."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..bus import Deliver
from ..errors import StoreError
from .connection import NONCE, RedisConnection, RedisPart, Script, ms

log = logging.getLogger("htag_sse")

#: A message longer than this travels apart: in a key the receiver reads and deletes (GETDEL).
SIDE_BYTES = 256 * 1024
#: At most this many bytes of messages sent apart wait in Redis for their receivers, per process.
SIDE_BUDGET = 64 * 1024 * 1024
#: How long a message sent apart waits in Redis for its receiver.
SIDE_TTL_S = 30.0
#: A worker whose channel has no listener (its subscription is being renewed) is asked again, this often.
RETRY_S = (0.05, 0.1, 0.2, 0.4)
SIDE = b"\x00side:"

Call = Callable[[Any], Awaitable[Any]]
# KEYS: the message's own key. ARGV: the signed message, its expiry (ms), the channel, the announce.
_APART = Script("redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return redis.call('PUBLISH', ARGV[3], ARGV[4])")


class RedisBus(RedisPart):
    """:class:`~htag_sse.bus.Bus` on Redis pub/sub: a channel per worker, ``ns:b:<worker>``, read by the
    process's :class:`~htag_sse.redis.subscriber.Subscriber`. ``send`` is one PUBLISH (one round trip,
    the message kept nowhere); one longer than ``SIDE_BYTES`` (an upload) waits apart in a key the
    receiver reads and deletes at once, within a byte budget per process. A channel nobody listens to
    is asked again for a moment (a subscription being renewed), then the worker counts as unreachable.
    Messages carry a random tag and a signature bound to the channel: unsigned ones are dropped, a
    retried PUBLISH's duplicate is delivered once. What is lost (a subscriber reconnecting) the caller's
    deadline catches: interactions are numbered, and the browser retries."""

    direct = True  # a worker's channel is named after it: it listens from its start, no contact is needed

    def __init__(
        self,
        url: str | RedisConnection,
        *,
        secret: bytes,
        namespace: str = "htag-sse",
        timeout_s: float = 2.0,
    ) -> None:
        super().__init__(url, secret=secret, namespace=namespace, timeout_s=timeout_s)
        self._me: str | None = None
        self._seen: dict[bytes, None] = {}  # tags of recent messages, oldest first
        self._side = asyncio.Semaphore(SIDE_BUDGET // SIDE_BYTES)
        self._tasks: set[asyncio.Task[None]] = set()

    def _channel(self, worker: str) -> str:
        return f"{self.ns}:b:{worker}"

    async def open(self, me: str, deliver: Deliver) -> dict[str, Any]:
        if self._me is not None and self._me != me:
            self.conn.subscriber.unsubscribe(self._channel(self._me))
        self._me = me
        channel = self._channel(me)
        await self.conn.subscriber.subscribe(channel, lambda raw: self._take(channel, raw, deliver))
        log.debug("bus: worker %s listens on %s", me, channel)
        return {}

    async def send(self, to: str, contact: Mapping[str, Any], message: bytes) -> None:
        channel = self._channel(to)
        tag = secrets.token_bytes(NONCE)
        signed = self._sign.sign(tag + message, channel)
        try:
            if len(signed) > SIDE_BYTES:
                await self._send_apart(channel, tag, signed)
            else:
                await self._publish(channel, signed)
        except StoreError as e:
            raise ConnectionError(f"worker {to} cannot be reached: {e}") from None

    async def _publish(self, channel: str, payload: bytes, first: Call | None = None) -> None:
        """PUBLISH (``first`` makes the first attempt instead); a channel nobody hears is asked again."""
        for delay in (*RETRY_S, None):
            if first is not None:
                heard, first = await self.conn.call("PUBLISH", first), None
            else:
                heard = await self.conn.call("PUBLISH", lambda r: r.publish(channel, payload))
            if heard:
                return
            if delay is None:
                raise ConnectionError(f"nobody listens on {channel}")
            await asyncio.sleep(delay)

    async def _send_apart(self, channel: str, tag: bytes, signed: bytes) -> None:
        """A long message: in a key of its own (one script sets it and announces it), within the budget."""
        slots = min(-(-len(signed) // SIDE_BYTES), SIDE_BUDGET // SIDE_BYTES)
        taken = 0
        try:
            async with asyncio.timeout(SIDE_TTL_S):
                for _ in range(slots):
                    await self._side.acquire()
                    taken += 1
            key = f"{self.ns}:{{x:{tag.hex()}}}"
            announce = self._sign.sign(tag + SIDE + key.encode(), channel)
            await self._publish(
                channel, announce, lambda r: _APART(r, [key], [signed, ms(SIDE_TTL_S), channel, announce])
            )
        except TimeoutError:
            raise ConnectionError("too many long messages are waiting in Redis: try again") from None
        finally:
            for _ in range(taken):
                self._side.release()

    def _take(self, channel: str, raw: bytes, deliver: Deliver) -> None:
        payload = self._sign.check(raw, channel)
        if payload is None or payload[:NONCE] in self._seen:
            return
        self._seen[payload[:NONCE]] = None
        if len(self._seen) > 1024:
            del self._seen[next(iter(self._seen))]
        body = payload[NONCE:]
        if body.startswith(SIDE):
            task = asyncio.get_running_loop().create_task(self._fetch(channel, body[len(SIDE) :].decode(), deliver))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        try:
            deliver(body)
        except Exception:
            log.exception("bus: delivering a message failed")

    async def _fetch(self, channel: str, key: str, deliver: Deliver) -> None:
        """A message sent apart: read and deleted at once (GETDEL), then handed on."""
        try:
            raw = await self.conn.call("GETDEL", lambda r: r.getdel(key))
        except StoreError as e:
            log.info("bus: a long message could not be read (%s): its sender's deadline will tell", e)
            return
        payload = self._sign.check(raw, channel) if raw else None
        if payload is not None:
            try:
                deliver(payload[NONCE:])
            except Exception:
                log.exception("bus: delivering a message failed")

    async def close(self) -> None:
        if self._me is not None:
            self.conn.subscriber.unsubscribe(self._channel(self._me))
        for task in list(self._tasks):
            task.cancel()
        await self.conn.release()


# KEYS: a page's events. ARGV: event number, signed data, backlog, expiry (ms).
