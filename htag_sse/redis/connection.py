"""The connection to Redis that the store, the bus and the feed share (:mod:`htag_sse.redis`):
redis-py's asyncio client with explicit timeouts and a short retry policy, errors turned into
:class:`~htag_sse.errors.StoreError`; the HMAC signing of every value; Lua scripts."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ConfigError, Fenced, StoreError

if TYPE_CHECKING:
    from .subscriber import Subscriber

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


def redis_module() -> Any:
    try:
        import redis.asyncio
    except ImportError:
        raise ConfigError("the Redis backend needs redis-py: pip install 'htag-sse[redis]'") from None
    return redis


class Signer:
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


class Script:
    """A Lua script run by its SHA1 (sent in full once per server: after a restart too)."""

    def __init__(self, source: str) -> None:
        import hashlib

        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, client: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except redis_module().exceptions.NoScriptError:
            return await client.eval(self.source, len(keys), *keys, *args)


NOW_MS = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "


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
        redis = redis_module()
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
        self._subscriber: Any = None
        #: what redis-py raises (a Cluster that cannot be reached raises no RedisError)
        self.errors = (redis.exceptions.RedisError, redis.exceptions.RedisClusterException)

    def use(self) -> RedisConnection:
        self._users += 1
        return self

    @property
    def subscriber(self) -> Subscriber:
        """This process's pub/sub connection (one, shared by the store and the bus)."""
        if self._subscriber is None:
            from .subscriber import Subscriber

            self._subscriber = Subscriber(self)
        subscriber: Subscriber = self._subscriber
        return subscriber

    async def call(self, what: str, make: Callable[[Any], Awaitable[T]]) -> T:
        """``make(client)`` within the call's deadline; any failure becomes :class:`StoreError`."""
        redis = redis_module()
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
            if self._subscriber is not None:
                await self._subscriber.close()
            await self.quick.aclose()
            await self.blocking.aclose()


def connection_of(url: str | RedisConnection, timeout_s: float) -> RedisConnection:
    return (url if isinstance(url, RedisConnection) else RedisConnection(url, timeout_s=timeout_s)).use()


def checked_namespace(namespace: str) -> str:
    if not namespace or any(c in namespace for c in "{}"):
        raise ConfigError(f"Redis namespace {namespace!r} must be non-empty, without braces")
    return namespace


def ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisPart:
    """What the store, the bus and the feed share: their namespace, signer and connection."""

    def __init__(self, url: str | RedisConnection, *, secret: bytes, namespace: str, timeout_s: float) -> None:
        self.ns = checked_namespace(namespace)
        self._sign = Signer(secret)
        self.conn = connection_of(url, timeout_s)
