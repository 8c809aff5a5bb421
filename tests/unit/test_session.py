"""Sessions: one mapping for request.session and tag.state, stored only when it changes."""

import pickle

import pytest

from htag_sse import DiskStore, MemoryStore
from htag_sse.session import Session, Sessions


@pytest.fixture(params=["memory", "disk"])
def store(request, tmp_path):
    return MemoryStore() if request.param == "memory" else DiskStore(tmp_path / "s")


class CountingStore(MemoryStore):
    def __init__(self):
        super().__init__()
        self.writes = 0

    def update(self, key, fn, ttl_s=None):
        self.writes += 1
        return super().update(key, fn, ttl_s)


def test_an_unknown_cookie_is_never_adopted(store):
    sessions = Sessions(store, max_age_s=60)
    s = sessions.resolve("attacker-chosen-id")
    assert s.sid is None
    sessions.ensure(s)
    assert s.sid != "attacker-chosen-id" and len(s.sid) >= 32


def test_values_written_are_read_back_by_another_process_view(store):
    a = Sessions(store, max_age_s=60)
    s = a.resolve(None)
    s["user"] = {"name": "ann"}
    assert a.save(s)
    b = Sessions(store, max_age_s=60)  # another worker, same store
    assert b.resolve(s.sid)["user"] == {"name": "ann"}


def test_an_unchanged_session_is_not_rewritten():
    store = CountingStore()
    sessions = Sessions(store, max_age_s=60)
    s = sessions.resolve(None)
    s["n"] = 1
    sessions.save(s)
    writes = store.writes
    _ = s["n"]
    assert not sessions.save(s)
    assert store.writes == writes


def test_nested_mutations_are_saved(store):
    sessions = Sessions(store, max_age_s=60)
    s = sessions.resolve(None)
    s["items"] = [1]
    sessions.save(s)
    s["items"].append(2)
    assert sessions.save(s)
    assert Sessions(store, max_age_s=60).resolve(s.sid)["items"] == [1, 2]


def test_workers_writing_different_keys_do_not_lose_each_others_writes(tmp_path):
    store = DiskStore(tmp_path / "s")  # shared by processes (a MemoryStore is one process's own)
    w1, w2 = Sessions(store, max_age_s=60), Sessions(store, max_age_s=60)
    s1 = w1.resolve(None)
    w1.ensure(s1)
    s2 = w2.resolve(s1.sid)
    s1["a"] = 1
    s2["b"] = 2
    w1.save(s1)
    w2.save(s2)
    assert dict(w1.resolve(s1.sid)) == {"a": 1, "b": 2}
    assert dict(w2.resolve(s1.sid)) == {"a": 1, "b": 2}


def test_deleting_a_key_is_saved(store):
    sessions = Sessions(store, max_age_s=60)
    s = sessions.resolve(None)
    s["a"], s["b"] = 1, 2
    sessions.save(s)
    del s["a"]
    sessions.save(s)
    assert dict(Sessions(store, max_age_s=60).resolve(s.sid)) == {"b": 2}


def test_saving_keeps_the_callers_objects(store):
    sessions = Sessions(store, max_age_s=60)
    s = sessions.resolve(None)
    cart = []
    s["cart"] = cart
    sessions.save(s)
    assert s["cart"] is cart


def test_an_unpicklable_value_stays_in_memory_and_the_rest_is_saved(store, caplog):
    sessions = Sessions(store, max_age_s=60)
    s = sessions.resolve(None)
    s["fn"] = lambda: 1
    s["ok"] = 1
    sessions.save(s)
    assert "cannot be stored" in caplog.text
    assert dict(Sessions(store, max_age_s=60).resolve(s.sid)) == {"ok": 1}


def test_rotation_gives_a_new_id_and_keeps_the_data(store):
    sessions = Sessions(store, max_age_s=60)
    s = sessions.resolve(None)
    s["user"] = "ann"
    sessions.save(s)
    old = s.sid
    new = sessions.rotate(s)
    assert new != old and s.sid == new and s.cookie_due
    assert Sessions(store, max_age_s=60).resolve(old).sid is None  # the old id is dead
    assert Sessions(store, max_age_s=60).resolve(new)["user"] == "ann"


def test_sessions_expire(store):
    sessions = Sessions(MemoryStore(), max_age_s=0.01)
    s = sessions.resolve(None)
    sessions.ensure(s)
    sid = s.sid
    del s
    import time

    time.sleep(0.02)  # the expiry itself is under test
    assert sessions.resolve(sid).sid is None


def test_stored_format_is_per_key_pickles(store):
    sessions = Sessions(store, max_age_s=60)
    s = sessions.resolve(None)
    s["k"] = (1, 2)
    sessions.save(s)
    raw = pickle.loads(store.get("s:" + s.sid))
    assert pickle.loads(raw["k"]) == (1, 2)
    assert isinstance(s, Session)


class BatchCountingStore(MemoryStore):
    def __init__(self):
        super().__init__()
        self.batches = []

    def update_many(self, updates, ttl_s=None):
        self.batches.append(sorted(updates))
        return super().update_many(updates, ttl_s)


async def test_saves_within_one_turn_of_the_loop_are_one_transaction():
    import asyncio

    store = BatchCountingStore()
    sessions = Sessions(store, max_age_s=60)
    users = [sessions.resolve(None) for _ in range(5)]
    for n, s in enumerate(users):
        s["n"] = n
        sessions.save(s, soon=True)
    users[0]["n"] = 10  # saved twice before the flush: written once, last value
    sessions.save(users[0], soon=True)
    assert store.batches == []
    await asyncio.sleep(0)
    assert len(store.batches) == 1 and len(store.batches[0]) == 5
    assert pickle.loads(pickle.loads(store.get("s:" + users[0].sid))["n"]) == 10


async def test_a_pending_save_is_not_undone_by_a_read_of_the_store(tmp_path):
    store = DiskStore(tmp_path / "s")
    sessions = Sessions(store, max_age_s=60)  # shared and not alone: every resolve reads the store
    s = sessions.resolve(None)
    s["n"] = 1
    sessions.save(s)
    s["n"] = 2
    sessions.save(s, soon=True)
    assert sessions.resolve(s.sid)["n"] == 2  # the pending write went first
    assert Sessions(store, max_age_s=60).resolve(s.sid)["n"] == 2
