"""The two embedded buses deliver messages between workers, and only theirs."""

import asyncio

import pytest

from htag_sse import DiskStore, MemoryStore
from htag_sse.bus import DiskBus, LoopbackBus

from ..conftest import eventually, free_port


async def pair(make):
    a, b = make(), make()
    got = {"a": [], "b": []}
    contact_a = await a.open("a", got["a"].append)
    contact_b = await b.open("b", got["b"].append)
    return a, b, contact_a, contact_b, got


async def test_loopback_messages_go_both_ways_in_order():
    store = MemoryStore()
    a, b, contact_a, contact_b, got = await pair(lambda: LoopbackBus(store))
    for i in range(50):
        await a.send("b", contact_b, f"hello {i}".encode())
    await b.send("a", contact_a, b"back")
    await eventually(lambda: len(got["b"]) == 50 and got["a"], 2, "delivery")
    assert got["b"] == [f"hello {i}".encode() for i in range(50)] and got["a"] == [b"back"]
    a.close(), b.close()


async def test_loopback_refuses_messages_not_signed_with_the_stores_secret():
    store = MemoryStore()
    a, b, _, contact_b, got = await pair(lambda: LoopbackBus(store))
    intruder = LoopbackBus(MemoryStore())  # another store: another secret
    await intruder.open("x", lambda m: None)
    await intruder.send("b", contact_b, b"forged")
    reader, writer = await asyncio.open_connection("127.0.0.1", contact_b["port"])
    writer.write((6).to_bytes(4, "big") + b"\0" * 32 + b"forged")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 2) == b""  # the connection is closed on us
    await a.send("b", contact_b, b"genuine")
    await eventually(lambda: got["b"], 2, "delivery")
    assert got["b"] == [b"genuine"]
    a.close(), b.close(), intruder.close()


async def test_sending_to_a_worker_that_is_gone_raises():
    bus = LoopbackBus(MemoryStore())
    await bus.open("a", lambda m: None)
    with pytest.raises(ConnectionError):
        await bus.send("dead", {"port": free_port()}, b"anyone?")
    bus.close()


async def test_disk_bus_delivers_by_doorbell_and_by_its_safety_poll(tmp_path):
    a, b, contact_a, contact_b, got = await pair(lambda: DiskBus(tmp_path / "bus"))
    await a.send("b", contact_b, b"rung")
    await eventually(lambda: got["b"], 0.5, "delivery by the doorbell")
    await a.send("b", {"port": free_port()}, b"no doorbell")  # a lost datagram
    await eventually(lambda: len(got["b"]) == 2, 3, "delivery by the safety poll")
    assert got["b"] == [b"rung", b"no doorbell"]
    a.close(), b.close()
    assert DiskStore(tmp_path / "other")  # the bus lives beside, not inside, a store
