"""The default store: a private diskcache directory shared by every process of a host, kept across restarts."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError, StoreError
from .store import EXPIRE_EVERY, MapWrite, Saved, Stored, check_fence, saved

T = TypeVar("T")

#: How long a disk store call waits for another process's write lock, in small async steps.
LOCK_WAIT_S = 5.0
#: How often a disk store checks that its database is still the one it opened.
VERIFY_EVERY_S = 1.0


def private_directory(path: Path) -> Path:
    """Create ``path`` readable by this user only (0700), or check an existing one: refused if another
    user owns it or others may write into it (a planted file would be unpickled)."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError as e:
        raise ConfigError(f"session directory {str(path)!r} cannot be created: {e}") from None
    if os.name == "posix":  # Windows: the user's profile ACLs apply
        if info.st_uid != os.getuid():  # type: ignore[attr-defined,unused-ignore]
            raise ConfigError(f"session directory {str(path)!r} belongs to another user (uid {info.st_uid}): refused")
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise ConfigError(
                f"session directory {str(path)!r} can be written by other users "
                f"(mode {stat.filemode(info.st_mode)}): refused; chmod 700 it"
            )
        if info.st_mode & 0o077:
            path.chmod(0o700)  # readable by others: sessions and tokens would leak
    return path


class DiskStore:
    """A diskcache directory shared by all workers of a host; survives restarts.

    The directory is private (0700, files 0600). Nothing is ever evicted for
    size: entries leave when their expiry passes or they are deleted. Calls
    are local SQLite transactions (microseconds); when another process holds
    the write lock, the call waits in small async steps (the event loop goes
    on) up to ``lock_wait_s``, then raises :class:`StoreError`. Leases use the
    host's monotonic clock, which every process shares: a wall-clock jump
    changes nothing.
    """

    def __init__(self, directory: str | os.PathLike[str] = ".htag-sse", *, lock_wait_s: float = LOCK_WAIT_S) -> None:
        import diskcache

        self.directory = private_directory(Path(directory))
        self.lock_wait_s = lock_wait_s
        old = os.umask(0o077)  # the database files: 0600
        try:
            self._cache = _open(diskcache, self.directory)
        finally:
            os.umask(old)
        self._timeout = diskcache.Timeout
        self._writes = 0
        self._identity = self._database()
        self._verified = time.monotonic()

    def __repr__(self) -> str:
        return f"DiskStore({str(self.directory)!r})"

    def _database(self) -> tuple[int, int] | None:
        try:
            info = (self.directory / "cache.db").stat()
        except OSError:
            return None
        return info.st_dev, info.st_ino

    def _verify(self) -> None:
        """SQLite writes on into a deleted database through its open file, and all is lost at the
        next start: a directory deleted or replaced is a failing store."""
        self._verified = time.monotonic()
        if self._database() != self._identity:
            raise StoreError(f"{self!r}: its database was deleted or replaced while in use")

    async def _do(self, call: Callable[[], T]) -> T:
        """Run a diskcache call; while another process holds the lock, wait asynchronously."""
        if time.monotonic() - self._verified > VERIFY_EVERY_S:
            self._verify()
        deadline = time.monotonic() + self.lock_wait_s
        delay = 0.002
        while True:
            try:
                return call()
            except self._timeout:
                if time.monotonic() > deadline:
                    raise StoreError(f"{self!r} stayed locked by another process for {self.lock_wait_s:g} s") from None
            except (sqlite3.Error, OSError) as e:
                raise StoreError(f"{self!r} failed: {e}") from e
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def get(self, key: str) -> bytes | None:
        value = await self._do(lambda: self._cache.get(key, retry=False))
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        await self._do(lambda: self._cache.set(key, value, expire=ttl_s, retry=False))
        await self._wrote()

    async def delete(self, key: str) -> None:
        await self._do(lambda: self._cache.delete(key, retry=False))

    async def load(self, key: str) -> Stored | None:
        return _stored(await self._do(lambda: self._cache.get("m:" + key, retry=False)))

    async def version(self, key: str) -> int | None:
        stored = await self.load(key)
        return stored[0] if stored else None

    async def create(self, key: str, ttl_s: float) -> bool:
        added = await self._do(lambda: self._cache.add("m:" + key, (1, {}), expire=ttl_s, retry=False))
        await self._wrote()
        return bool(added)

    async def create_with(
        self, key: str, fields: Mapping[str, bytes], ttl_s: float, values: Mapping[str, tuple[bytes, float]]
    ) -> bool:
        def write() -> bool:
            with self._cache.transact(retry=False):  # one SQLite transaction: all or nothing
                if not self._cache.add("m:" + key, (1, dict(fields)), expire=ttl_s):
                    return False
                for k, (value, value_ttl_s) in values.items():
                    self._cache.set(k, value, expire=value_ttl_s)
                return True

        created = await self._do(write)
        await self._wrote(1 + len(values))
        return bool(created)

    async def save(self, writes: Sequence[MapWrite], ttl_s: float, fence: float | None = None) -> list[Saved | None]:
        def write() -> list[Saved | None]:
            out: list[Saved | None] = []
            with self._cache.transact(retry=False):
                check_fence(fence)  # inside the transaction: no write once the lease has passed
                for w in writes:
                    current = _stored(self._cache.get("m:" + w.key))
                    if current is None:
                        out.append(None)
                        continue
                    fields = {**current[1], **w.changed}
                    for k in w.deleted:
                        fields.pop(k, None)
                    self._cache.set("m:" + w.key, (current[0] + 1, fields), expire=ttl_s)
                    out.append(saved(current[0] + 1, fields, w.base))
            return out

        self._verify()  # a write into a deleted database would be lost at the next start: fail it now
        done = await self._do(write)
        await self._wrote(len(writes))
        return done

    async def touch(self, key: str, ttl_s: float) -> bool:
        return bool(await self._do(lambda: self._cache.touch("m:" + key, expire=ttl_s, retry=False)))

    async def delete_map(self, key: str) -> None:
        await self._do(lambda: self._cache.delete("m:" + key, retry=False))

    async def acquire(self, name: str, holder: str, ttl_s: float) -> float | None:
        def take() -> float | None:
            with self._cache.transact(retry=False):
                now = time.monotonic()
                leases: dict[str, tuple[str, float]] = self._cache.get("leases") or {}
                current = leases.get(name)
                if current is not None and current[1] > now:
                    return None
                leases = {n: v for n, v in leases.items() if v[1] > now}  # forget expired ones
                leases[name] = (holder, now + ttl_s)
                self._cache.set("leases", leases)
                return now + ttl_s

        return await self._do(take)

    async def renew(self, name: str, holder: str, ttl_s: float) -> float | None:
        def extend() -> float | None:
            with self._cache.transact(retry=False):
                now = time.monotonic()
                leases: dict[str, tuple[str, float]] = self._cache.get("leases") or {}
                current = leases.get(name)
                if current is None or current[0] != holder or current[1] <= now:
                    return None
                leases[name] = (holder, now + ttl_s)
                self._cache.set("leases", leases)
                return now + ttl_s

        return await self._do(extend)

    async def release(self, name: str, holder: str) -> None:
        def drop() -> None:
            with self._cache.transact(retry=False):
                leases: dict[str, tuple[str, float]] = self._cache.get("leases") or {}
                if leases.get(name, ("", 0.0))[0] == holder:
                    del leases[name]
                    self._cache.set("leases", leases)

        await self._do(drop)

    async def holders(self) -> dict[str, str]:
        leases: dict[str, tuple[str, float]] = await self._do(lambda: self._cache.get("leases", retry=False)) or {}
        now = time.monotonic()
        return {name: holder for name, (holder, end) in leases.items() if end > now}

    async def check(self) -> None:
        self._verify()
        key = f"health:{os.getpid()}"
        await self.set(key, b"1", 60)
        if await self.get(key) != b"1":
            raise StoreError(f"{self!r} did not give back what was written")

    async def close(self) -> None:
        self._cache.close()

    async def _wrote(self, n: int = 1) -> None:
        """Every ``EXPIRE_EVERY`` writes, delete the entries whose expiry passed (rather than
        diskcache's look for expired entries at every write)."""
        self._writes += n
        if self._writes >= EXPIRE_EVERY:
            self._writes = 0
            await self._do(lambda: self._cache.expire(retry=False))


def _open(diskcache: Any, directory: Path) -> Any:
    """Open the cache; several workers opening it at once may meet "database is locked"."""
    deadline = time.monotonic() + 30
    while True:
        try:  # cull_limit=0: expired entries go in batches (see _wrote); timeout: lock waits are ours
            return diskcache.Cache(  # every value in the (0600) database: no file created later with the umask
                str(directory),
                timeout=0,  # no blocking wait in SQLite: _do waits asynchronously
                eviction_policy="none",
                statistics=False,
                cull_limit=0,
                disk_min_file_size=1 << 30,
            )
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise ConfigError(f"session directory {str(directory)!r} cannot be opened: {e}") from None
            time.sleep(0.01)  # startup only, before serving
        except sqlite3.DatabaseError as e:
            raise ConfigError(f"session directory {str(directory)!r} holds a damaged database: {e}") from None


def _stored(value: Any) -> Stored | None:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], dict):
        return value[0], value[1]
    return None
