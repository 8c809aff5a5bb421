"""The disk store: private to the server's user, safe with several processes, never blocking the
event loop on another process's lock. (The contract every store keeps: test_store_contract.py.)"""

import asyncio
import multiprocessing
import os
import sqlite3
import stat

import pytest

from htag_sse import ConfigError, DiskStore, StoreError
from htag_sse.stores import MapWrite


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_the_directory_and_its_files_are_private(tmp_path):
    os.umask(0o022)
    store = DiskStore(tmp_path / "s")
    await store.set("k", b"v", 60)
    await store.set("big", b"x" * 200_000, 60)  # diskcache would put a large value in a file of its own
    assert mode(tmp_path / "s") == 0o700
    files = list((tmp_path / "s").rglob("*"))
    assert files and all(mode(p) & 0o077 == 0 for p in files), [(p.name, oct(mode(p))) for p in files]


def test_a_directory_others_may_write_or_another_user_owns_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(ConfigError, match="can be written by other users"):
        DiskStore(shared)
    readable = tmp_path / "readable"
    readable.mkdir(mode=0o755)
    DiskStore(readable)
    assert mode(readable) == 0o700  # readable by others: made private
    if os.getuid() == 0:
        foreign = tmp_path / "foreign"
        foreign.mkdir(mode=0o700)
        os.chown(foreign, 12345, 12345)
        with pytest.raises(ConfigError, match="belongs to another user"):
            DiskStore(foreign)


def test_a_damaged_database_is_a_clear_error(tmp_path):
    (tmp_path / "s").mkdir(mode=0o700)
    (tmp_path / "s" / "cache.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="damaged|cannot be opened"):
        DiskStore(tmp_path / "s")


async def test_a_big_disk_store_never_evicts_for_size(tmp_path):
    store = DiskStore(tmp_path / "s")
    blob = b"x" * 200_000
    for i in range(60):  # 12 MB: diskcache's size-based culling would start if enabled
        await store.set(f"k{i}", blob, 3600)
    assert all([await store.get(f"k{i}") == blob for i in range(60)])


async def test_a_lock_held_by_another_process_waits_without_blocking_the_loop_then_fails_clearly(tmp_path):
    store = DiskStore(tmp_path / "s", lock_wait_s=0.5)
    await store.create("s:a", 60)
    other = sqlite3.connect(tmp_path / "s" / "cache.db", timeout=0)
    other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    running = asyncio.ensure_future(ticker())
    with pytest.raises(StoreError, match="locked"):
        await store.save([MapWrite("s:a", {"k": b"1"})], 60)
    running.cancel()
    assert ticks >= 10  # the loop kept running while the store waited
    other.rollback()
    await store.save([MapWrite("s:a", {"k": b"1"})], 60)  # and it works once the lock is gone
    assert (await store.load("s:a"))[1] == {"k": b"1"}
    other.close()


def _hammer(directory: str, n: int) -> None:
    async def main():
        store = DiskStore(directory)
        for i in range(n):
            await store.save([MapWrite("s:shared", {f"{os.getpid()}-{i}": b"1"})], 60)

    asyncio.run(main())


async def test_processes_writing_one_session_at_once_lose_nothing(tmp_path):
    directory = str(tmp_path / "shared")
    await DiskStore(directory).create("s:shared", 60)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(directory, 50)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        await asyncio.to_thread(p.join, 60)
        assert p.exitcode == 0
    version, fields = await DiskStore(directory).load("s:shared")
    assert len(fields) == 200 and version == 201


async def test_a_deleted_directory_is_a_failing_store_not_a_silent_loss(tmp_path):
    import shutil

    store = DiskStore(tmp_path / "s")
    await store.create("s:a", 60)
    await store.check()
    shutil.rmtree(tmp_path / "s")  # SQLite would go on writing into the deleted file
    with pytest.raises(StoreError, match="deleted or replaced"):
        await store.check()
