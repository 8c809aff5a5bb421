"""Time on demand for tests of apps with timers: :class:`VirtualTimeLoop`, an asyncio event loop
whose clock a test moves forward (:func:`advance`), so that a clock app ticking every second is
tested in milliseconds.

What it moves: the event loop's clock, ``loop.time()``, which ``asyncio.sleep``, ``loop.call_later``
and ``asyncio.timeout`` go by. Every timer due within the time skipped fires, in order, at its
own time (the clock stands still at it meanwhile: a task sleeping 1 s in a loop ticks exactly
3,600 times in ``advance(3600)``), and what it starts runs before the next one. Between advances
real time flows: a timer nobody skips over fires when it is due, as usual.

What it does not move: ``time.time()``, ``time.monotonic()``, ``datetime.now()`` that code reads
(htag-sse's own expiry of pages and sessions goes by those: skipping an hour expires nothing),
nor threads (``asyncio.to_thread``, a disk store): :func:`advance` waits for the loop's work only.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from .dom import HtagTestError

#: How many turns of the loop :func:`advance` gives the app to settle after each timer.
MAX_TURNS = 100_000


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock :func:`advance` moves forward; otherwise an ordinary loop."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped = 0.0  # seconds the clock was moved forward
        self.frozen: float | None = None  # the clock's reading while advance() moves it

    def time(self) -> float:
        return self.frozen if self.frozen is not None else super().time() + self.skipped

    def real_time(self) -> float:
        return super().time()


async def advance(seconds: float) -> None:
    """Move the running loop's clock ``seconds`` forward, firing every timer due meanwhile in order."""
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds >= 0):
        raise HtagTestError(f"advance() takes a number of seconds >= 0, got {seconds!r}")
    loop = asyncio.get_running_loop()
    if not isinstance(loop, VirtualTimeLoop):
        raise HtagTestError(
            f"advance() needs the test to run on htag_sse.testing.VirtualTimeLoop, not on {type(loop).__name__}: use "
            "the synchronous client (with HtagTestClient(App) as tab: ...), or run the test's loop with it "
            "(docs/testing.md, 'Time')"
        )
    loop.frozen = now = loop.time()  # real time stops while the timers run, at their own times
    target = now + seconds
    try:
        await _settle(loop)
        while (due := _next_timer(loop)) is not None and due <= target:
            loop.frozen = max(due, loop.frozen)
            await _settle(loop)
        loop.frozen = target
        await _settle(loop)
    finally:
        loop.skipped, loop.frozen = loop.frozen - loop.real_time(), None  # and flows on from there


def _next_timer(loop: asyncio.AbstractEventLoop) -> float | None:
    scheduled: list[Any] = getattr(loop, "_scheduled", [])  # asyncio's heap of TimerHandles
    return min((h.when() for h in scheduled if not h.cancelled()), default=None)


async def _settle(loop: asyncio.AbstractEventLoop) -> None:
    """Give the loop turns until nothing else is ready and no timer is due."""
    for _ in range(MAX_TURNS):
        await asyncio.sleep(0)
        due = _next_timer(loop)
        if not getattr(loop, "_ready", ()) and (due is None or due > loop.time()):
            return
    raise HtagTestError(f"the app kept the event loop busy for {MAX_TURNS} turns: advance() cannot settle")
