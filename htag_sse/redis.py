"""Sessions, leases, the bus between workers and pushed events on Redis, for several hosts.

:class:`RedisStore`, :class:`RedisBus` and :class:`RedisFeed` (made together by
:func:`redis_backend`) use redis-py's asyncio client (``pip install htag-sse[redis]``)
on one server (or Valkey), ``redis://`` / ``rediss://``, or on a Cluster,
``redis+cluster://`` / ``rediss+cluster://``. Every value is signed with HMAC-SHA256
under a secret Redis never sees, and checked on read. Every multi-key script
touches one hash slot. Keys, scripts and failure modes: ``docs/redis.md``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from .bus import Deliver
from .errors import ConfigError, Fenced, StoreError
from .stores import MapWrite, Stored

log = logging.getLogger("htag_sse")

T = TypeVar("T")

#: A reader's XREAD BLOCK lasts at most this long, then it starts again (a stuck connection shows up).
BLOCK_S = 5.0
#: Bytes of a signature (HMAC-SHA256) in front of every signed value.
MAC = 32
#: Bytes of the random tag that makes a lease or a bus message recognisable when a call is retried.
NONCE = 16
#: A feed read that finds no free blocking connection looks again this often.
POLL_S = 0.2


def _redis() -> Any:
    try:
        import redis.asyncio
    except ImportError:
        raise ConfigError("the Redis backend needs redis-py: pip install 'htag-sse[redis]'") from None
    return redis


class _Signer:
    """HMAC-SHA256 under a key derived from the app's secret, bound to where a value lives
    (Redis key and field), so a signed value cannot be moved to another key or field."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ConfigError(f"the Redis secret must be at least 16 random bytes (got {len(secret)})")
        self._key = hmac.digest(secret, b"htag-sse redis v1", "sha256")
        self._warned: set[str] = set()

    def _mac(self, payload: bytes, where: tuple[str, ...]) -> bytes:
        h = hmac.new(self._key, digestmod="sha256")
        for part in (*(w.encode() for w in where), payload):
            h.update(len(part).to_bytes(4, "big") + part)
        return h.digest()

    def sign(self, payload: bytes, *where: str) -> bytes:
        return self._mac(payload, where) + payload

    def check(self, signed: bytes | None, *where: str) -> bytes | None:
        """The payload, or ``None`` if ``signed`` is missing or was not signed here (logged once per key)."""
        if signed is None:
            return None
        if len(signed) >= MAC and hmac.compare_digest(signed[:MAC], self._mac(signed[MAC:], where)):
            return signed[MAC:]
        if where[0] not in self._warned:
            if len(self._warned) > 10_000:  # bounded: a flood of forged keys must not grow memory
                self._warned.clear()
            self._warned.add(where[0])
            log.warning("redis: %r holds a value not signed with this app's secret: ignored", where[0])
        return None


class _Script:
    """A Lua script run by its SHA1 (sent in full once per server: after a restart too)."""

    def __init__(self, source: str) -> None:
        import hashlib

        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, client: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except _redis().exceptions.NoScriptError:
            return await client.eval(self.source, len(keys), *keys, *args)


_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "


class RedisConnection:
    """One Redis server or Cluster: a client for quick calls (socket timeout ``timeout_s``, retries on
    connection errors, at most ``max_connections`` calls at once) and one for blocking reads (XREAD BLOCK
    of at most ``BLOCK_S``). Shared by a store, a bus and a feed; closed by the last."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 2.0,
        max_connections: int = 50,
        blocking_connections: int = 50,
        retries: int = 3,
    ) -> None:
        redis = _redis()
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialBackoff

        scheme, _, rest = url.partition("://")
        if scheme not in ("redis", "rediss", "redis+cluster", "rediss+cluster") or not rest:
            raise ConfigError(f"not a Redis URL: {url!r} (redis://, rediss://, redis+cluster://, rediss+cluster://)")
        self.cluster = scheme.endswith("+cluster")
        self.where = f"{scheme}://{rest.rpartition('@')[2].partition('?')[0]}"  # no credentials: it goes in messages
        self.timeout_s = timeout_s
        # 0.1, 0.2, 0.4 s between tries (0.7 s). Timeouts are not retried: a slow server stays slow.
        retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), retries, (redis.exceptions.ConnectionError,))
        cls = redis.asyncio.RedisCluster if self.cluster else redis.asyncio.Redis
        plain = scheme.replace("+cluster", "") + "://" + rest
        common = {"socket_connect_timeout": timeout_s, "retry": retry, "client_name": "htag-sse"}
        self.quick = cls.from_url(plain, socket_timeout=timeout_s, **common)
        # blocking reads wait at most BLOCK_S at a time: the socket timeout still catches a dead server
        self.blocking = cls.from_url(plain, socket_timeout=BLOCK_S + timeout_s, **common)
        self.limit = timeout_s + 1.0  # the whole call, retries included
        self._slots = asyncio.Semaphore(max_connections)
        self.blocking_slots = asyncio.Semaphore(blocking_connections)
        self._users = 0
        #: what redis-py raises (a Cluster that cannot be reached raises no RedisError)
        self.errors = (redis.exceptions.RedisError, redis.exceptions.RedisClusterException)

    def use(self) -> RedisConnection:
        self._users += 1
        return self

    async def call(self, what: str, make: Callable[[Any], Awaitable[T]]) -> T:
        """``make(client)`` within the call's deadline; any failure becomes :class:`StoreError`."""
        redis = _redis()
        try:
            async with asyncio.timeout(self.limit):
                async with self._slots:
                    return await make(self.quick)
        except TimeoutError:
            raise StoreError(f"Redis at {self.where} did not answer ({what}) within {self.limit:g} s") from None
        except redis.exceptions.ResponseError as e:
            if str(e).startswith("FENCED"):
                raise Fenced("this worker's lease has expired: it may not write any more") from None
            raise StoreError(f"Redis at {self.where} refused {what}: {e}") from None
        except self.errors as e:
            raise StoreError(f"Redis at {self.where} failed ({what}): {e}") from None

    async def release(self) -> None:
        self._users -= 1
        if self._users <= 0:
            await self.quick.aclose()
            await self.blocking.aclose()


def _connection(url: str | RedisConnection, timeout_s: float) -> RedisConnection:
    return (url if isinstance(url, RedisConnection) else RedisConnection(url, timeout_s=timeout_s)).use()


def _namespace(namespace: str) -> str:
    if not namespace or any(c in namespace for c in "{}"):
        raise ConfigError(f"Redis namespace {namespace!r} must be non-empty, without braces")
    return namespace


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


_CREATE = _Script(
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
    "redis.call('HSET', KEYS[1], 'v', 1) redis.call('PEXPIRE', KEYS[1], ARGV[1]) return 1"
)

# KEYS: maps of one slot. ARGV: fence (ms, Redis clock) or '', ttl (ms), then for each map:
# number of fields set, number deleted, field, value, field, value..., deleted field...
_SAVE = _Script(
    "if ARGV[1] ~= '' then " + _NOW + "if now >= tonumber(ARGV[1]) then return redis.error_reply('FENCED') end end "
    "local out, i = {}, 3 "
    "for k, key in ipairs(KEYS) do "
    "  local nset, ndel = tonumber(ARGV[i]), tonumber(ARGV[i + 1]) i = i + 2 "
    "  if redis.call('EXISTS', key) == 1 then "
    "    for j = 0, nset - 1 do redis.call('HSET', key, ARGV[i + 2 * j], ARGV[i + 2 * j + 1]) end "
    "    for j = 0, ndel - 1 do redis.call('HDEL', key, ARGV[i + 2 * nset + j]) end "
    "    redis.call('HINCRBY', key, 'v', 1) redis.call('PEXPIRE', key, ARGV[2]) "
    "    out[k] = redis.call('HGETALL', key) "
    "  else out[k] = false end "
    "  i = i + 2 * nset + ndel "
    "end return out"
)

# Leases. KEYS: the lease, the registry (a sorted set: name -> end). ARGV: signed holder, ttl (ms), name,
# nonce. A lease's value is the signed holder and the nonce of the acquire that took it.
_ACQUIRE = _Script(
    _NOW + "local cur = redis.call('GET', KEYS[1]) "
    "if cur then if cur == ARGV[1] .. ARGV[4] then return now + redis.call('PTTL', KEYS[1]) - ARGV[2] end "
    "return false end "  # a retried acquire of ours: the same answer; anyone else's: held
    "redis.call('SET', KEYS[1], ARGV[1] .. ARGV[4], 'PX', ARGV[2]) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 1000) "  # long gone: the registry stays small
    "redis.call('ZADD', KEYS[2], now + ARGV[2], ARGV[3]) return now"
)
_HOLDS = (
    f"local cur = redis.call('GET', KEYS[1]) local mine = cur and #cur == #ARGV[1] + {NONCE} and "
    "string.sub(cur, 1, #ARGV[1]) == ARGV[1] "
)
_RENEW = _Script(
    _NOW + _HOLDS + "if not mine then return false end "  # an expired lease is gone: never revived
    "redis.call('PEXPIRE', KEYS[1], ARGV[2]) redis.call('ZADD', KEYS[2], now + ARGV[2], ARGV[3]) return now"
)
_RELEASE = _Script(_HOLDS + "if mine then redis.call('DEL', KEYS[1]) redis.call('ZREM', KEYS[2], ARGV[3]) end")
# KEYS: the registry. ARGV: the lease key prefix (same hash tag). A lease is live while its key is: the
# answer agrees with renew's to the millisecond.
_HOLDERS = _Script(
    "local out = {} for _, name in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do "
    "  local v = redis.call('GET', ARGV[1] .. name) "
    "  if v then out[#out + 1] = name out[#out + 1] = v else redis.call('ZREM', KEYS[1], name) end "
    "end return out"
)


class RedisStore:
    """:class:`~htag_sse.stores.Store` on Redis. Keys (``ns`` = ``namespace``): plain values
    ``ns:{v:<key>}`` (SET PX), session maps ``ns:{s:<key>}`` (one HASH: ``f:<field>`` fields and a
    version ``v``, PEXPIRE), leases ``{ns:leases}:l:<name>`` and their registry ``{ns:leases}:z``.

    Lease deadlines (fences) are in Redis's clock: seconds since the epoch by ``TIME`` at acquire or
    renew, plus the ttl, minus ``clock_margin_s`` (room for clocks of Cluster nodes or a promoted
    replica that differ a little). Compare them with nothing local: pass them to :meth:`save`.
    """

    def __init__(
        self,
        url: str | RedisConnection,
        *,
        secret: bytes,
        namespace: str = "htag-sse",
        timeout_s: float = 2.0,
        clock_margin_s: float = 0.1,
    ) -> None:
        self.ns = _namespace(namespace)
        self._sign = _Signer(secret)
        self.conn = _connection(url, timeout_s)
        self.clock_margin_s = clock_margin_s
        self._health = f"{self.ns}:{{h:{secrets.token_hex(8)}}}"

    def __repr__(self) -> str:
        return f"RedisStore({self.conn.where!r}, namespace={self.ns!r})"

    def _value(self, key: str) -> str:
        return f"{self.ns}:{{v:{key}}}"

    def _map(self, key: str) -> str:
        return f"{self.ns}:{{s:{key}}}"

    async def get(self, key: str) -> bytes | None:
        k = self._value(key)
        return self._sign.check(await self.conn.call("GET", lambda r: r.get(k)), k)

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        k = self._value(key)
        await self.conn.call("SET", lambda r: r.set(k, self._sign.sign(value, k), px=_ms(ttl_s)))

    async def delete(self, key: str) -> None:
        k = self._value(key)
        await self.conn.call("DEL", lambda r: r.delete(k))

    def _stored(self, key: str, flat: Sequence[bytes] | dict[bytes, bytes] | None) -> Stored | None:
        items = flat.items() if isinstance(flat, dict) else zip(flat[::2], flat[1::2]) if flat else ()
        version, fields = None, {}
        for name, value in items:
            if name == b"v":
                version = int(value)
            elif name.startswith(b"f:"):
                field = name[2:].decode()
                payload = self._sign.check(value, key, field)
                if payload is not None:
                    fields[field] = payload
        return None if version is None else (version, fields)

    async def load(self, key: str) -> Stored | None:
        k = self._map(key)
        return self._stored(k, await self.conn.call("HGETALL", lambda r: r.hgetall(k)))

    async def version(self, key: str) -> int | None:
        k = self._map(key)
        v = await self.conn.call("HGET", lambda r: r.hget(k, "v"))
        return None if v is None else int(v)

    async def create(self, key: str, ttl_s: float) -> bool:
        k = self._map(key)
        return bool(await self.conn.call("create", lambda r: _CREATE(r, [k], [_ms(ttl_s)])))

    async def save(self, writes: Sequence[MapWrite], ttl_s: float, fence: float | None = None) -> list[Stored | None]:
        # One script per hash slot (one server: one script for all), so a save is atomic on one server.
        groups: dict[int, list[int]] = {}
        for i, w in enumerate(writes):
            slot = _redis().crc.key_slot(self._map(w.key).encode()) if self.conn.cluster else 0
            groups.setdefault(slot, []).append(i)
        head: list[Any] = ["" if fence is None else int(fence * 1000), _ms(ttl_s)]

        async def run(r: Any, members: list[int]) -> list[Any]:
            keys, args = [], head.copy()
            for i in members:
                w, k = writes[i], self._map(writes[i].key)
                keys.append(k)
                args += [len(w.changed), len(w.deleted)]
                for field, value in w.changed.items():
                    args += ["f:" + field, self._sign.sign(value, k, field)]
                args += ["f:" + field for field in w.deleted]
            return list(await _SAVE(r, keys, args))

        async def all_groups(r: Any) -> list[list[Any]]:
            return list(await asyncio.gather(*(run(r, m) for m in groups.values())))

        out: list[Stored | None] = [None] * len(writes)
        if writes:
            for members, replies in zip(groups.values(), await self.conn.call("save", all_groups)):
                for i, reply in zip(members, replies):
                    out[i] = self._stored(self._map(writes[i].key), reply) if reply else None
        return out

    async def touch(self, key: str, ttl_s: float) -> bool:
        k = self._map(key)
        return bool(await self.conn.call("PEXPIRE", lambda r: r.pexpire(k, _ms(ttl_s))))

    async def delete_map(self, key: str) -> None:
        k = self._map(key)
        await self.conn.call("DEL", lambda r: r.delete(k))

    def _lease(self, name: str, holder: str) -> tuple[list[str], list[Any]]:
        k = f"{{{self.ns}:leases}}:l:{name}"
        return [k, f"{{{self.ns}:leases}}:z"], [self._sign.sign(holder.encode(), k)]

    def _deadline(self, now_ms: int | None, ttl_s: float) -> float | None:
        if not now_ms:  # nil (RESP2) or false (RESP3): not taken
            return None
        return (int(now_ms) + _ms(ttl_s)) / 1000 - min(self.clock_margin_s, ttl_s / 4)

    async def acquire(self, name: str, holder: str, ttl_s: float) -> float | None:
        keys, args = self._lease(name, holder)
        args += [_ms(ttl_s), name, secrets.token_bytes(NONCE)]
        return self._deadline(await self.conn.call("acquire", lambda r: _ACQUIRE(r, keys, args)), ttl_s)

    async def renew(self, name: str, holder: str, ttl_s: float) -> float | None:
        keys, args = self._lease(name, holder)
        return self._deadline(
            await self.conn.call("renew", lambda r: _RENEW(r, keys, [*args, _ms(ttl_s), name])), ttl_s
        )

    async def release(self, name: str, holder: str) -> None:
        keys, args = self._lease(name, holder)
        await self.conn.call("release", lambda r: _RELEASE(r, keys, [*args, 0, name]))

    async def holders(self) -> dict[str, str]:
        prefix, registry = f"{{{self.ns}:leases}}:l:", f"{{{self.ns}:leases}}:z"
        flat = await self.conn.call("holders", lambda r: _HOLDERS(r, [registry], [prefix]))
        out = {}
        for name, value in zip(flat[::2], flat[1::2]):
            holder = self._sign.check(value[:-NONCE], prefix + name.decode())
            if holder is not None:
                out[name.decode()] = holder.decode()
        return out

    async def check(self) -> None:
        await self.conn.call("SET", lambda r: r.set(self._health, b"1", px=60_000))
        if await self.conn.call("GET", lambda r: r.get(self._health)) != b"1":
            raise StoreError(f"{self!r} did not give back what was written")

    async def close(self) -> None:
        await self.conn.release()


# KEYS: an inbox. ARGV: the signed message, the inbox's length (approximate), its expiry (ms).
_SEND = _Script(
    "redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'd', ARGV[1]) "
    "redis.call('PEXPIRE', KEYS[1], ARGV[3]) return 1"
)


class RedisBus:
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
        self.ns = _namespace(namespace)
        self._sign = _Signer(secret)
        self.conn = _connection(url, timeout_s)
        self.maxlen, self.message_ttl_s = maxlen, message_ttl_s
        self._task: asyncio.Task[None] | None = None
        self._closing = False
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


class RedisFeed:
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
        self.ns = _namespace(namespace)
        self._sign = _Signer(secret)
        self.conn = _connection(url, timeout_s)
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


def redis_backend(
    url: str, *, secret: bytes, namespace: str = "htag-sse", backlog: int = 256, timeout_s: float = 2.0
) -> tuple[RedisStore, RedisBus, RedisFeed]:
    """A store, a bus and a feed sharing one :class:`RedisConnection` (closed with the last of them)."""
    conn = RedisConnection(url, timeout_s=timeout_s)
    return (
        RedisStore(conn, secret=secret, namespace=namespace),
        RedisBus(conn, secret=secret, namespace=namespace),
        RedisFeed(conn, secret=secret, namespace=namespace, backlog=backlog),
    )
