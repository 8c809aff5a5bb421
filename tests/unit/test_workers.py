"""Workers know who else is alive (leases), whether they are alone, and stop serving once their
lease has passed."""

import asyncio
import time

from harness.processes import eventually
from htag_sse import MemoryStore
from htag_sse.workers import Workers


async def deliver(message):
    return None


async def test_a_worker_knows_when_it_is_alone_and_how_to_reach_the_others():
    store = MemoryStore()
    first, second = Workers(store, None, lease_s=0.3), Workers(store, None, lease_s=0.3)
    await first.start(lambda m: None)
    assert not first.alone  # it assumes company until two leases show none
    await eventually(lambda: first.alone, 3, "the lone worker to know it is alone")
    await second.start(lambda m: None)
    assert not second.alone and await second.alive(first.me)
    await first._look_around()
    assert not first.alone  # learnt at its next renewal
    await second.stop()
    first._known = (0.0, {})
    assert not await first.alive(second.me)
    await first.stop()


async def test_page_ids_name_their_owner():
    w = Workers(MemoryStore(), None, lease_s=5)
    assert Workers.owner_of(f"{w.me}.abcdef") == w.me


async def test_a_worker_back_from_a_pause_past_its_lease_takes_it_again_under_the_same_id():
    store = MemoryStore()
    w = Workers(store, None, lease_s=0.2)
    lost, recovered = [], []
    w.on_lost(lost.append)

    async def back() -> None:
        recovered.append(w.me)

    w.on_recovered(back)
    await w.start(lambda m: None)
    old, fence = w.me, w.fence()
    time.sleep(0.3)  # noqa: ASYNC251 - the stall under test: a synchronous handler keeps the loop past the lease
    assert not w.valid and _expired(store, old)
    await w.ensure_valid()
    assert lost == [] and recovered == [old] and w.me == old and w.valid and w.fence() != fence
    assert await w.alive(old)  # the others see it alive again: its pages are reached again
    await asyncio.wait_for(w.stop(), 2)


def _expired(store: MemoryStore, wid: str) -> bool:
    return "w:" + wid not in {n for n, (_, end) in store._leases.items() if end > time.monotonic()}


async def test_a_worker_whose_id_another_process_holds_gives_up_its_pages_and_takes_a_new_id():
    store = MemoryStore()
    w = Workers(store, None, lease_s=0.2)
    lost = []
    w.on_lost(lost.append)
    await w.start(lambda m: None)
    old = w.me
    time.sleep(0.3)  # noqa: ASYNC251 - a stall past the lease, during which another process takes the same id
    assert await store.acquire("w:" + old, "an impostor", 60) is not None
    await w.ensure_valid()
    assert lost == ["another process holds its id"] and w.me != old and w.valid
    await asyncio.wait_for(w.stop(), 2)
