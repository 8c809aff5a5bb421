"""An in-process store: fast, lost on restart, not shared between workers (one process only)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from .store import EXPIRE_EVERY, MapWrite, Saved, Stored, check_fence, saved


class MemoryStore:
    """An in-process store: fast, lost on restart, not shared between workers."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[bytes, float]] = {}
        self._maps: dict[str, tuple[int, dict[str, bytes], float]] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._writes = 0

    def __len__(self) -> int:
        """Entries held (values and maps, expired ones until they are purged)."""
        return len(self._values) + len(self._maps)

    async def get(self, key: str) -> bytes | None:
        item = self._values.get(key)
        return item[0] if item and item[1] > time.monotonic() else None

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        self._values[key] = (value, time.monotonic() + ttl_s)
        self._wrote()

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    def _map(self, key: str) -> tuple[int, dict[str, bytes], float] | None:
        item = self._maps.get(key)
        if item is not None and item[2] <= time.monotonic():
            del self._maps[key]
            return None
        return item

    async def load(self, key: str) -> Stored | None:
        item = self._map(key)
        return (item[0], dict(item[1])) if item else None

    async def version(self, key: str) -> int | None:
        item = self._map(key)
        return item[0] if item else None

    async def create(self, key: str, ttl_s: float) -> bool:
        if self._map(key) is not None:
            return False
        self._maps[key] = (1, {}, time.monotonic() + ttl_s)
        self._wrote()
        return True

    async def create_with(
        self, key: str, fields: Mapping[str, bytes], ttl_s: float, values: Mapping[str, tuple[bytes, float]]
    ) -> bool:
        if self._map(key) is not None:
            return False
        now = time.monotonic()
        self._maps[key] = (1, dict(fields), now + ttl_s)
        for k, (value, value_ttl_s) in values.items():
            self._values[k] = (value, now + value_ttl_s)
        self._wrote(1 + len(values))
        return True

    async def save(self, writes: Sequence[MapWrite], ttl_s: float, fence: float | None = None) -> list[Saved | None]:
        check_fence(fence)
        out: list[Saved | None] = []
        for w in writes:
            item = self._map(w.key)
            if item is None:
                out.append(None)
                continue
            fields = {**item[1], **w.changed}
            for k in w.deleted:
                fields.pop(k, None)
            self._maps[w.key] = (item[0] + 1, fields, time.monotonic() + ttl_s)
            out.append(saved(item[0] + 1, dict(fields), w.base))
        self._wrote(len(writes))
        return out

    async def touch(self, key: str, ttl_s: float) -> bool:
        item = self._map(key)
        if item is None:
            return False
        self._maps[key] = (item[0], item[1], time.monotonic() + ttl_s)
        return True

    async def delete_map(self, key: str) -> None:
        self._maps.pop(key, None)

    async def acquire(self, name: str, holder: str, ttl_s: float) -> float | None:
        now = time.monotonic()
        item = self._leases.get(name)
        if item is not None and item[1] > now:
            return None
        self._leases[name] = (holder, now + ttl_s)
        return now + ttl_s

    async def renew(self, name: str, holder: str, ttl_s: float) -> float | None:
        now = time.monotonic()
        item = self._leases.get(name)
        if item is None or item[0] != holder or item[1] <= now:
            return None
        self._leases[name] = (holder, now + ttl_s)
        return now + ttl_s

    async def release(self, name: str, holder: str) -> None:
        if self._leases.get(name, ("", 0.0))[0] == holder:
            del self._leases[name]

    async def holders(self) -> dict[str, str]:
        now = time.monotonic()
        return {name: holder for name, (holder, end) in self._leases.items() if end > now}

    async def check(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _wrote(self, n: int = 1) -> None:
        self._writes += n
        if self._writes >= EXPIRE_EVERY:
            self._writes = 0
            now = time.monotonic()
            self._values = {k: v for k, v in self._values.items() if v[1] > now}
            self._maps = {k: v for k, v in self._maps.items() if v[2] > now}
