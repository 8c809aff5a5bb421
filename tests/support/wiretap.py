"""A TCP relay that records every byte between the browser and the server,
like a proxy logging traffic would see it (plain HTTP)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from harness.processes import free_port


class Wiretap:
    def __init__(self) -> None:
        self.up = bytearray()  # browser -> server
        self.down = bytearray()  # server -> browser

    def requests(self, marker: bytes) -> list[tuple[bytes, bytes]]:
        """(head, body) of the recorded requests whose head contains ``marker``."""
        found = []
        for chunk in bytes(self.up).split(b"POST ")[1:]:
            head, _, rest = chunk.partition(b"\r\n\r\n")
            if marker in head:
                length = int(next(h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")))
                found.append((b"POST " + head, rest[:length]))
        return found


@contextmanager
def wiretap(upstream_port: int) -> Iterator[tuple[int, Wiretap]]:
    """Relay 127.0.0.1:<port> to ``upstream_port``; yields the port and the recording."""
    port, tap = free_port(), Wiretap()
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: bytearray) -> None:
        try:
            while data := await reader.read(65536):
                record += data
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", upstream_port)
        await asyncio.gather(pipe(client_r, server_w, tap.up), pipe(server_r, client_w, tap.down),
                             return_exceptions=True)

    stop = asyncio.Event()

    async def main() -> None:
        server = await asyncio.start_server(relay, "127.0.0.1", port)
        ready.set()
        await stop.wait()
        server.close()
        relays = asyncio.all_tasks() - {asyncio.current_task()}
        for task in relays:
            task.cancel()
        await asyncio.gather(*relays, return_exceptions=True)

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    ready.wait(5)
    try:
        yield port, tap
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)
        loop.close()
