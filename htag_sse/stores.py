"""Where sessions and page records live: a small key/value interface and two stores.

:class:`DiskStore` (diskcache, the default) is shared by every process of a
host and survives restarts; :class:`MemoryStore` lives and dies with one
process. A Redis store implements the same five methods.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

from .errors import ConfigError

log = logging.getLogger("htag_sse")

#: A disk store removes expired entries after this many writes.
EXPIRE_EVERY = 1000

Updater = Callable[[bytes | None], bytes | None]


@runtime_checkable
class Store(Protocol):
    """Bytes under string keys, with optional expiry in seconds.

    Values are opaque bytes: serialisation is the caller's business.
    ``update`` is an atomic read-modify-write (``fn`` gets the current value
    or ``None``; returning ``None`` deletes the key).
    """

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None: ...

    def add(self, key: str, value: bytes, ttl_s: float | None = None) -> bool: ...

    def delete(self, key: str) -> None: ...

    def update(self, key: str, fn: Updater, ttl_s: float | None = None) -> bytes | None: ...

    def update_many(self, updates: dict[str, Updater], ttl_s: float | None = None) -> dict[str, bytes | None]:
        """Several :meth:`update` in one transaction (one commit for many writes)."""
        ...


class MemoryStore:
    """An in-process store: fast, lost on restart, not shared between workers."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._writes = 0

    def get(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires < time.monotonic():
            del self._data[key]
            return None
        return value

    def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        self._data[key] = (value, None if ttl_s is None else time.monotonic() + ttl_s)
        self._writes += 1
        if self._writes % 1024 == 0:
            self._purge()

    def add(self, key: str, value: bytes, ttl_s: float | None = None) -> bool:
        if self.get(key) is not None:
            return False
        self.set(key, value, ttl_s)
        return True

    def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def update(self, key: str, fn: Updater, ttl_s: float | None = None) -> bytes | None:
        new = fn(self.get(key))
        if new is None:
            self.delete(key)
        else:
            self.set(key, new, ttl_s)
        return new

    def update_many(self, updates: dict[str, Updater], ttl_s: float | None = None) -> dict[str, bytes | None]:
        return {key: self.update(key, fn, ttl_s) for key, fn in updates.items()}

    def __len__(self) -> int:
        return len(self._data)

    def _purge(self) -> None:
        now = time.monotonic()
        for key in [k for k, (_, exp) in self._data.items() if exp is not None and exp < now]:
            del self._data[key]


class DiskStore:
    """A diskcache directory shared by all workers of a host; survives restarts.

    Nothing is ever evicted for size (diskcache evicts past 1 GB by default):
    entries leave only when their expiry passes or they are deleted.
    """

    def __init__(self, directory: str | os.PathLike[str] = ".htag-sse", *, timeout_s: float = 30.0) -> None:
        import diskcache

        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"session directory {str(self.directory)!r} cannot be created: {e}") from None
        deadline = time.monotonic() + timeout_s
        while True:  # several workers opening one cache at once may see "database is locked"
            try:
                self._cache = diskcache.Cache(  # cull_limit=0: expired entries go in batches (see _wrote)
                    str(self.directory), timeout=timeout_s, eviction_policy="none", statistics=False, cull_limit=0
                )
                break
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        self._writes = 0
        log.debug("DiskStore opened at %s", self.directory)

    def get(self, key: str) -> bytes | None:
        value = self._cache.get(key, retry=True)
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        self._cache.set(key, value, expire=ttl_s, retry=True)
        self._wrote()

    def add(self, key: str, value: bytes, ttl_s: float | None = None) -> bool:
        self._wrote()
        return bool(self._cache.add(key, value, expire=ttl_s, retry=True))

    def delete(self, key: str) -> None:
        self._cache.delete(key, retry=True)

    def update(self, key: str, fn: Updater, ttl_s: float | None = None) -> bytes | None:
        return self.update_many({key: fn}, ttl_s)[key]

    def update_many(self, updates: dict[str, Updater], ttl_s: float | None = None) -> dict[str, bytes | None]:
        done: dict[str, bytes | None] = {}
        with self._cache.transact(retry=True):
            for key, fn in updates.items():
                current = self._cache.get(key)
                new = done[key] = fn(current if isinstance(current, bytes) else None)
                if new is None:
                    self._cache.delete(key)
                else:
                    self._cache.set(key, new, expire=ttl_s)
        self._wrote(len(updates))
        return done

    def _wrote(self, n: int = 1) -> None:
        """Every ``EXPIRE_EVERY`` writes, delete the entries whose expiry passed (rather than
        diskcache's look for expired entries at every write)."""
        self._writes += n
        if self._writes >= EXPIRE_EVERY:
            self._writes = 0
            self._cache.expire(retry=True)

    def close(self) -> None:
        self._cache.close()

    def __repr__(self) -> str:
        return f"DiskStore({str(self.directory)!r})"
