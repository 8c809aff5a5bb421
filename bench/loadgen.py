"""A minimal, fast asyncio HTTP/1.1 client for the benchmarks.

One :class:`Connection` per virtual user, kept alive, one request at a time.
Requests are prebuilt bytes (:func:`request`; :class:`Numbered` for clicks, which count
``X-Htag-Seq`` up as the browser does), so a loop of clicks costs one ``write`` and one
parse per round trip. Bodies: Content-Length or chunked;
:meth:`Connection.stream` reads an endless (SSE) response chunk by chunk.
A ``Connection: close`` answer (hypercorn sends one every 1000 requests) makes
the next request reconnect, as a browser would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

#: Large enough for any response head or chunk line of the benchmarks.
READ_LIMIT = 1 << 20


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes


class Numbered:
    """A request sent again and again with ``X-Htag-Seq: <n>`` counting up, as the browser client
    numbers a page's interactions: calling it gives the next request's bytes."""

    __slots__ = ("head", "n", "tail")

    def __init__(self, method: str, path: str, host: str, headers: Mapping[str, str], body: bytes, first: int = 1) -> None:
        raw = request(method, path, host, {**headers, "X-Htag-Seq": "\x00"}, body)
        self.head, _, self.tail = raw.partition(b"\x00")
        self.n = first - 1

    def __call__(self) -> bytes:
        self.n += 1
        return self.head + str(self.n).encode() + self.tail


def request(method: str, path: str, host: str, headers: Mapping[str, str] | None = None, body: bytes = b"") -> bytes:
    """The raw bytes of one request (a body always gets its Content-Length)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    def __init__(self, host: str, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.host = host
        self.port = port
        self.reader = reader
        self.writer = writer
        self.closing = False  # the server said it closes this connection

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=READ_LIMIT)
        return cls(host, port, reader, writer)

    async def send(self, raw: bytes | Numbered) -> Response:
        """Send a prebuilt request (a :class:`Numbered` one gets its next number); read its whole response."""
        await self._write(raw if isinstance(raw, bytes) else raw())
        status, headers = await self._head()
        self.closing = headers.get("connection", "").lower() == "close"
        if status in (204, 304) or 100 <= status < 200:  # never a body, nor a Content-Length
            body = b""
        elif "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b"".join([chunk async for chunk in self._chunks()])
        else:  # delimited by the end of the connection
            body = await self.reader.read()
            self.closing = True
        return Response(status, headers, body)

    async def stream(self, raw: bytes) -> tuple[int, AsyncIterator[bytes]]:
        """Send a request whose answer is chunked and endless: its status and its chunks."""
        await self._write(raw)
        status, headers = await self._head()
        if headers.get("transfer-encoding", "").lower() != "chunked":
            raise ValueError(f"expected a chunked stream, got status {status} headers {headers}")
        return status, self._chunks()

    def close(self) -> None:
        self.writer.close()

    async def _write(self, raw: bytes) -> None:
        if self.closing:
            self.writer.close()
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=READ_LIMIT)
            self.closing = False
        self.writer.write(raw)

    async def _head(self) -> tuple[int, dict[str, str]]:
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:-2]:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
        return int(lines[0].split(" ", 2)[1]), headers

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                while await self.reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                return
            yield (await self.reader.readexactly(size + 2))[:-2]


async def sse_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[str, str]]:
    """(event name, data) for each event of an SSE stream; comments are skipped."""
    buffer = b""
    async for chunk in chunks:
        buffer = (buffer + chunk).replace(b"\r\n", b"\n")  # any of the three line ends SSE allows
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            name, data = "message", []
            for line in block.decode().split("\n"):
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "event":
                    name = value
                elif field == "data":
                    data.append(value)
            if data:
                yield name, "\n".join(data)
