"""The loopback bus delivers messages between the workers of a host, and only theirs; its secret
lives outside the store, and a reader caps what it accepts."""

import asyncio
import os
import stat

import pytest

from harness.processes import eventually, free_port
from htag_sse.bus import LoopbackBus, bus_secret
from htag_sse.relay import Message, decode, encode

SECRET = b"s" * 32


async def pair(make):
    a, b = make(), make()
    got = {"a": [], "b": []}
    contact_a = await a.open("a", got["a"].append)
    contact_b = await b.open("b", got["b"].append)
    return a, b, contact_a, contact_b, got


async def test_loopback_messages_go_both_ways_in_order():
    a, b, contact_a, contact_b, got = await pair(lambda: LoopbackBus(SECRET, max_frame=1 << 20))
    for i in range(50):
        await a.send("b", contact_b, f"hello {i}".encode())
    await b.send("a", contact_a, b"back")
    await eventually(lambda: len(got["b"]) == 50 and got["a"], 2, "delivery")
    assert got["b"] == [f"hello {i}".encode() for i in range(50)] and got["a"] == [b"back"]
    await a.close(), await b.close()


async def test_loopback_refuses_messages_not_signed_with_its_secret_and_oversized_frames():
    a, b, _, contact_b, got = await pair(lambda: LoopbackBus(SECRET, max_frame=1000))
    intruder = LoopbackBus(b"x" * 32, max_frame=1000)  # another secret
    await intruder.open("x", lambda m: None)
    await intruder.send("b", contact_b, b"forged")
    for junk in ((6).to_bytes(4, "big") + b"\0" * 32 + b"forged", (30 << 20).to_bytes(4, "big") + b"x" * 28):
        reader, writer = await asyncio.open_connection("127.0.0.1", contact_b["port"])
        nonce = await asyncio.wait_for(reader.readexactly(16), 2)  # the reader asks for proof first
        assert len(nonce) == 16
        writer.write(junk)  # not a proof: cut off at once, before any frame is read
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 2) == b""
        writer.close()
    with pytest.raises(ValueError, match="limit"):
        await a.send("b", contact_b, b"x" * 2000)
    await a.send("b", contact_b, b"genuine")
    await eventually(lambda: got["b"], 2, "delivery")
    assert got["b"] == [b"genuine"]
    await a.close(), await b.close(), await intruder.close()


async def test_sending_to_a_worker_that_is_gone_raises():
    bus = LoopbackBus(SECRET, max_frame=1000)
    await bus.open("a", lambda m: None)
    with pytest.raises(ConnectionError):
        await bus.send("dead", {"port": free_port()}, b"anyone?")
    await bus.close()


def test_the_secret_is_a_private_file_beside_the_store_or_derived_from_configuration(tmp_path):
    first = bus_secret(None, tmp_path)
    assert bus_secret(None, tmp_path) == first and len(first) == 32
    assert stat.S_IMODE(os.stat(tmp_path / "bus.secret").st_mode) == 0o600
    assert bus_secret(b"configured-secret-value", tmp_path) not in (first, b"configured-secret-value")


def test_messages_between_workers_are_data_not_pickles():
    raw = encode(Message("interact", 1, "w1", 5.0, {"body": b"\x00\xff", "seq": 3}))
    assert b"pickle" not in raw and raw.startswith(b"{")
    assert decode(raw) == Message("interact", 1, "w1", 5.0, {"body": b"\x00\xff", "seq": 3})
    with pytest.raises(ValueError):
        decode(b"\x80\x04K\x01.")  # a pickle is not accepted
