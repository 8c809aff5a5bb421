"""Sessions: the mapping behind request.session and tag.state, stored only when it changes,
written before a click's answer leaves, and kept pending when the store fails."""

import asyncio
import pickle

import pytest

from htag_sse import DiskStore, MemoryStore, StoreError
from htag_sse.errors import RequestError
from htag_sse.session import Session, Sessions


@pytest.fixture(params=["memory", "disk"])
def store(request, tmp_path):
    return MemoryStore() if request.param == "memory" else DiskStore(tmp_path / "s")


def sessions_of(store, **options):
    return Sessions(store, **{"max_age_s": 60, "new_per_minute": 1000, **options})


async def new_session(sessions, **values):
    s = await sessions.resolve(None)
    await sessions.ensure(s)
    s.update(values)
    sessions.save(s)
    await sessions.settle(s)
    return s


class CountingStore(MemoryStore):
    def __init__(self):
        super().__init__()
        self.batches = []
        self.fail = None

    async def save(self, writes, ttl_s, fence=None):
        if self.fail:
            raise StoreError(self.fail)
        self.batches.append(sorted(w.key for w in writes))
        return await super().save(writes, ttl_s, fence)


async def test_an_unknown_cookie_is_never_adopted(store):
    sessions = sessions_of(store)
    s = await sessions.resolve("attacker-chosen-id")
    assert s.sid is None
    await sessions.ensure(s)
    assert s.sid != "attacker-chosen-id" and len(s.sid) >= 32


async def test_values_written_are_read_back_by_another_workers_view(store):
    s = await new_session(sessions_of(store), user={"name": "ann"})
    assert (await sessions_of(store).resolve(s.sid))["user"] == {"name": "ann"}


async def test_an_unchanged_session_is_not_rewritten():
    store = CountingStore()
    sessions = sessions_of(store)
    s = await new_session(sessions, n=1)
    writes = len(store.batches)
    _ = s["n"]
    sessions.save(s)
    await sessions.settle(s)
    assert len(store.batches) == writes


async def test_nested_mutations_and_deletions_are_saved(store):
    sessions = sessions_of(store)
    s = await new_session(sessions, items=[1], gone=1)
    s["items"].append(2)
    del s["gone"]
    sessions.save(s)
    await sessions.settle(s)
    assert dict(await sessions_of(store).resolve(s.sid)) == {"items": [1, 2]}


async def test_workers_writing_different_keys_do_not_lose_each_others_writes(tmp_path):
    store = DiskStore(tmp_path / "s")  # shared by processes (a MemoryStore is one process's own)
    w1, w2 = sessions_of(store), sessions_of(store)
    s1 = await new_session(w1)
    s2 = await w2.resolve(s1.sid)
    s1["a"] = 1
    s2["b"] = 2
    w1.save(s1)
    w2.save(s2)
    await asyncio.gather(w1.settle(s1), w2.settle(s2))
    assert dict(await w1.resolve(s1.sid)) == {"a": 1, "b": 2}
    assert dict(await w2.resolve(s1.sid)) == {"a": 1, "b": 2}


async def test_saving_keeps_the_callers_objects(store):
    cart = []
    s = await new_session(sessions_of(store), cart=cart)
    assert s["cart"] is cart


async def test_an_unpicklable_value_stays_in_memory_and_the_rest_is_saved(store, caplog):
    s = await new_session(sessions_of(store), fn=lambda: 1, ok=1)
    assert "cannot be stored" in caplog.text
    assert dict(await sessions_of(store).resolve(s.sid)) == {"ok": 1}


async def test_a_stored_value_that_no_longer_unpickles_is_dropped_not_a_500(store, caplog):
    s = await new_session(sessions_of(store), ok=1)
    from htag_sse.stores import MapWrite

    await store.save([MapWrite("s:" + s.sid, {"bad": b"not a pickle"})], 60)
    again = await sessions_of(store).resolve(s.sid)
    assert dict(again) == {"ok": 1} and "can no longer be read" in caplog.text


async def test_rotation_gives_a_new_id_keeps_the_data_and_leads_from_the_old_id(store):
    sessions = sessions_of(store)
    s = await new_session(sessions, user="ann")
    old = s.sid
    new = await sessions.rotate(s)
    assert new != old and s.sid == new and s.cookie_due
    assert (await sessions_of(store).resolve(old)).sid is None  # the old id is dead
    assert (await sessions_of(store).resolve(new))["user"] == "ann"
    assert await sessions.rotated_to(old) == new


async def test_sessions_expire():
    store = MemoryStore()
    sessions = sessions_of(store, max_age_s=0.05)
    sid = (await new_session(sessions)).sid
    deadline = asyncio.get_running_loop().time() + 5
    while (await sessions_of(store, max_age_s=0.05).resolve(sid)).sid is not None:
        assert asyncio.get_running_loop().time() < deadline, "the session never expired"
        await asyncio.sleep(0.02)


async def test_saves_within_one_turn_of_the_loop_are_one_store_call():
    store = CountingStore()
    sessions = sessions_of(store)
    users = [await new_session(sessions) for _ in range(5)]
    before = len(store.batches)
    for n, s in enumerate(users):
        s["n"] = n
        sessions.save(s)
    users[0]["n"] = 10  # saved twice before the flush: written once, last value
    sessions.save(users[0])
    await asyncio.gather(*(sessions.settle(s) for s in users))
    assert len(store.batches) == before + 1 and len(store.batches[-1]) == 5
    _, fields = await store.load("s:" + users[0].sid)
    assert pickle.loads(fields["n"]) == 10


async def test_a_failed_write_stays_pending_is_retried_and_meanwhile_settle_raises():
    store = CountingStore()
    sessions = sessions_of(store)
    s = await new_session(sessions, n=1)
    store.fail = "disk full"
    s["n"] = 2
    sessions.save(s)
    with pytest.raises(StoreError):
        await sessions.settle(s)
    assert sessions.failing is not None
    store.fail = None
    await sessions.settle(s)  # tried again: now written
    assert sessions.failing is None
    assert (await sessions_of(store).resolve(s.sid))["n"] == 2


async def test_new_sessions_are_limited_per_client_network():
    sessions = sessions_of(MemoryStore(), new_per_minute=2)
    for address in ("2001:db8::1", "2001:db8::2"):
        await sessions.ensure(await sessions.resolve(None, address))
    with pytest.raises(RequestError) as e:  # the same /64
        await sessions.ensure(await sessions.resolve(None, "2001:db8::3"))
    assert e.value.status == 429
    await sessions.ensure(await sessions.resolve(None, "2001:db8:0:1::1"))  # another /64


async def test_a_pending_save_is_not_undone_by_a_read_of_the_store(tmp_path):
    store = DiskStore(tmp_path / "s")
    sessions = sessions_of(store)  # shared and not alone: a resolve asks the store
    s = await new_session(sessions, n=1)
    s["n"] = 2
    sessions.save(s)
    assert (await sessions.resolve(s.sid))["n"] == 2  # not yet written: the live copy wins
    await sessions.settle(s)
    assert (await sessions_of(store).resolve(s.sid))["n"] == 2
    assert isinstance(s, Session)


async def test_a_request_settling_a_session_whose_write_failed_retries_it_even_if_it_changed_nothing():
    store = CountingStore()
    sessions = sessions_of(store)
    s = await new_session(sessions, n=1)
    store.fail = "disk full"
    s["n"] = 2
    sessions.save(s)
    with pytest.raises(StoreError):
        await sessions.settle(s)
    other_view = Session(s.sid)  # another request's object for the same session, which changed nothing
    store.fail = None
    await sessions.settle(other_view)  # not an error: the pending write is tried again, and lands
    assert sessions.failing is None and (await sessions_of(store).resolve(s.sid))["n"] == 2


async def test_a_write_failing_while_the_worker_loses_its_lease_is_dropped_not_retried_under_the_new_one():
    """A write already on its way when the lease is lost (a paused worker resuming) and refused by the
    fence must not be queued again: retried under the worker's next lease it would overwrite what the
    worker that took the page over wrote since."""
    store = CountingStore()
    sessions = sessions_of(store)
    s = await new_session(sessions, count=2)
    started, gate = asyncio.Event(), asyncio.Event()

    async def refused_after_the_pause(writes, ttl_s, fence=None):
        started.set()
        await gate.wait()
        raise StoreError("the lease (fence) has passed")

    store.save = refused_after_the_pause
    s["count"] = 3
    sessions.save(s)
    settling = asyncio.ensure_future(sessions.settle(s))
    await started.wait()  # the write is on its way
    sessions.forget()  # the lease is lost meanwhile
    gate.set()
    with pytest.raises(StoreError):
        await settling
    del store.save  # the store takes writes again (the worker's new lease)
    assert sessions.failing is None  # health does not report writes that were dropped
    other = sessions_of(store)  # the worker that took the page over
    t = await other.resolve(s.sid)
    t["count"] = 4
    other.save(t)
    await other.settle(t)
    written = len(store.batches)
    await sessions.flush()  # nothing of the old lease is left to write
    await sessions.settle(s)
    assert len(store.batches) == written
    assert (await sessions_of(store).resolve(s.sid))["count"] == 4


class HeldStore(MemoryStore):
    """A store whose writes wait until the test lets them through; notes which task wrote."""

    def __init__(self):
        super().__init__()
        self.hold = False
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.writers = []

    async def save(self, writes, ttl_s, fence=None):
        self.writers.append(asyncio.current_task())
        if self.hold:
            self.entered.set()
            await self.release.wait()
        return await super().save(writes, ttl_s, fence)


async def stored_n(store, session):
    _, fields = await store.load("s:" + session.sid)
    return pickle.loads(fields["n"]) if "n" in fields else None


def click(sessions, session, n):
    """What a click does to its session: change it, save, and settle before answering."""

    async def run():
        session["n"] = n
        sessions.save(session)
        await sessions.settle(session)

    return asyncio.create_task(run())


async def test_a_requests_session_write_is_made_in_its_own_task_a_few_turns_later():
    store = HeldStore()
    sessions = sessions_of(store)
    a, b = await new_session(sessions), await new_session(sessions)
    store.writers.clear()
    first, second = click(sessions, a, 1), click(sessions, b, 2)  # in the same turn of the loop: one store call
    await asyncio.gather(first, second)
    assert store.writers == [first]
    assert (await stored_n(store, a), await stored_n(store, b)) == (1, 2)


async def test_a_request_cancelled_while_it_writes_loses_nothing_acknowledged():
    store = HeldStore()
    sessions = sessions_of(store)
    a, b = await new_session(sessions), await new_session(sessions)
    store.hold = True
    gone, answered = click(sessions, a, 1), click(sessions, b, 2)  # a's client leaves while a writes both
    await store.entered.wait()
    assert store.writers[-1] is gone
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    await asyncio.sleep(0.01)
    assert not answered.done()  # b's answer waits: its write was not made
    store.release.set()
    await asyncio.wait_for(answered, 5)  # made again, by a task of its own
    assert store.writers[-1] not in (gone, answered)
    assert (await stored_n(store, a), await stored_n(store, b)) == (1, 2)
    assert not sessions.writes._pending and sessions.failing is None


async def test_a_request_cancelled_before_its_write_starts_leaves_it_to_a_task():
    store = HeldStore()
    sessions = sessions_of(store)
    a = await new_session(sessions)
    gone = click(sessions, a, 3)
    await asyncio.sleep(0)  # it saved, and waits its turn of the loop to write
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    for _ in range(20):
        await asyncio.sleep(0)
    assert await stored_n(store, a) == 3 and not sessions.writes._pending
