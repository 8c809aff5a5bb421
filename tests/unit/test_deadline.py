"""A deadline costs nothing when nothing waits, and holds when something does."""

import asyncio

import pytest

from htag_sse.deadline import bounded


async def quick():
    return 42


async def waits(s):
    await asyncio.sleep(s)
    return "done"


async def test_a_coroutine_that_never_waits_is_not_timed_at_all():
    assert await bounded(quick(), 0.0001) == 42  # even a tiny deadline: no timer was armed


async def test_a_coroutine_that_waits_keeps_its_result_or_is_cut_at_the_deadline():
    assert await bounded(waits(0.01), 5) == "done"
    with pytest.raises(TimeoutError):
        await bounded(waits(5), 0.05)


async def test_an_exception_and_a_cancellation_reach_the_coroutine_and_the_caller():
    async def fails():
        await asyncio.sleep(0)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await bounded(fails(), 5)
    cleaned = asyncio.Event()

    async def cleans_up():
        try:
            await asyncio.sleep(5)
        finally:
            cleaned.set()

    task = asyncio.ensure_future(bounded(cleans_up(), 10))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned.is_set()
