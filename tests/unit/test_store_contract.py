"""One contract for every store: memory, disk (diskcache) and Redis (a real redis-server; a 3-master
Cluster too: those are marked ``redis``). Whatever the backend, a worker sees the same values, maps, leases
and fences."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest

from harness.processes import eventually, free_port
from htag_sse.errors import Fenced, StoreError
from htag_sse.redis import RedisStore
from htag_sse.stores import DiskStore, MapWrite, MemoryStore, Store

SECRET = b"contract-tests-secret-0123456789"


def make_redis(url: str) -> RedisStore:
    return RedisStore(url, secret=SECRET, namespace=f"t-{secrets.token_hex(4)}", timeout_s=1.0)


@pytest.fixture(params=["memory", "disk", pytest.param("redis", marks=pytest.mark.redis),
                        pytest.param("cluster", marks=pytest.mark.redis)])  # fmt: skip
async def store(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Any]:
    kind = request.param
    if kind == "memory":
        s: Any = MemoryStore()
    elif kind == "disk":
        s = DiskStore(tmp_path / "s")
    else:
        s = make_redis(request.getfixturevalue("redis_server" if kind == "redis" else "redis_cluster").url)
    yield s
    await s.close()


async def test_every_store_implements_the_interface(store: Any) -> None:
    assert isinstance(store, Store)
    await store.check()


async def test_plain_values(store: Any) -> None:
    assert await store.get("page:1") is None
    await store.set("page:1", b"\x00record", 60)
    assert await store.get("page:1") == b"\x00record"
    await store.set("page:1", b"newer", 60)
    assert await store.get("page:1") == b"newer"
    await store.delete("page:1")
    await store.delete("page:1")  # deleting what is gone is fine
    assert await store.get("page:1") is None


async def test_plain_values_expire(store: Any) -> None:
    await store.set("short", b"1", 0.1)
    await store.set("long", b"2", 60)
    await eventually(lambda: _is_none(store.get("short")), what="the short-lived value to expire")
    assert await store.get("long") == b"2"


async def _is_none(value: Awaitable[Any]) -> bool:
    return await value is None


async def test_a_map_is_created_once(store: Any) -> None:
    assert await store.load("s1") is None and await store.version("s1") is None
    assert await store.create("s1", 60) is True
    assert await store.create("s1", 60) is False
    assert await store.load("s1") == (1, {})
    assert await store.version("s1") == 1


async def test_create_with_makes_a_map_and_values_in_one_write(store: Any) -> None:
    fields = {"user": b"ann", "blob": bytes(range(256))}
    assert await store.create_with("s1", fields, 60, {"page:1": (b"record", 60), "page:2": (b"other", 0.15)}) is True
    assert await store.load("s1") == (1, fields) and await store.version("s1") == 1
    assert await store.get("page:1") == b"record" and await store.get("page:2") == b"other"
    [saved] = await store.save([MapWrite("s1", {"cart": b"1"})], 60)  # an ordinary map from then on
    assert saved == (2, {**fields, "cart": b"1"})
    await eventually(lambda: _is_none(store.get("page:2")), what="the short-lived value to expire")
    assert await store.create_with("s2", {}, 60, {}) is True
    assert await store.load("s2") == (1, {})


async def test_create_with_writes_nothing_when_the_map_exists(store: Any) -> None:
    await store.create("s", 60)
    assert await store.create_with("s", {"user": b"mallory"}, 60, {"page:9": (b"record", 60)}) is False
    assert await store.load("s") == (1, {})
    assert await store.get("page:9") is None  # (a Cluster: the map first, then the values, only if it was free)


async def test_save_merges_two_writers_field_by_field(store: Any) -> None:
    await store.create("s", 60)
    # two workers, each with its own copy, each changing its own field
    [a] = await store.save([MapWrite("s", {"user": b"ann", "cart": b"1"})], 60)
    [b] = await store.save([MapWrite("s", {"theme": b"dark"})], 60)
    assert a == (2, {"user": b"ann", "cart": b"1"})
    assert b == (3, {"user": b"ann", "cart": b"1", "theme": b"dark"})
    [c] = await store.save([MapWrite("s", {"cart": b"2"}, deleted=["user", "never-there"])], 60)
    assert c == (4, {"cart": b"2", "theme": b"dark"})
    assert await store.load("s") == c and await store.version("s") == 4


async def test_save_does_not_recreate_a_missing_map(store: Any) -> None:
    await store.create("kept", 60)
    out = await store.save([MapWrite("gone", {"x": b"1"}), MapWrite("kept", {"y": b"2"})], 60)
    assert out == [None, (2, {"y": b"2"})]
    assert await store.load("gone") is None
    await store.delete_map("kept")
    assert await store.save([MapWrite("kept", {"y": b"3"})], 60) == [None]
    assert await store.load("kept") is None
    assert await store.save([], 60) == []


async def test_maps_expire_and_touch_or_save_extends_them(store: Any) -> None:
    await store.create("short", 0.15)
    await store.create("touched", 0.15)
    await store.create("saved", 0.15)
    assert await store.touch("touched", 60) is True
    await store.save([MapWrite("saved", {"k": b"v"})], 60)
    await eventually(lambda: _is_none(store.load("short")), what="the map to expire")
    assert await store.touch("short", 60) is False  # an expired map is not brought back
    assert await store.load("short") is None
    assert await store.load("touched") == (1, {})  # touch changes no version
    assert await store.load("saved") == (2, {"k": b"v"})


async def test_delete_map(store: Any) -> None:
    await store.create("s", 60)
    await store.delete_map("s")
    assert await store.load("s") is None and await store.touch("s", 60) is False
    assert await store.create("s", 60) is True


async def test_values_are_opaque_bytes(store: Any) -> None:
    blob = bytes(range(256)) * 40
    await store.set("blob", blob, 60)
    await store.create("m", 60)
    [stored] = await store.save([MapWrite("m", {"blob": blob, "empty": b"", "ünï": b"\xff"})], 60)
    assert stored == (2, {"blob": blob, "empty": b"", "ünï": b"\xff"})
    assert await store.get("blob") == blob and await store.load("m") == stored


async def test_leases(store: Any) -> None:
    assert isinstance(await store.acquire("page:1", "w1", 60), float)
    assert await store.acquire("page:1", "w2", 60) is None
    assert await store.renew("page:1", "w2", 60) is None  # another holder cannot renew
    assert isinstance(await store.renew("page:1", "w1", 60), float)
    await store.acquire("worker:w1", "w1", 60)
    assert await store.holders() == {"page:1": "w1", "worker:w1": "w1"}
    await store.release("page:1", "w2")  # not its lease: nothing happens
    assert (await store.holders())["page:1"] == "w1"
    await store.release("page:1", "w1")
    assert await store.holders() == {"worker:w1": "w1"}
    assert await store.renew("page:1", "w1", 60) is None
    assert isinstance(await store.acquire("page:1", "w2", 60), float)
    assert await store.holders() == {"page:1": "w2", "worker:w1": "w1"}


async def test_an_expired_lease_is_never_revived(store: Any) -> None:
    await store.acquire("page:1", "w1", 0.1)
    await store.acquire("page:2", "w1", 60)
    await eventually(lambda: _lacks(store, "page:1"), what="the lease to expire")
    assert await store.renew("page:1", "w1", 60) is None
    assert await store.holders() == {"page:2": "w1"}
    assert isinstance(await store.acquire("page:1", "w2", 60), float)  # free for anyone
    assert await store.renew("page:1", "w1", 60) is None


async def _lacks(store: Any, name: str) -> bool:
    return name not in await store.holders()


async def test_a_renewed_deadline_is_later(store: Any) -> None:
    first = await store.acquire("page:1", "w1", 1)
    later = await store.renew("page:1", "w1", 30)
    assert first is not None and later is not None and later > first + 20


async def test_a_save_past_its_fence_raises_and_writes_nothing(store: Any) -> None:
    await store.create("s", 60)
    fence = await store.acquire("page:1", "w1", 0.2)
    assert fence is not None
    assert (await store.save([MapWrite("s", {"n": b"1"})], 60, fence=fence))[0] == (2, {"n": b"1"})
    await eventually(lambda: _lacks(store, "page:1"), what="the lease to expire")
    await store.acquire("page:1", "w2", 60)  # the page moved: w1 was paused past its lease
    with pytest.raises(Fenced):
        await store.save([MapWrite("s", {"n": b"stale"}), MapWrite("t", {"n": b"x"})], 60, fence=fence)
    assert await store.load("s") == (2, {"n": b"1"})
    renewed = await store.renew("page:1", "w2", 60)
    assert (await store.save([MapWrite("s", {"n": b"2"})], 60, fence=renewed))[0] == (3, {"n": b"2"})


async def test_check_and_store_error_when_the_store_cannot_answer(store: Any, tmp_path: Any) -> None:
    await store.check()
    if isinstance(store, MemoryStore):
        pytest.skip("a memory store cannot fail")
    if isinstance(store, DiskStore):
        import diskcache

        store.lock_wait_s = 0.2
        other = diskcache.Cache(str(store.directory))
        try:
            with other.transact():  # another process holds the write lock
                t0 = time.monotonic()
                with pytest.raises(StoreError, match="locked"):
                    await store.set("k", b"1", 60)
                assert time.monotonic() - t0 < 3
        finally:
            other.close()
        return
    scheme = "redis+cluster" if store.conn.cluster else "redis"
    broken = RedisStore(f"{scheme}://127.0.0.1:{free_port()}", secret=SECRET, timeout_s=0.5)
    t0 = time.monotonic()
    for call in (broken.check, lambda: broken.get("k"), lambda: broken.save([MapWrite("s", {})], 60), broken.holders):
        with pytest.raises(StoreError, match=re.escape(f"Redis at {scheme}://127.0.0.1")):
            await call()
    assert time.monotonic() - t0 < 8
    await broken.close()
