"""Workers know who else is alive (leases), and whether they are alone."""

from htag_sse import MemoryStore
from htag_sse.workers import Workers


def test_a_worker_knows_when_it_is_alone():
    store = MemoryStore()
    first, second = Workers(store, None), Workers(store, None)
    first._renew()
    assert first.alone
    second._renew()
    assert not second.alone
    first._renew()
    assert not first.alone  # learnt at its next renewal
    assert second.contact(first.me) == {"pid": first._pid} and first.contact(second.me) is not None
    second.stop()
    first._renew()
    assert first.alone
    assert first.contact("nobody") is None


def test_page_ids_name_their_owner():
    w = Workers(MemoryStore(), None)
    assert Workers.owner_of(f"{w.me}.abcdef") == w.me
