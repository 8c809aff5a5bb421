"""One stream's slow client never delays another's heartbeat; a client that takes no data is closed."""

import asyncio

from harness.processes import eventually
from htag_sse import sse as stream_module
from htag_sse.sse import EventStream, Heartbeats, Shutdown
from htag_sse.wire import HEARTBEAT


class Client:
    """An ASGI client of a stream; ``stuck`` never takes a chunk after the first (a full socket buffer)."""

    def __init__(self, stuck=False):
        self.stuck = stuck
        self.chunks: list[bytes] = []
        self.gone = asyncio.Event()
        self.blocked = asyncio.Event()

    async def send(self, message):
        if message["type"] == "http.response.body" and message.get("body"):
            if self.stuck and self.chunks:
                self.blocked.set()
                await asyncio.Event().wait()  # never returns
            self.chunks.append(message["body"])

    async def receive(self):
        await self.gone.wait()
        return {"type": "http.disconnect"}


async def endless(stream):
    yield b"hello"
    while not stream.over:
        stream.wake.clear()
        await stream.wake.wait()


async def test_a_stuck_client_is_closed_and_never_delays_the_heartbeats_of_others(monkeypatch):
    monkeypatch.setattr(stream_module, "TICK_S", 0.02)
    monkeypatch.setattr(stream_module, "SEND_TIMEOUT_S", 0.3)
    beats = Heartbeats(0.04, Shutdown())
    scope = {"type": "http", "method": "GET"}
    stuck = Client(stuck=True)
    healthy = [Client() for _ in range(20)]
    stuck_stream = EventStream(endless, beats)
    streams = [EventStream(endless, beats) for _ in healthy]
    tasks = [asyncio.ensure_future(stuck_stream(scope, stuck.receive, stuck.send))]
    tasks += [asyncio.ensure_future(s(scope, c.receive, c.send)) for s, c in zip(streams, healthy)]
    await asyncio.wait_for(stuck.blocked.wait(), 2)  # its first heartbeat blocks for good
    counts = [c.chunks.count(HEARTBEAT) for c in healthy]
    # meanwhile every healthy stream keeps getting heartbeats, sooner than the stuck one's send times out
    await eventually(lambda: all(c.chunks.count(HEARTBEAT) >= n + 2 for c, n in zip(healthy, counts)), 0.25,
                     "heartbeats of the healthy streams")  # fmt: skip
    await asyncio.wait_for(tasks[0], 2)  # the stuck one is closed after the send timeout
    assert stuck_stream.gone
    for c in healthy:
        c.gone.set()
    await asyncio.wait_for(asyncio.gather(*tasks[1:]), 2)


async def test_the_shutdown_signal_ends_every_stream_and_streams_end_at_their_age_limit():
    shutdown = Shutdown()
    beats = Heartbeats(25, shutdown, max_stream_s=0.2)
    client = Client()
    aged = EventStream(endless, beats)
    task = asyncio.ensure_future(aged({"type": "http", "method": "GET"}, client.receive, client.send))
    await asyncio.wait_for(task, 2)  # ended cleanly by max_stream_s: the client reconnects
    assert aged.ending and not aged.gone
    other = Client()
    s = EventStream(endless, Heartbeats(25, shutdown))
    task = asyncio.ensure_future(s({"type": "http", "method": "GET"}, other.receive, other.send))
    await asyncio.sleep(0)
    shutdown.begin()
    await asyncio.wait_for(task, 2)
    assert s.ending
