"""Counting what a client may do per minute (new sessions per address), in bounded memory."""

from __future__ import annotations

import time

#: Beyond this many keys in one minute, the oldest windows are forgotten first.
MAX_TRACKED = 100_000


class PerMinute:
    """Counts events per key in fixed one-minute windows (the monotonic clock: a wall-clock
    jump neither resets nor stretches a window); memory stays bounded."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[str, tuple[int, int]] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        window = int((time.monotonic() if now is None else now) // 60)
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
