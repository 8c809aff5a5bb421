"""A store that fails on demand: any :class:`~htag_sse.stores.Store` wrapped, whose calls named in
``failing`` raise :class:`~htag_sse.errors.StoreError` as a store that cannot answer does (a disk
locked or full, Redis unreachable) — for in-process tests of what users see then."""

from __future__ import annotations

from typing import Any

from htag_sse.errors import StoreError
from htag_sse.stores import Store

#: Every call of the Store interface.
CALLS = frozenset({"get", "set", "delete", "load", "version", "create", "create_with", "save", "touch",
                   "delete_map", "acquire", "renew", "release", "holders", "check"})  # fmt: skip


class FailingStore:
    """``FailingStore(DiskStore(...))``; ``store.failing = {"set", "save"}`` (or :data:`CALLS`): those
    calls raise :class:`StoreError` until ``failing`` is emptied. ``calls`` counts the calls that failed."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.failing: set[str] = set()
        self.failed = 0

    def __repr__(self) -> str:
        return f"FailingStore({self.inner!r})"

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.inner, name)
        if name not in CALLS:
            return call

        async def maybe(*args: Any, **kwargs: Any) -> Any:
            if name in self.failing:
                self.failed += 1
                raise StoreError(f"{self!r} cannot answer ({name}): failing on purpose")
            return await call(*args, **kwargs)

        return maybe

    async def close(self) -> None:
        await self.inner.close()
