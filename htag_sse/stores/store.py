"""The :class:`Store` interface: where sessions, page records and worker leases live.

Every method is async: a store may be remote, and nothing may block the event
loop on it. The embedded stores are :class:`~htag_sse.stores.memory.MemoryStore`
and :class:`~htag_sse.stores.disk.DiskStore`; several hosts use
:class:`~htag_sse.redis.store.RedisStore`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..errors import Fenced

#: A store removes expired entries after this many writes.
EXPIRE_EVERY = 1000


@dataclass(frozen=True, slots=True)
class MapWrite:
    """Changes to one session map: fields set (opaque bytes) and fields deleted, made by a writer who
    had the map's version ``base`` (0: unknown)."""

    key: str
    changed: Mapping[str, bytes]
    deleted: Collection[str] = ()
    base: int = 0


#: A session map as stored: its version (incremented by every write) and its fields.
Stored = tuple[int, dict[str, bytes]]
#: A map as a write left it: its version, and its fields — or ``None`` when the write's ``base`` was
#: the version it changed (nobody else wrote meanwhile: the writer's copy is the map).
Saved = tuple[int, dict[str, bytes] | None]


@runtime_checkable
class Store(Protocol):
    """Bytes under string keys: plain values, session maps and leases.

    Every method raises :class:`~htag_sse.errors.StoreError` when the store
    cannot answer (disk full, locked too long, server unreachable); nothing
    is half-done then.
    """

    # plain values (page records)
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_s: float) -> None: ...

    async def delete(self, key: str) -> None: ...

    # session maps: fields of opaque bytes, a version, an expiry
    async def load(self, key: str) -> Stored | None:
        """The map and its version; ``None`` if there is none (never created, expired, deleted)."""
        ...

    async def version(self, key: str) -> int | None:
        """Only the version (cheap: tells whether a cached copy is current)."""
        ...

    async def create(self, key: str, ttl_s: float) -> bool:
        """An empty map, only if ``key`` is free; False if it exists."""
        ...

    async def create_with(
        self, key: str, fields: Mapping[str, bytes], ttl_s: float, values: Mapping[str, tuple[bytes, float]]
    ) -> bool:
        """The map ``key`` holding ``fields`` (version 1), only if ``key`` is free, and the plain
        ``values`` (key -> (value, ttl_s)), in one transaction: all or nothing; False (nothing written)
        if the map exists. A new visitor's session and first page record cost one write."""
        ...

    async def save(self, writes: Sequence[MapWrite], ttl_s: float, fence: float | None = None) -> list[Saved | None]:
        """Apply each write to its map (field by field, atomically per map) and refresh its expiry;
        return each map as stored now (:data:`Saved`: its fields only if someone else wrote since the
        write's ``base``), or ``None`` for a map that no longer exists (the write is dropped: the
        session expired). With ``fence`` (a lease deadline from :meth:`acquire` or :meth:`renew`),
        raise :class:`~htag_sse.errors.Fenced` and write nothing once it passed."""
        ...

    async def touch(self, key: str, ttl_s: float) -> bool:
        """Restart a map's expiry (sliding sessions); False if it is gone."""
        ...

    async def delete_map(self, key: str) -> None: ...

    # leases: who holds a name, until when (the store's own clock)
    async def acquire(self, name: str, holder: str, ttl_s: float) -> float | None:
        """Take a free lease: its deadline (a fence for :meth:`save`), or ``None`` if it is held."""
        ...

    async def renew(self, name: str, holder: str, ttl_s: float) -> float | None:
        """Extend a lease ``holder`` still holds; ``None`` once it expired or was taken (never revived)."""
        ...

    async def release(self, name: str, holder: str) -> None: ...

    async def holders(self) -> dict[str, str]:
        """Every live lease: name -> holder."""
        ...

    async def check(self) -> None:
        """Write and read something: raise :class:`~htag_sse.errors.StoreError` if the store cannot."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class Watched(Protocol):
    """A store that tells of the session maps other processes change (several hosts on Redis), so that
    a copy kept here is known current without asking the store at every request."""

    async def watch(self, changed: Callable[[str, int], None]) -> None:
        """From now on, ``changed(key, version)`` is called when another process writes (version) or
        deletes (0) session map ``key``."""
        ...

    def watched(self) -> int:
        """Nonzero while it listens: the number of its connection. A copy checked under a number is
        current while :meth:`watched` gives that number and no change of it was told."""
        ...


def saved(version: int, fields: dict[str, bytes], base: int) -> Saved:
    """What a write that moved a map from ``version - 1`` to ``version`` returns (see :data:`Saved`)."""
    return (version, None) if base and base == version - 1 else (version, fields)


def check_fence(fence: float | None) -> None:
    """Monotonic-clock fences (memory and disk stores: one host, one clock for every process)."""
    if fence is not None and time.monotonic() >= fence:
        raise Fenced("this worker's lease has expired: it may not write any more")
