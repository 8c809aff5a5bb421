"""Awaiting with a deadline that costs nothing when nothing waits: most clicks (and most request
bodies) complete without suspending, and ``asyncio.timeout`` would arm and cancel a timer for each."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar, cast

T = TypeVar("T")


async def bounded(coro: Coroutine[Any, Any, T], timeout_s: float) -> T:
    """``await coro`` within ``timeout_s``, the timer armed only once it suspends: a handler (or
    a request body) that completes without waiting, as most do, costs no timer."""
    try:
        pending = coro.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    async with asyncio.timeout(timeout_s):
        return cast(T, await _Resumed(coro, pending))


class _Resumed:
    """The rest of a coroutine already started: what it waits on goes to the task, and back."""

    __slots__ = ("coro", "pending")

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self.coro, self.pending = coro, pending

    def __await__(self) -> Generator[Any, Any, Any]:
        pending = self.pending
        while True:
            try:
                sent = yield pending
            except BaseException as e:  # noqa: BLE001 - cancelled (timeout or task): the coroutine decides
                try:
                    pending = self.coro.throw(e)
                except StopIteration as done:
                    return done.value
                continue
            try:
                pending = self.coro.send(sent)
            except StopIteration as done:
                return done.value
