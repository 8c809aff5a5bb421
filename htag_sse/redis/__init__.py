"""Several hosts on Redis: sessions, page records, leases (:class:`RedisStore`), the bus between
workers (:class:`RedisBus`) and pushed events (:class:`RedisFeed`), made together by
:func:`redis_backend` on one connection. redis-py's asyncio client (``pip install htag-sse[redis]``),
on one server (or Valkey), ``redis://`` / ``rediss://``, or on a Cluster, ``redis+cluster://`` /
``rediss+cluster://``. Every value is signed with HMAC-SHA256 under a secret Redis never sees, and
checked on read; every multi-key script touches one hash slot. Keys, scripts and failure modes:
``docs/redis.md``.
"""

from __future__ import annotations

from .bus import RedisBus
from .connection import RedisConnection
from .feed import RedisFeed
from .store import RedisStore

__all__ = ["RedisBus", "RedisConnection", "RedisFeed", "RedisStore", "redis_backend"]


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
