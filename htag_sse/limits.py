"""Limits a client cannot push past: new sessions per client address per minute,
and the address itself as seen behind trusted proxies."""

from __future__ import annotations

import time
from collections.abc import Iterable

from starlette.types import Scope

#: Beyond this many client addresses in one minute, the oldest windows are forgotten first.
MAX_TRACKED = 100_000


def from_trusted_proxy(scope: Scope, trusted: Iterable[str]) -> bool:
    """Whether the peer is one of the ``trusted`` proxy addresses (``'*'``: any)."""
    client = scope.get("client")
    peer = client[0] if client else ""
    trusted = tuple(trusted)
    return "*" in trusted or peer in trusted


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def client_address(scope: Scope, trusted: Iterable[str]) -> str:
    """The client's IP: the peer's, or behind trusted proxies the last untrusted ``X-Forwarded-For`` entry."""
    trusted = tuple(trusted)
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    forwarded = _header(scope, b"x-forwarded-for")
    if forwarded and from_trusted_proxy(scope, trusted):
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if hop not in trusted:
                return hop
        return hops[0] if hops else peer
    return peer


def is_https(scope: Scope, trusted: Iterable[str]) -> bool:
    """Whether the browser talks https: directly, or per ``X-Forwarded-Proto`` from a trusted proxy."""
    if scope.get("scheme") == "https":
        return True
    proto = _header(scope, b"x-forwarded-proto")
    return proto is not None and proto.split(",")[0].strip().lower() == "https" and from_trusted_proxy(scope, trusted)


class PerMinute:
    """Counts events per key in fixed one-minute windows; memory stays bounded."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[str, tuple[int, int]] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        window = int((time.time() if now is None else now) // 60)
        start, count = self._counts.get(key, (window, 0))
        if start != window:
            count = 0
        if count >= self.limit:
            return False
        if len(self._counts) >= MAX_TRACKED and key not in self._counts:
            self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
            if len(self._counts) >= MAX_TRACKED:
                return False  # a flood of addresses within one minute: refuse newcomers
        self._counts[key] = (window, count + 1)
        return True

    def __len__(self) -> int:
        return len(self._counts)
