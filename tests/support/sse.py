"""Read an endless SSE response from an ASGI app in-process, under a deadline
(httpx's ASGITransport and Starlette's TestClient buffer whole bodies)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Event:
    event: str = "message"
    id: str | None = None
    data: str = ""
    retry: int | None = None


@dataclass
class Stream:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytearray = field(default_factory=bytearray)
    events: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    _buffer: str = ""

    async def next(self, timeout_s: float = 5.0) -> Event:
        return await asyncio.wait_for(self.events.get(), timeout_s)

    async def next_data(self, timeout_s: float = 5.0) -> Event:
        """The next event that is not ``hello``."""
        while True:
            ev = await self.next(timeout_s)
            if ev.event != "hello":
                return ev

    def feed(self, chunk: bytes) -> None:
        self.raw += chunk
        self._buffer += chunk.decode().replace("\r\n", "\n")  # sse-starlette ends lines with CRLF
        while "\n\n" in self._buffer:
            block, self._buffer = self._buffer.split("\n\n", 1)
            ev, fields = Event(), False
            for line in block.split("\n"):
                if line.startswith(":") or not line:
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                fields = True
                if name == "data":
                    ev.data = value if not ev.data else ev.data + "\n" + value
                elif name == "id":
                    ev.id = value
                elif name == "event":
                    ev.event = value
                elif name == "retry":
                    ev.retry = int(value)
            if fields:
                self.events.put_nowait(ev)


@asynccontextmanager
async def open_stream(app: Any, path: str, *, cookie: str = "", headers: dict[str, str] | None = None,
                      http_version: str = "1.1") -> AsyncIterator[Stream]:  # fmt: skip
    raw_path, _, query = path.partition("?")
    hdrs = [(b"host", b"testserver")]
    if cookie:
        hdrs.append((b"cookie", cookie.encode()))
    hdrs += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": http_version, "method": "GET",
        "scheme": "http", "path": raw_path, "raw_path": raw_path.encode(), "query_string": query.encode(),
        "root_path": "", "headers": hdrs, "client": ("127.0.0.1", 1234), "server": ("testserver", 80),
    }  # fmt: skip
    stream = Stream()
    disconnect = asyncio.Event()
    sent_request = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            stream.status = message["status"]
            stream.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            stream.feed(message.get("body", b""))
            if not message.get("more_body", False):
                stream.ended.set()

    task = asyncio.ensure_future(app(scope, receive, send))
    try:
        yield stream
    finally:
        disconnect.set()
        try:
            await asyncio.wait_for(task, 5)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
