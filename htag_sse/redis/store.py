"""Sessions, page records and leases on Redis (:class:`RedisStore`, the :class:`~htag_sse.stores.Store`
of several hosts): a hash per session, fenced writes checked in Redis's own clock, signed values.
Keys and scripts: docs/redis.md."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import StoreError
from ..stores.store import MapWrite, Saved, Stored
from .connection import NONCE, NOW_MS, RedisConnection, RedisPart, Script, ms, redis_module

log = logging.getLogger("htag_sse")


_CREATE = Script(
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
    "redis.call('HSET', KEYS[1], 'v', 1) redis.call('PEXPIRE', KEYS[1], ARGV[1]) return 1"
)

# KEYS: the map, then plain values (one slot). ARGV: the map's ttl (ms), its number of fields n, n pairs
# field/value, then a value and its ttl (ms) for each plain value.
_CREATE_WITH = Script(
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
    "local n = tonumber(ARGV[2]) redis.call('HSET', KEYS[1], 'v', 1) "
    "for j = 0, n - 1 do redis.call('HSET', KEYS[1], ARGV[3 + 2 * j], ARGV[4 + 2 * j]) end "
    "redis.call('PEXPIRE', KEYS[1], ARGV[1]) local i = 3 + 2 * n "
    "for k = 2, #KEYS do redis.call('SET', KEYS[k], ARGV[i], 'PX', ARGV[i + 1]) i = i + 2 end return 1"
)

# KEYS: maps of one slot. ARGV: fence (ms, Redis clock) or '', ttl (ms), the channel where changes are
# told, the writer's origin; then for each map: the writer's base version, number of fields set, number
# deleted, field, value, field, value..., deleted field... Each map gives its new version alone when
# the base was the version it changed (nobody else wrote since), else all its fields.
_SAVE = Script(
    "if ARGV[1] ~= '' then " + NOW_MS + "if now >= tonumber(ARGV[1]) then return redis.error_reply('FENCED') end end "
    "local out, i = {}, 5 "
    "for k, key in ipairs(KEYS) do "
    "  local base, nset, ndel = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]) i = i + 3 "
    "  if redis.call('EXISTS', key) == 1 then "
    "    for j = 0, nset - 1 do redis.call('HSET', key, ARGV[i + 2 * j], ARGV[i + 2 * j + 1]) end "
    "    for j = 0, ndel - 1 do redis.call('HDEL', key, ARGV[i + 2 * nset + j]) end "
    "    local v = redis.call('HINCRBY', key, 'v', 1) redis.call('PEXPIRE', key, ARGV[2]) "
    "    redis.call('PUBLISH', ARGV[3], key .. ' ' .. v .. ' ' .. ARGV[4]) "
    "    if base > 0 and v == base + 1 then out[k] = v else out[k] = redis.call('HGETALL', key) end "
    "  else out[k] = false end "
    "  i = i + 2 * nset + ndel "
    "end return out"
)
# KEYS: a map. ARGV: the channel where changes are told, the writer's origin.
_DELETE_MAP = Script("redis.call('DEL', KEYS[1]) redis.call('PUBLISH', ARGV[1], KEYS[1] .. ' 0 ' .. ARGV[2]) return 1")

# Leases. KEYS: the lease, the registry (a sorted set: name -> end). ARGV: signed holder, ttl (ms), name,
# nonce. A lease's value is the signed holder and the nonce of the acquire that took it.
_ACQUIRE = Script(
    NOW_MS + "local cur = redis.call('GET', KEYS[1]) "
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
_RENEW = Script(
    NOW_MS + _HOLDS + "if not mine then return false end "  # an expired lease is gone: never revived
    "redis.call('PEXPIRE', KEYS[1], ARGV[2]) redis.call('ZADD', KEYS[2], now + ARGV[2], ARGV[3]) return now"
)
_RELEASE = Script(_HOLDS + "if mine then redis.call('DEL', KEYS[1]) redis.call('ZREM', KEYS[2], ARGV[3]) end")
# KEYS: the registry. ARGV: the lease key prefix (same hash tag). A lease is live while its key is: the
# answer agrees with renew's to the millisecond.
_HOLDERS = Script(
    "local out = {} for _, name in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do "
    "  local v = redis.call('GET', ARGV[1] .. name) "
    "  if v then out[#out + 1] = name out[#out + 1] = v else redis.call('ZREM', KEYS[1], name) end "
    "end return out"
)


class RedisStore(RedisPart):
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
        super().__init__(url, secret=secret, namespace=namespace, timeout_s=timeout_s)
        self.clock_margin_s = clock_margin_s
        self._health = f"{self.ns}:{{h:{secrets.token_hex(8)}}}"
        self._changes = f"{self.ns}:sessions"  # the channel where every write of a session map is told
        self._origin = secrets.token_hex(6)  # this process's writes: not told back to it
        self._watching = False

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
        await self.conn.call("SET", lambda r: r.set(k, self._sign.sign(value, k), px=ms(ttl_s)))

    async def delete(self, key: str) -> None:
        k = self._value(key)
        await self.conn.call("DEL", lambda r: r.delete(k))

    def _stored(self, key: str, flat: Sequence[bytes] | dict[bytes, bytes] | None) -> Stored | None:
        items = flat.items() if isinstance(flat, dict) else zip(flat[::2], flat[1::2]) if flat else ()
        version, fields = None, {}
        for name, value in items:
            if name == b"v":
                version = self._version(key, value)
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
        return None if v is None else self._version(k, v)

    def _version(self, key: str, value: bytes) -> int | None:
        """A map's version; one that is not a number (written by hand in Redis) makes the map count as gone."""
        try:
            return int(value)
        except ValueError:
            log.warning("redis: %r has a version that is not a number (%r): taken as gone", key, value[:20])
            return None

    async def create(self, key: str, ttl_s: float) -> bool:
        k = self._map(key)
        return bool(await self.conn.call("create", lambda r: _CREATE(r, [k], [ms(ttl_s)])))

    async def create_with(
        self, key: str, fields: Mapping[str, bytes], ttl_s: float, values: Mapping[str, tuple[bytes, float]]
    ) -> bool:
        """One script on one server. On a Cluster the map and the values live in different slots: the
        map is created first, then (only if it was free) the values are set."""
        k = self._map(key)
        map_args: list[Any] = [ms(ttl_s), len(fields)]
        for field, value in fields.items():
            map_args += ["f:" + field, self._sign.sign(value, k, field)]
        plain = {self._value(name): (self._sign.sign(value, self._value(name)), ms(value_ttl_s))
                 for name, (value, value_ttl_s) in values.items()}  # fmt: skip
        if not self.conn.cluster:
            args = map_args + [a for value, ttl in plain.values() for a in (value, ttl)]
            return bool(await self.conn.call("create", lambda r: _CREATE_WITH(r, [k, *plain], args)))
        if not await self.conn.call("create", lambda r: _CREATE_WITH(r, [k], map_args)):
            return False
        for name, (value, ttl) in plain.items():
            await self.conn.call("SET", _setter(name, value, ttl))
        return True

    async def watch(self, changed: Callable[[str, int], None]) -> None:
        """Listen on the channel where every write (and delete) of a session map is told."""
        prefix = f"{self.ns}:{{s:"

        def told(data: bytes) -> None:
            key, version, origin = data.decode("latin-1").rsplit(" ", 2)
            if origin != self._origin and key.startswith(prefix) and key.endswith("}"):
                changed(key[len(prefix) : -1], int(version))

        self._watching = True
        await self.conn.subscriber.subscribe(self._changes, told)

    def watched(self) -> int:
        subscriber = self.conn.subscriber
        return subscriber.generation if self._watching and subscriber.connected else 0

    async def save(self, writes: Sequence[MapWrite], ttl_s: float, fence: float | None = None) -> list[Saved | None]:
        # One script per hash slot (one server: one script for all), so a save is atomic on one server.
        groups: dict[int, list[int]] = {}
        for i, w in enumerate(writes):
            slot = redis_module().crc.key_slot(self._map(w.key).encode()) if self.conn.cluster else 0
            groups.setdefault(slot, []).append(i)
        head: list[Any] = ["" if fence is None else int(fence * 1000), ms(ttl_s), self._changes, self._origin]

        async def run(r: Any, members: list[int]) -> list[Any]:
            keys, args = [], head.copy()
            for i in members:
                w, k = writes[i], self._map(writes[i].key)
                keys.append(k)
                args += [w.base, len(w.changed), len(w.deleted)]
                for field, value in w.changed.items():
                    args += ["f:" + field, self._sign.sign(value, k, field)]
                args += ["f:" + field for field in w.deleted]
            return list(await _SAVE(r, keys, args))

        async def all_groups(r: Any) -> list[list[Any]]:
            return list(await asyncio.gather(*(run(r, m) for m in groups.values())))

        out: list[Saved | None] = [None] * len(writes)
        if writes:
            for members, replies in zip(groups.values(), await self.conn.call("save", all_groups)):
                for i, reply in zip(members, replies):
                    if isinstance(reply, int) and not isinstance(reply, bool):
                        out[i] = (reply, None)  # nobody else wrote: the writer's copy is the map
                    elif reply:
                        out[i] = self._stored(self._map(writes[i].key), reply)
        return out

    async def touch(self, key: str, ttl_s: float) -> bool:
        k = self._map(key)
        return bool(await self.conn.call("PEXPIRE", lambda r: r.pexpire(k, ms(ttl_s))))

    async def delete_map(self, key: str) -> None:
        k = self._map(key)
        await self.conn.call("DEL", lambda r: _DELETE_MAP(r, [k], [self._changes, self._origin]))

    def _lease(self, name: str, holder: str) -> tuple[list[str], list[Any]]:
        k = f"{{{self.ns}:leases}}:l:{name}"
        return [k, f"{{{self.ns}:leases}}:z"], [self._sign.sign(holder.encode(), k)]

    def _deadline(self, now_ms: int | None, ttl_s: float) -> float | None:
        if not now_ms:  # nil (RESP2) or false (RESP3): not taken
            return None
        return (int(now_ms) + ms(ttl_s)) / 1000 - min(self.clock_margin_s, ttl_s / 4)

    async def acquire(self, name: str, holder: str, ttl_s: float) -> float | None:
        keys, args = self._lease(name, holder)
        args += [ms(ttl_s), name, secrets.token_bytes(NONCE)]
        return self._deadline(await self.conn.call("acquire", lambda r: _ACQUIRE(r, keys, args)), ttl_s)

    async def renew(self, name: str, holder: str, ttl_s: float) -> float | None:
        keys, args = self._lease(name, holder)
        return self._deadline(await self.conn.call("renew", lambda r: _RENEW(r, keys, [*args, ms(ttl_s), name])), ttl_s)

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


def _setter(key: str, value: bytes, px: int) -> Any:
    """``SET key value PX px`` as a call for :meth:`RedisConnection.call`."""
    return lambda r: r.set(key, value, px=px)


# KEYS: an inbox. ARGV: the signed message, the inbox's length (approximate), its expiry (ms).
