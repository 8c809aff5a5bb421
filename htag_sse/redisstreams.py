"""Redis streams for several hosts: the bus between workers (:class:`RedisBus`, an inbox per worker)
and the pushed events of pages (:class:`RedisFeed`, a stream per page whose ids are the event
numbers). Keys and scripts: docs/redis.md."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from typing import Any

from .bus import Deliver
from .errors import ConfigError, StoreError
from .redisconn import (
    BLOCK_S,
    NONCE,
    POLL_S,
    RedisConnection,
    RedisPart,
    _ms,
    _Script,
)

log = logging.getLogger("htag_sse")

#: A bus reader trims what it has read from its inbox after this many messages (not after every read).
TRIM_EVERY = 200


_SEND = _Script(
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
            await self.conn.call("XADD", lambda r: _SEND(r, [inbox], [signed, self.maxlen, _ms(self.message_ttl_s)]))
        except StoreError as e:
            raise ConnectionError(f"worker {to} cannot be reached: {e}") from None

    async def _read(self, inbox: str, deliver: Deliver) -> None:
        delay = 0.05
        while not self._closing:
            try:
                async with asyncio.timeout(BLOCK_S + self.conn.limit):
                    got = await self.conn.blocking.xread({inbox: self._last}, count=100, block=_ms(BLOCK_S))
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
_PUBLISH = _Script(
    "local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1) "
    "if #last > 0 then local m, n = tonumber(string.match(last[1][1], '^%d+')), tonumber(ARGV[1]) "
    "  if m == n then return 0 end "  # a retried publish
    "  if m > n then redis.call('DEL', KEYS[1]) end "  # the page runs anew, numbered from 1 again
    "end redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], ARGV[1] .. '-0', 'd', ARGV[2]) "
    "redis.call('PEXPIRE', KEYS[1], ARGV[4]) return 1"
)
# KEYS: a page's events. ARGV: after, after + 1. -1: events after `after` were lost.
_READ = _Script(
    "local items = redis.call('XRANGE', KEYS[1], ARGV[2] .. '-0', '+') "
    "if #items > 0 then if items[1][1] ~= ARGV[2] .. '-0' then return -1 end return items end "
    "if ARGV[1] == '0' then return items end "
    "local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1) "
    "if #last == 0 or last[1][1] ~= ARGV[1] .. '-0' then return -1 end return items"
)
_EPOCH = _Script("redis.call('SET', KEYS[1], ARGV[1], 'NX') return redis.call('GET', KEYS[1])")


class RedisFeed(RedisPart):
    """The events pushed by each page, readable from every host: a STREAM ``ns:{p:<pid>}:events`` whose
    entry ids are the event numbers (``<n>-0``), capped at about ``backlog`` entries, gone ``ttl_s``
    after the last publish. Numbers are consecutive: :meth:`read` answers ``None`` when any event after
    the one asked for is missing (trimmed, stream expired or dropped, Redis lost its data)."""

    def __init__(
        self,
        url: str | RedisConnection,
        *,
        secret: bytes,
        namespace: str = "htag-sse",
        backlog: int = 256,
        ttl_s: float = 3600.0,
        timeout_s: float = 2.0,
    ) -> None:
        if backlog < 1:
            raise ConfigError(f"the event backlog must be at least 1 (got {backlog})")
        super().__init__(url, secret=secret, namespace=namespace, timeout_s=timeout_s)
        self.backlog, self.ttl_s = backlog, ttl_s

    def _events(self, pid: str) -> str:
        return f"{self.ns}:{{p:{pid}}}:events"

    async def publish(self, pid: str, event_id: int, data: str) -> None:
        if event_id < 1:
            raise ValueError(f"event numbers start at 1 (got {event_id})")
        k, n = self._events(pid), str(event_id)
        args = [n, self._sign.sign(data.encode(), k, n), self.backlog, _ms(self.ttl_s)]
        await self.conn.call("publish", lambda r: _PUBLISH(r, [k], args))

    async def _range(self, key: str, after: int) -> list[tuple[int, str]] | None:
        items = await self.conn.call("read", lambda r: _READ(r, [key], [str(after), str(after + 1)]))
        if items == -1:
            return None
        out = []
        for entry_id, kv in items:
            n = entry_id.split(b"-")[0].decode()
            data = self._sign.check(dict(zip(kv[::2], kv[1::2])).get(b"d"), key, n)
            if data is None:  # a gap rather than a silently missing event: the caller refreshes the page
                return None
            out.append((int(n), data.decode()))
        return out

    async def read(self, pid: str, after: int, timeout_s: float) -> list[tuple[int, str]] | None:
        """Events numbered above ``after``; waits up to ``timeout_s`` for one; ``[]`` if none came,
        ``None`` if some were lost (send the page anew)."""
        key = self._events(pid)
        got = await self._range(key, after)
        if got != [] or timeout_s <= 0:
            return got
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout_s
        if self.conn.blocking_slots.locked():  # every blocking connection is taken: look now and then
            while got == [] and loop.time() < end:
                await asyncio.sleep(min(POLL_S, end - loop.time()))
                got = await self._range(key, after)
            return got
        async with self.conn.blocking_slots:
            while not await self._wait(key, after, min(end - loop.time(), BLOCK_S)):
                if loop.time() >= end:
                    return []
        return await self._range(key, after)

    async def _wait(self, key: str, after: int, wait_s: float) -> bool:
        """Whether an entry above ``after`` arrived within ``wait_s``."""
        try:
            async with asyncio.timeout(wait_s + self.conn.limit):
                got = await self.conn.blocking.xread({key: f"{after}-0"}, count=1, block=_ms(wait_s))
        except TimeoutError:
            raise StoreError(f"Redis at {self.conn.where} did not answer (XREAD) in time") from None
        except self.conn.errors as e:
            raise StoreError(f"Redis at {self.conn.where} failed (XREAD): {e}") from None
        return bool(got)

    async def drop(self, pid: str) -> None:
        k = self._events(pid)
        await self.conn.call("DEL", lambda r: r.delete(k))

    async def epoch(self) -> str:
        """A random value set once per namespace: it changes when Redis lost its data."""
        k = f"{self.ns}:epoch"
        value = await self.conn.call("epoch", lambda r: _EPOCH(r, [k], [secrets.token_hex(16)]))
        return str(value.decode())

    async def close(self) -> None:
        await self.conn.release()
