"""A page's event backlog."""

import asyncio

from htag_sse.eventlog import EventLog


def test_events_are_numbered_and_replayed_after_an_id():
    log = EventLog(10)
    assert [log.append(x) for x in "abc"] == [1, 2, 3]
    assert log.since(1) == [(2, "b"), (3, "c")]
    assert log.since(3) == []
    assert log.since(0) == [(1, "a"), (2, "b"), (3, "c")]


def test_a_client_behind_the_backlog_is_told_it_lost_events():
    log = EventLog(2)
    for x in "abcd":
        log.append(x)
    assert log.since(2) == [(3, "c"), (4, "d")]
    assert log.since(1) is None  # event 2 is gone: the caller sends a full refresh
    assert log.since(99) is None  # an id this log never issued


def test_a_new_log_has_nothing_to_replay():
    assert EventLog(5).since(0) == []


async def test_waiters_wake_on_append_and_close():
    log = EventLog(5)
    waiter = asyncio.ensure_future(log.wait(0))
    await asyncio.sleep(0)
    assert not waiter.done()
    log.append("x")
    await asyncio.wait_for(waiter, 1)
    await asyncio.wait_for(log.wait(0), 1)  # already newer: returns at once
    closer = asyncio.ensure_future(log.wait(1))
    await asyncio.sleep(0)
    log.close()
    await asyncio.wait_for(closer, 1)


async def test_a_wait_gives_up_after_its_timeout():
    log = EventLog(5)
    await asyncio.wait_for(log.wait(0, timeout_s=0.01), 1)
    assert log.last == 0
