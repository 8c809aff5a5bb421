"""Calls between workers: answered by the owner's handler, refusals travel back as refusals, a dead
owner is a 410 and a slow one a 504 — nothing waits for ever."""

import pytest

from htag_sse import MemoryStore
from htag_sse.bus import LoopbackBus
from htag_sse.errors import RequestError
from htag_sse.relay import Message, Relay, encode
from htag_sse.workers import Workers


async def pair(handlers):
    store = MemoryStore()
    secret = b"k" * 32
    wa = Workers(store, LoopbackBus(secret, max_frame=1 << 20), lease_s=3)
    wb = Workers(store, LoopbackBus(secret, max_frame=1 << 20), lease_s=3)
    a, b = Relay(wa, {}), Relay(wb, handlers)
    await wa.start(a.deliver)
    await wb.start(b.deliver)
    await wa._look_around()  # both know they have company: inboxes open
    await wb._look_around()
    return a, b


async def test_a_call_is_answered_by_the_owners_handler_with_bytes_intact():
    async def echo(call):
        return {"body": call["body"][::-1], "n": call["n"] + 1}

    a, b = await pair({"echo": echo})
    answer = await a.call(b.workers.me, "echo", {"body": b"\x00\x01\xff", "n": 1}, 5)
    assert answer == {"body": b"\xff\x01\x00", "n": 2}
    await a.workers.stop(), await b.workers.stop()


async def test_a_refusal_travels_back_as_itself_and_a_crash_as_a_generic_500():
    async def refuse(call):
        raise RequestError(403, "foreign_page", "this page belongs to another session")

    async def crash(call):
        raise KeyError("secret detail")

    a, b = await pair({"refuse": refuse, "crash": crash})
    with pytest.raises(RequestError) as e:
        await a.call(b.workers.me, "refuse", {}, 5)
    assert (e.value.status, e.value.code) == (403, "foreign_page")
    with pytest.raises(RequestError) as e:
        await a.call(b.workers.me, "crash", {}, 5)
    assert e.value.status == 500 and "secret detail" not in e.value.message
    await a.workers.stop(), await b.workers.stop()


async def test_a_dead_owner_is_410_and_a_slow_one_504():
    import asyncio

    async def slow(call):
        await asyncio.sleep(30)
        return {}

    a, b = await pair({"slow": slow})
    with pytest.raises(RequestError) as e:
        await a.call(b.workers.me, "slow", {}, 0.3)
    assert e.value.status == 504
    dead = b.workers.me
    await b.workers.stop()
    a.workers._known = (0.0, {})  # forget what was known of the others
    with pytest.raises(RequestError) as e:
        await a.call(dead, "slow", {}, 5)
    assert e.value.status == 410
    await a.workers.stop()


async def test_a_call_without_a_time_limit_is_dropped_unanswered(caplog):
    caplog.set_level("INFO", logger="htag_sse")
    ran = []

    async def note(call):
        ran.append(call)
        return {}

    a, b = await pair({"note": note})
    b.deliver(encode(Message("note", 1, a.workers.me)))
    b.deliver(b"\x80\x04 not json")
    assert not ran and "without a time limit" in caplog.text and "unreadable" in caplog.text
    await a.workers.stop(), await b.workers.stop()


class Lossy:
    """A bus that loses the first copy of every message it carries (as pub/sub may, while a
    subscriber reconnects)."""

    direct = True

    def __init__(self) -> None:
        self.inboxes: dict[str, object] = {}
        self.seen: set[bytes] = set()

    async def open(self, me, deliver):
        self.inboxes[me] = deliver
        return {}

    async def send(self, to, contact, message):
        if message not in self.seen:
            self.seen.add(message)
            return  # lost on the way
        deliver = self.inboxes.get(to)
        if deliver is None:
            raise ConnectionError(f"nobody listens for {to}")
        deliver(message)

    async def close(self):
        return None


async def test_a_lost_call_or_answer_is_sent_again_and_the_call_runs_once():
    """The first copy of every message is lost: each call is sent again until answered; the owner runs
    it once and answers its copies with the same answer."""
    store, bus = MemoryStore(), Lossy()
    runs: list[int] = []

    async def count(call):
        runs.append(call["n"])
        return {"n": call["n"]}

    wa, wb = Workers(store, bus, lease_s=3), Workers(store, bus, lease_s=3)
    a, b = Relay(wa, {}), Relay(wb, {"count": count})
    await wa.start(a.deliver)
    await wb.start(b.deliver)
    answers = [await a.call(wb.me, "count", {"n": n}, 10) for n in range(6)]
    assert answers == [{"n": n} for n in range(6)] and sorted(runs) == list(range(6))  # each run once
    await wa.stop(), await wb.stop()
