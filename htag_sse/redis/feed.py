"""Pushed events of pages for several hosts on Redis (:class:`RedisFeed`): a stream per page whose
ids are the event numbers. Keys and scripts: docs/redis.md."""

from __future__ import annotations

import asyncio
import logging
import secrets

from ..errors import ConfigError, StoreError
from .connection import BLOCK_S, POLL_S, RedisConnection, RedisPart, Script, ms

log = logging.getLogger("htag_sse")


_PUBLISH = Script(
    "local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1) "
    "if #last > 0 then local m, n = tonumber(string.match(last[1][1], '^%d+')), tonumber(ARGV[1]) "
    "  if m == n then return 0 end "  # a retried publish
    "  if m > n then redis.call('DEL', KEYS[1]) end "  # the page runs anew, numbered from 1 again
    "end redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], ARGV[1] .. '-0', 'd', ARGV[2]) "
    "redis.call('PEXPIRE', KEYS[1], ARGV[4]) return 1"
)
# KEYS: a page's events. ARGV: after, after + 1. -1: events after `after` were lost.
_READ = Script(
    "local items = redis.call('XRANGE', KEYS[1], ARGV[2] .. '-0', '+') "
    "if #items > 0 then if items[1][1] ~= ARGV[2] .. '-0' then return -1 end return items end "
    "if ARGV[1] == '0' then return items end "
    "local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1) "
    "if #last == 0 or last[1][1] ~= ARGV[1] .. '-0' then return -1 end return items"
)
_EPOCH = Script("redis.call('SET', KEYS[1], ARGV[1], 'NX') return redis.call('GET', KEYS[1])")


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
        args = [n, self._sign.sign(data.encode(), k, n), self.backlog, ms(self.ttl_s)]
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
                got = await self.conn.blocking.xread({key: f"{after}-0"}, count=1, block=ms(wait_s))
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
