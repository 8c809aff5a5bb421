"""The Redis backend on real redis-servers: signatures, the bus, lost connections, a stalled server,
a restart that lost everything, and a 3-master Cluster."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from harness.processes import eventually
from harness.redisserver import RedisServer
from htag_sse.errors import ConfigError, StoreError
from htag_sse.redis import RedisBus, RedisConnection, RedisStore, redis_backend
from htag_sse.session import Session, Sessions
from htag_sse.stores import MapWrite

SECRET = b"redis-tests-secret-0123456789abc"


def ns() -> str:
    return f"t-{secrets.token_hex(4)}"


class Inbox:
    """What a bus delivered to one worker."""

    def __init__(self) -> None:
        self.got: list[bytes] = []

    def __call__(self, message: bytes) -> None:
        self.got.append(message)

    async def has(self, n: int, timeout_s: float = 10.0) -> list[bytes]:
        async def enough() -> bool:
            return len(self.got) >= n

        await eventually(enough, timeout_s, f"{n} messages (got {len(self.got)})")
        return self.got


@pytest.fixture
async def pair(redis_server: RedisServer) -> AsyncIterator[tuple[Any, ...]]:
    """Two workers' buses on one namespace: (bus1, inbox1, bus2, inbox2)."""
    space = ns()
    b1, b2 = (RedisBus(redis_server.url, secret=SECRET, namespace=space, timeout_s=1.0) for _ in range(2))
    i1, i2 = Inbox(), Inbox()
    assert await b1.open("w1", i1) == {} and await b2.open("w2", i2) == {}
    yield b1, i1, b2, i2
    await b1.close()
    await b2.close()


async def test_a_value_written_without_the_secret_is_never_returned(redis_server: RedisServer, caplog: Any) -> None:
    space = ns()
    store = RedisStore(redis_server.url, secret=SECRET, namespace=space)
    await store.set("page", b"signed", 60)
    await store.create("sess", 60)
    await store.save([MapWrite("sess", {"user": b"ann"})], 60)
    await store.create("other", 60)
    # someone with access to Redis, not to the app's configuration
    redis_server.cli("SET", f"{space}:{{v:page}}", "forged")
    redis_server.cli("HSET", f"{space}:{{s:sess}}", "f:admin", "yes")
    signed = redis_server.cli("--no-raw", "HGET", f"{space}:{{s:sess}}", "f:user")
    assert signed.startswith('"')  # copied elsewhere, a signed value is worthless too:
    copied = redis_server.raw("HGET", f"{space}:{{s:sess}}", "f:user").removesuffix(b"\n")
    redis_server.raw("-x", "HSET", f"{space}:{{s:other}}", "f:user", stdin=copied)
    with caplog.at_level(logging.WARNING, logger="htag_sse"):
        assert await store.get("page") is None
        assert await store.get("page") is None
        assert await store.load("sess") == (2, {"user": b"ann"})
        assert await store.load("other") == (1, {})
        [saved] = await store.save([MapWrite("sess", {"n": b"1"})], 60)
        assert saved == (3, {"user": b"ann", "n": b"1"})
    warned = [r.getMessage() for r in caplog.records if "not signed" in r.getMessage()]
    assert len(warned) == 3  # once per key
    other = RedisStore(redis_server.url, secret=b"another-app-secret-0123456789ab", namespace=space)
    assert await other.load("sess") == (3, {})  # the version is not secret; the values are
    for s in (store, other):
        await s.close()


async def test_a_forged_lease_is_not_a_holder(redis_server: RedisServer) -> None:
    space = ns()
    store = RedisStore(redis_server.url, secret=SECRET, namespace=space)
    await store.acquire("page:1", "w1", 60)
    redis_server.cli("SET", f"{{{space}:leases}}:l:page:2", "x" * 60)
    redis_server.cli("ZADD", f"{{{space}:leases}}:z", "99999999999999", "page:2")
    assert await store.holders() == {"page:1": "w1"}
    await store.close()


async def test_the_bus_delivers_both_ways_in_order(pair: tuple[Any, ...]) -> None:
    b1, i1, b2, i2 = pair
    for n in range(50):
        await b1.send("w2", {}, b"ask %d" % n)
    for message in await i2.has(50):
        await b2.send("w1", {}, b"re: " + message)
    assert await i2.has(50) == [b"ask %d" % n for n in range(50)]
    assert await i1.has(50) == [b"re: ask %d" % n for n in range(50)]


async def test_a_bus_message_published_without_the_secret_is_dropped(
    pair: tuple[Any, ...], redis_server: RedisServer
) -> None:
    b1, _, b2, i2 = pair
    await b1.send("w2", {}, b"first")
    redis_server.cli("PUBLISH", f"{b2.ns}:b:w2", "x" * 60)
    redis_server.cli("PUBLISH", f"{b2.ns}:b:w2", "")
    await b1.send("w2", {}, b"second")
    assert await i2.has(2) == [b"first", b"second"]
    await b1.send("w2", {}, b"third")
    assert await i2.has(3) == [b"first", b"second", b"third"]


async def test_a_message_published_twice_is_delivered_once(pair: tuple[Any, ...]) -> None:
    """A PUBLISH retried after Redis took it (its answer was lost with the connection) sends it twice."""
    b1, _, b2, i2 = pair
    channel = f"{b2.ns}:b:w2"
    signed = b1._sign.sign(secrets.token_bytes(16) + b"once", channel)
    for _ in range(2):
        await b1.conn.call("PUBLISH", lambda r: r.publish(channel, signed))
    await b1.send("w2", {}, b"after")
    assert await i2.has(2) == [b"once", b"after"]
    await b1.send("w2", {}, b"last")
    assert await i2.has(3) == [b"once", b"after", b"last"]


async def test_a_long_message_waits_apart_and_is_read_once_then_gone(
    pair: tuple[Any, ...], redis_server: RedisServer
) -> None:
    """An upload relayed to its page's owner: kept in Redis only until the owner read it (GETDEL)."""
    b1, _, b2, i2 = pair
    body = secrets.token_bytes(3 * 1024 * 1024)
    await b1.send("w2", {}, body)
    assert (await i2.has(1))[0] == body
    await eventually(lambda: redis_server.cli("KEYS", f"{b2.ns}:{{x:*") == "", what="the long message to be gone")


async def test_client_kill_mid_traffic_loses_no_message(pair: tuple[Any, ...], redis_server: RedisServer) -> None:
    b1, i1, b2, i2 = pair

    async def sender(bus: RedisBus, to: str) -> None:
        for n in range(300):
            await bus.send(to, {}, b"%d" % n)
            if n % 10 == 0:
                await asyncio.sleep(0)

    traffic = [asyncio.create_task(sender(b1, "w2")), asyncio.create_task(sender(b2, "w1"))]
    killed = 0
    while not all(t.done() for t in traffic) and killed < 5:
        delivered = len(i1.got) + len(i2.got)
        await eventually(functools.partial(_more, i1, i2, delivered + 20), what="traffic between kills")
        killed += int(redis_server.cli("CLIENT", "KILL", "TYPE", "normal") or 0) > 0
    await asyncio.gather(*traffic)  # no send failed
    assert killed >= 1
    expected = [b"%d" % n for n in range(300)]
    assert await i2.has(300) == expected and await i1.has(300) == expected  # each once, in order


async def _more(i1: Inbox, i2: Inbox, n: int) -> bool:
    return len(i1.got) + len(i2.got) > n


async def test_a_stalled_server_gives_a_quick_store_error_then_service_resumes(own_redis_server: RedisServer) -> None:
    store = RedisStore(own_redis_server.url, secret=SECRET, namespace=ns(), timeout_s=0.5)
    await store.set("k", b"v", 60)
    sleeper = own_redis_server.stall(3)
    try:
        await eventually(own_redis_server.stalled, what="the server to stall")
        t0 = time.monotonic()
        with pytest.raises(StoreError, match="did not answer|Timeout"):
            await store.get("k")
        assert time.monotonic() - t0 < 2.5  # 0.5 s timeout (+ 1 s for retries at most), not the 3 s stall
    finally:
        sleeper.wait(10)
    assert await eventually(lambda: _answers(store), what="service to resume") == b"v"
    await store.close()


async def _answers(store: RedisStore) -> Any:
    try:
        return await store.get("k")
    except StoreError:
        return None


@pytest.mark.server
async def test_a_restart_without_persistence_is_noticed_and_service_resumes(own_redis_server: RedisServer) -> None:
    store, bus, feed = redis_backend(own_redis_server.url, secret=SECRET, namespace=ns(), timeout_s=0.5)
    inbox = Inbox()
    await bus.open("w1", inbox)
    epoch = await feed.epoch()
    assert await feed.epoch() == epoch
    for n in (1, 2, 3):
        await feed.publish("p1", n, f"event {n}")
    assert await feed.read("p1", 1, 0) == [(2, "event 2"), (3, "event 3")]
    await store.set("k", b"v", 60)
    await bus.send("w1", {}, b"before")
    await inbox.has(1)

    own_redis_server.kill()  # kill -9: everything in memory is gone
    with pytest.raises(StoreError):
        await store.get("k")
    with pytest.raises(ConnectionError):
        await bus.send("w1", {}, b"lost")
    own_redis_server.start()

    assert await feed.epoch() != epoch  # every worker can tell Redis lost everything
    assert await feed.read("p1", 3, 0) is None  # events after 3 may have been lost: refresh the page
    assert await store.get("k") is None
    await store.set("k", b"again", 60)
    assert await store.get("k") == b"again"
    await bus.send("w1", {}, b"after")
    assert await inbox.has(2) == [b"before", b"after"]  # the reader found its inbox again

    own_redis_server.stop()
    t0 = time.monotonic()
    with pytest.raises(StoreError, match="Redis at redis://127.0.0.1"):
        await store.check()
    assert time.monotonic() - t0 < 2.5
    own_redis_server.start()
    await store.check()
    for x in (store, bus, feed):
        await x.close()
    assert store.conn._users == 0


def test_without_redis_py_a_config_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(ConfigError, match=r"htag-sse\[redis\]"):
        RedisStore("redis://127.0.0.1:6379", secret=SECRET)


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ConfigError, match="not a Redis URL"):
        RedisConnection("http://127.0.0.1:6379")
    with pytest.raises(ConfigError, match="16 random bytes"):
        RedisStore("redis://127.0.0.1:6379", secret=b"short")
    with pytest.raises(ConfigError, match="braces"):
        RedisStore("redis://127.0.0.1:6379", secret=SECRET, namespace="a{b}")


@pytest.mark.server
async def test_bus_on_a_cluster(redis_cluster: Any) -> None:
    space = ns()
    buses = [RedisBus(redis_cluster.url, secret=SECRET, namespace=space) for _ in range(3)]
    inboxes = [Inbox() for _ in buses]
    for n, (bus, inbox) in enumerate(zip(buses, inboxes)):
        await bus.open(f"w{n}", inbox)
    for n in range(20):
        for src, bus in enumerate(buses):
            await bus.send(f"w{(src + 1) % 3}", {}, b"%d from %d" % (n, src))
    for dst, inbox in enumerate(inboxes):
        assert await inbox.has(20) == [b"%d from %d" % (n, (dst - 1) % 3) for n in range(20)]
    for bus in buses:
        await bus.close()


async def test_health_answers_the_same_json_whether_redis_failed_at_start_or_later(
    own_redis_server: RedisServer,
) -> None:
    """A load balancer reads one body: Redis down when the worker started (it has no lease) or since."""
    import httpx
    from htag import Tag

    from harness.processes import free_port
    from htag_sse import HtagSSE

    class App(Tag.div):
        def init(self) -> None:
            self += "hello"

    async def health(app: HtagSSE) -> tuple[int, dict[str, Any]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            r = await c.get("/_htag/health")
            return r.status_code, r.json()

    apps = [HtagSSE(App, redis=f"redis://127.0.0.1:{free_port()}/0", secret=SECRET),
            HtagSSE(App, redis=own_redis_server.url, secret=SECRET)]  # fmt: skip
    try:
        at_start = await health(apps[0])
        assert (await health(apps[1]))[0] == 200
        own_redis_server.kill()
        later = await health(apps[1])
        assert at_start[0] == later[0] == 503 and set(at_start[1]) == set(later[1]), (at_start, later)
        assert at_start[1]["status"] == later[1]["status"] == "error"
        assert at_start[1]["error"].startswith("store: ") and later[1]["error"].startswith("store: ")
    finally:
        for app in apps:
            await app.stop()


class Unheard(RedisStore):
    """A store whose news of other processes' session writes never arrives (as when it is still on its way)."""

    async def watch(self, changed: Any) -> None:
        await super().watch(lambda key, version: None)


async def test_a_request_that_saw_a_write_is_never_answered_from_an_older_copy_kept_elsewhere(
    redis_server: RedisServer,
) -> None:
    """Host B uses its copy of a session while no change is told; the browser that saw host A write it
    brings the version it saw (its cookie), and B reads the session again though A's news is not there yet."""
    space = ns()
    stores = (
        RedisStore(redis_server.url, secret=SECRET, namespace=space),
        Unheard(redis_server.url, secret=SECRET, namespace=space),
    )
    a, b = (Sessions(store, max_age_s=600, new_per_minute=100) for store in stores)

    async def write(session: Session, n: int) -> int:  # a request on A: the version its answer tells
        session["n"] = n
        a.save(session)
        await a.settle(session)
        return Sessions.newest(session)

    async def read(session: Session) -> Any:  # a request on B reads n, then its session is settled
        n = session["n"]
        b.save(session)
        await b.settle(session)
        return n

    try:
        mine = await a.resolve(None)
        await a.ensure(mine)
        sid = mine.sid
        assert sid is not None
        kept = await b.resolve(sid, at_least=await write(mine, 0))  # held, as B's page of this session holds it
        assert await read(kept) == 0
        seen = await write(mine, 1)
        assert await read(await b.identify(sid)) == 0  # a copy kept, no news yet: why the browser brings its version
        assert await read(await b.resolve(sid, at_least=seen)) == 1
        assert await read(await b.identify(sid, at_least=await write(mine, 2))) == 2
        seen = await write(mine, 3)
        await b.refresh(kept, at_least=seen)  # a relayed click brings it the same way
        assert await read(kept) == 3
    finally:
        for store in stores:
            await store.close()


async def test_a_session_whose_version_is_not_a_number_counts_as_gone_and_its_visitor_gets_a_new_one(
    redis_server: RedisServer, caplog: Any
) -> None:
    """Someone with access to Redis writes garbage over a session's version: its visitor's next page is
    a fresh one in a new session (a 500 before), and the store says why once."""
    import httpx

    from tests.support.apps import build

    space = ns()
    store = RedisStore(redis_server.url, secret=SECRET, namespace=space)
    app = build("counter", session_store=store)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        assert (await client.get("/")).status_code == 200
        sid = client.cookies["htag_sid"]
        redis_server.cli("HSET", f"{space}:{{s:s:{sid}}}", "v", "garbage")
        with caplog.at_level(logging.WARNING, logger="htag_sse"):
            assert await store.version("s:" + sid) is None and await store.load("s:" + sid) is None
            r = await client.get("/")
        assert r.status_code == 200, r.text
        assert client.cookies["htag_sid"] != sid
    assert any("not a number" in rec.getMessage() for rec in caplog.records)
