"""The bus between workers of several hosts on Redis (:class:`RedisBus`): an inbox stream per worker.
Keys and scripts: docs/redis.md."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from typing import Any

from ..bus import Deliver
from ..errors import StoreError
from .connection import BLOCK_S, NONCE, RedisConnection, RedisPart, Script, ms

log = logging.getLogger("htag_sse")

#: A bus reader trims what it has read from its inbox after this many messages (not after every read).
TRIM_EVERY = 200


_SEND = Script(
    "redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'd', ARGV[1]) "
    "redis.call('PEXPIRE', KEYS[1], ARGV[3]) return 1"
)


class RedisBus(RedisPart):
    """:class:`~htag_sse.bus.Bus` on Redis: one inbox STREAM per worker, ``ns:{w:<worker>}``, read by a
    task with XREAD BLOCK on a connection of its own. ``send`` is an XADD (capped at about ``maxlen``
    messages; an inbox nobody writes to is gone after ``message_ttl_s``). After a lost connection the
    reader goes on from the last id it read: nothing added meanwhile is lost. Each message carries a
    random tag and a signature bound to its inbox: unsigned ones are dropped, a retried XADD's
    duplicate is delivered once."""

    def __init__(
        self,
        url: str | RedisConnection,
        *,
        secret: bytes,
        namespace: str = "htag-sse",
        maxlen: int = 1000,
        message_ttl_s: float = 60.0,
        timeout_s: float = 2.0,
    ) -> None:
        super().__init__(url, secret=secret, namespace=namespace, timeout_s=timeout_s)
        self.maxlen, self.message_ttl_s = maxlen, message_ttl_s
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._unread_trim = 0
        self._last: bytes | str = b"0-0"
        self._seen: dict[bytes, None] = {}  # tags of recent messages, oldest first

    def _inbox(self, worker: str) -> str:
        return f"{self.ns}:{{w:{worker}}}"

    async def open(self, me: str, deliver: Deliver) -> dict[str, Any]:
        inbox = self._inbox(me)
        newest = await self.conn.call("XREVRANGE", lambda r: r.xrevrange(inbox, count=1))
        self._last = newest[0][0] if newest else b"0-0"  # from now on: an earlier process's messages are not ours
        self._task = asyncio.get_running_loop().create_task(self._read(inbox, deliver), name=f"htag-sse bus {me}")
        log.debug("bus: worker %s reads %s", me, inbox)
        return {}

    async def send(self, to: str, contact: Mapping[str, Any], message: bytes) -> None:
        inbox = self._inbox(to)
        signed = self._sign.sign(secrets.token_bytes(NONCE) + message, inbox)
        try:
            await self.conn.call("XADD", lambda r: _SEND(r, [inbox], [signed, self.maxlen, ms(self.message_ttl_s)]))
        except StoreError as e:
            raise ConnectionError(f"worker {to} cannot be reached: {e}") from None

    async def _read(self, inbox: str, deliver: Deliver) -> None:
        delay = 0.05
        while not self._closing:
            try:
                async with asyncio.timeout(BLOCK_S + self.conn.limit):
                    got = await self.conn.blocking.xread({inbox: self._last}, count=100, block=ms(BLOCK_S))
            except (*self.conn.errors, TimeoutError) as e:
                if self._closing:  # redis-py (Cluster) may turn our cancellation into an error
                    return
                # once per outage at WARNING; the reader tries again, from the last id it read, until Redis is back
                (log.warning if delay == 0.05 else log.debug)("bus: reading %s failed (%s)", inbox, e or "timeout")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            if delay > 0.05:
                log.warning("bus: reading %s again", inbox)
            delay = 0.05
            for _, entries in got or ():
                for entry_id, fields in entries:
                    self._last = entry_id
                    self._take(deliver, self._sign.check(fields.get(b"d"), inbox))
            if got:
                self._unread_trim += sum(len(entries) for _, entries in got)
                if self._unread_trim >= TRIM_EVERY:  # the inbox is capped anyway (MAXLEN): trim now and then
                    self._unread_trim = 0
                    await self._trim(inbox, self._last)

    async def _trim(self, inbox: str, last: bytes | str) -> None:
        """What was read may go: the inbox stays small."""
        try:
            await self.conn.call("XTRIM", lambda r: r.xtrim(inbox, minid=last))
        except StoreError as e:
            log.debug("bus: %s", e)

    def _take(self, deliver: Deliver, payload: bytes | None) -> None:
        if payload is None or payload[:NONCE] in self._seen:
            return
        self._seen[payload[:NONCE]] = None
        if len(self._seen) > 1024:
            del self._seen[next(iter(self._seen))]
        try:
            deliver(payload[NONCE:])
        except Exception:
            log.exception("bus: delivering a message failed")

    async def close(self) -> None:
        self._closing = True
        task, self._task = self._task, None
        while task is not None and not task.done():  # again: redis-py (Cluster) may swallow a cancellation
            task.cancel()
            await asyncio.wait([task], timeout=0.1)
        await self.conn.release()


# KEYS: a page's events. ARGV: event number, signed data, backlog, expiry (ms).
