"""Pushed events on Redis (RedisFeed), readable from any host: the ids are the event numbers, a reader
waits for the next one, and any gap answers None (the page is then sent anew) rather than a silent skip."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from harness.processes import eventually
from harness.redisserver import RedisServer
from htag_sse.redis import RedisConnection, RedisFeed

SECRET = b"feed-tests-secret-0123456789abcd"


@pytest.fixture
async def feed(redis_server: RedisServer) -> AsyncIterator[RedisFeed]:
    f = RedisFeed(redis_server.url, secret=SECRET, namespace=f"t-{secrets.token_hex(4)}", backlog=5, timeout_s=1.0)
    yield f
    await f.close()


async def test_read_gives_the_events_after_a_number(feed: RedisFeed) -> None:
    assert await feed.read("p", 0, 0) == []  # a page that never pushed
    for n in (1, 2, 3):
        await feed.publish("p", n, f"<b>{n}</b> ünï")
    assert await feed.read("p", 0, 0) == [(1, "<b>1</b> ünï"), (2, "<b>2</b> ünï"), (3, "<b>3</b> ünï")]
    assert await feed.read("p", 2, 0) == [(3, "<b>3</b> ünï")]  # Last-Event-ID: 2
    assert await feed.read("p", 3, 0) == []
    assert await feed.read("other", 0, 0) == []


async def test_a_reader_waits_for_the_next_event_or_times_out(feed: RedisFeed, redis_server: RedisServer) -> None:
    await feed.publish("p", 1, "one")
    t0 = time.monotonic()
    assert await feed.read("p", 1, 0.3) == []
    assert time.monotonic() - t0 >= 0.25
    reader = asyncio.create_task(feed.read("p", 1, 10))
    await eventually(lambda: redis_server.blocked(1), what="the reader to block")
    await feed.publish("p", 2, "two")
    t0 = time.monotonic()
    assert await reader == [(2, "two")]
    assert time.monotonic() - t0 < 3


async def test_events_lost_answer_none(feed: RedisFeed) -> None:
    for n in range(1, 301):
        await feed.publish("p", n, f"e{n}")
    assert await feed.read("p", 0, 0) is None  # trimmed past the backlog (5, kept approximately)
    assert await feed.read("p", 1, 0) is None
    assert await feed.read("p", 295, 0) == [(n, f"e{n}") for n in range(296, 301)]
    assert await feed.read("p", 300, 0) == []
    assert await feed.read("p", 301, 5) is None  # a number this page never issued: at once
    await feed.drop("p")
    assert await feed.read("p", 300, 0) is None  # dropped (or expired, or Redis lost it)
    assert await feed.read("p", 0, 0) == []


async def test_a_retried_publish_counts_once_and_a_rerun_page_starts_anew(feed: RedisFeed) -> None:
    for n in (1, 2, 2, 3):
        await feed.publish("p", n, f"e{n}")
    assert await feed.read("p", 0, 0) == [(1, "e1"), (2, "e2"), (3, "e3")]
    await feed.publish("p", 1, "rerun")  # the page runs anew elsewhere, numbered from 1 again
    assert await feed.read("p", 3, 0) is None
    assert await feed.read("p", 0, 0) == [(1, "rerun")]


async def test_a_forged_event_is_a_gap_not_an_event(feed: RedisFeed, redis_server: RedisServer) -> None:
    await feed.publish("p", 1, "one")
    redis_server.cli("XADD", f"{feed.ns}:{{p:p}}:events", "2-0", "d", "x" * 40 + "<script>")
    assert await feed.read("p", 0, 0) is None
    assert await feed.read("p", 1, 0) is None


async def test_the_epoch_is_set_once(feed: RedisFeed, redis_server: RedisServer) -> None:
    epoch = await feed.epoch()
    assert len(epoch) == 32 and await feed.epoch() == epoch
    other = RedisFeed(redis_server.url, secret=SECRET, namespace=feed.ns + "-other")
    assert await other.epoch() != epoch
    await other.close()


async def test_readers_beyond_the_blocking_connections_still_get_events(redis_server: RedisServer) -> None:
    conn = RedisConnection(redis_server.url, blocking_connections=1)
    feed = RedisFeed(conn, secret=SECRET, namespace=f"t-{secrets.token_hex(4)}")
    readers = [asyncio.create_task(feed.read(f"p{n}", 0, 10)) for n in range(3)]
    await eventually(lambda: redis_server.blocked(1), what="a reader to block")  # the others poll
    for n in range(3):
        await feed.publish(f"p{n}", 1, f"to p{n}")
    t0 = time.monotonic()
    assert await asyncio.gather(*readers) == [[(1, f"to p{n}")] for n in range(3)]
    assert time.monotonic() - t0 < 3
    await feed.close()


@pytest.mark.server
async def test_the_feed_on_a_cluster(redis_cluster: Any) -> None:
    feed = RedisFeed(redis_cluster.url, secret=SECRET, namespace=f"t-{secrets.token_hex(4)}", backlog=5)
    for page in ("a", "b", "c", "d"):
        for n in (1, 2, 3):
            await feed.publish(page, n, f"{page}{n}")
    assert [await feed.read(p, 1, 0) for p in "abcd"] == [[(2, f"{p}2"), (3, f"{p}3")] for p in "abcd"]
    reader = asyncio.create_task(feed.read("a", 3, 10))
    await feed.publish("a", 4, "a4")
    assert await reader == [(4, "a4")]
    assert await feed.epoch() == await feed.epoch()
    await feed.drop("a")
    assert await feed.read("a", 4, 0) is None
    await feed.close()
