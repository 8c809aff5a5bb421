"""The two embedded stores behave alike; diskcache is safe with several processes."""

import multiprocessing
import time

import pytest

from htag_sse import DiskStore, MemoryStore, Store


@pytest.fixture(params=["memory", "disk"])
def store(request, tmp_path):
    return MemoryStore() if request.param == "memory" else DiskStore(tmp_path / "s")


def test_both_stores_implement_the_interface(store):
    assert isinstance(store, Store)


def test_get_set_add_delete(store):
    assert store.get("k") is None
    store.set("k", b"1")
    assert store.get("k") == b"1"
    assert not store.add("k", b"2")
    assert store.add("j", b"2") and store.get("j") == b"2"
    store.delete("k")
    assert store.get("k") is None


def test_update_is_read_modify_write(store):
    assert store.update("n", lambda v: b"1" if v is None else b"x") == b"1"
    assert store.update("n", lambda v: v + b"2") == b"12"
    assert store.update("n", lambda v: None) is None
    assert store.get("n") is None


def test_entries_expire(store):
    store.set("k", b"1", ttl_s=0.05)
    assert store.get("k") == b"1"
    time.sleep(0.1)  # the expiry itself is under test
    assert store.get("k") is None


def test_a_big_disk_store_never_evicts_for_size(tmp_path):
    store = DiskStore(tmp_path / "s")
    blob = b"x" * 200_000
    for i in range(60):  # 12 MB: diskcache's size-based culling would start if enabled
        store.set(f"k{i}", blob)
    assert all(store.get(f"k{i}") == blob for i in range(60))


def _hammer(directory: str, worker: int, n: int) -> None:
    store = DiskStore(directory)
    for _ in range(n):
        store.update("counter", lambda v: str(int(v or b"0") + 1).encode())
    store.set(f"done{worker}", b"1")


def test_processes_opening_and_updating_one_store_at_once_lose_nothing(tmp_path):
    directory = str(tmp_path / "shared")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(directory, i, 50)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert DiskStore(directory).get("counter") == b"200"
