"""Tools to attack and fault real htag-sse servers: raw HTTP over sockets, what a process
listens on and holds (from /proc: the fault tests run on Linux), its memory, boot data
of a page, and servers of :mod:`tests.faultapps`."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import httpx

from harness.processes import ROOT, Server, free_port, wait_until
from htag_sse.testing.boot import boot_config, interactions

PY = sys.executable


# ---------------------------------------------------------------- servers


def fault_server(session_dir: Path, app: str = "counter", *, options: dict[str, Any] | None = None,
                 argv: list[str] | None = None, env: dict[str, str] | None = None, port: int | None = None,
                 workers: int = 1, start: bool = True) -> Server:  # fmt: skip
    """A server of ``tests.faultapps`` (hypercorn; ``argv`` may name another command, with ``{port}``)."""
    port = port or free_port()
    full_env = {**os.environ, "HTAG_SSE_DIR": str(session_dir), "HTAG_SSE_TEST_OPTIONS": json.dumps(options or {}),
                "PYTHONPATH": str(ROOT), "HTAG_SSE_FAULT_APP": app, **(env or {})}  # fmt: skip
    cmd = argv or [PY, "-m", "hypercorn", "tests.support.faultapps:app", "--bind", "127.0.0.1:{port}",
                   *(["--workers", str(workers)] if workers > 1 else [])]  # fmt: skip
    server = Server([a.replace("{port}", str(port)) for a in cmd], port, full_env)
    if start:
        server.start()
        if workers > 1:
            wait_until(lambda: len(children(server.proc.pid)) >= workers, 20, f"{workers} workers")
    return server


def serving_pids(server: Server) -> set[int]:
    """The processes that serve requests: the workers, or the server itself when it has none."""
    assert server.proc is not None
    return children(server.proc.pid) or {server.proc.pid}


def run_cmd(port: int, **run: Any) -> list[str]:
    """``app.run(...)`` of ``tests.support.faultapps:app`` as a command line."""
    args = ", ".join(f"{k}={v!r}" for k, v in {"port": port, **run}.items())
    return [PY, "-c", f"from tests.support.faultapps import app; app.run({args})"]


def children(parent: int) -> set[int]:
    """Worker processes under ``parent`` (multiprocessing's resource tracker left out)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
                tracker = b"resource_tracker" in Path(f"/proc/{entry}/cmdline").read_bytes()
            except (OSError, IndexError):
                continue
            if ppid == parent and not tracker:
                found.add(int(entry))
    return found


# ---------------------------------------------------------------- what a process holds


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _tcp_table(pid: int) -> list[tuple[int, int, str, int]]:
    """(local port, remote port, state hex, inode) of every TCP socket of the process's network namespace."""
    rows = []
    for name in ("tcp", "tcp6"):
        lines = Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:]
        for line in lines:
            f = line.split()
            rows.append((int(f[1].rsplit(":", 1)[1], 16), int(f[2].rsplit(":", 1)[1], 16), f[3], int(f[9])))
    return rows


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process ``pid`` itself listens on."""
    mine = _socket_inodes(pid)
    return {local for local, _, state, inode in _tcp_table(pid) if state == "0A" and inode in mine}


def holds_connection(pid: int, peer_port: int) -> bool:
    """Whether process ``pid`` still holds a socket connected to our local port ``peer_port``."""
    mine = _socket_inodes(pid)
    return any(remote == peer_port and inode in mine for _, remote, _, inode in _tcp_table(pid))


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def tree_mode(directory: Path) -> dict[str, str]:
    """Every file and directory under ``directory`` (itself included) with its permission bits, octal."""
    found = {".": oct(directory.stat().st_mode & 0o777)}
    for path in directory.rglob("*"):
        found[str(path.relative_to(directory))] = oct(path.stat().st_mode & 0o777)
    return found


# ---------------------------------------------------------------- raw HTTP


def raw_request(port: int, head: str, body: bytes = b"", *, rcvbuf: int | None = None) -> socket.socket:
    """A connection that sent ``head`` (CRLF added) and ``body``; the caller reads or leaves it."""
    s = socket.socket()
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    s.sendall(head.replace("\n", "\r\n").encode("latin-1") + b"\r\n\r\n" + body)
    return s


def read_answer(s: socket.socket, timeout_s: float = 5.0) -> tuple[int, bytes, float]:
    """(status, head and what came of the body, seconds taken) of the answer on ``s``."""
    t0 = time.monotonic()
    s.settimeout(timeout_s)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    took = time.monotonic() - t0
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    head, _, rest = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    while length and len(rest) < int(length.group(1)):
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, head + b"\r\n\r\n" + rest, took


def closed_within(s: socket.socket, timeout_s: float) -> float | None:
    """Seconds until the peer closes ``s`` (what it sends is read and dropped), or None past ``timeout_s``."""
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        s.settimeout(left)
        try:
            if not s.recv(65536):
                return time.monotonic() - t0
        except TimeoutError:
            return None
        except ConnectionError:
            return time.monotonic() - t0
    return None


# ---------------------------------------------------------------- pages


@contextmanager
def paused(pids: set[int]) -> Iterator[None]:
    """These processes stopped (SIGSTOP) for the block: the kernel hands new connections to the others."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def connect_while_paused(client: httpx.Client, path: str, pids: set[int], deadline_s: float = 20.0) -> httpx.Response:
    """GET ``path`` on a new connection of ``client`` while ``pids`` are paused. A paused process may
    hold the session database's lock (then the answer waits for it): the pause is kept short, and
    tried again once they ran a moment (well within their lease)."""
    return while_paused(lambda: client.get(path, timeout=1.0), pids, f"{client.base_url}{path}", deadline_s)


def while_paused(request: Callable[[], httpx.Response], pids: set[int], probe: str,
                 deadline_s: float = 20.0) -> httpx.Response:  # fmt: skip
    """``request()`` (with a short timeout of its own) while ``pids`` are paused, so that no connection
    it opens can reach them; tried again after a GET of ``probe`` let the paused ones run a moment."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            with paused(pids):
                return request()
        except httpx.TimeoutException:
            if time.monotonic() > deadline:
                raise
            httpx.get(probe, timeout=30)  # answered: the paused ones ran a moment


class Visitor:
    """A scripted browser tab over real HTTP (its own cookie jar; ``fresh``: a new connection per request).
    :meth:`close_all` closes every visitor made so far (a test's teardown)."""

    made: ClassVar[list[Visitor]] = []

    def __init__(self, url: str, *, fresh: bool = False, timeout_s: float = 30.0) -> None:
        Visitor.made.append(self)
        limits = httpx.Limits(max_keepalive_connections=0) if fresh else httpx.Limits()
        self.client = httpx.Client(base_url=url, timeout=timeout_s, limits=limits)
        self.boot: dict[str, Any] = {}
        self.calls: dict[str, dict[str, Any]] = {}
        self.html = ""
        self.seq = 0
        self.worker = ""

    def open(self, path: str = "/") -> Visitor:
        return self.opened(self.client.get(path))

    def opened(self, r: httpx.Response) -> Visitor:
        """This tab, on the page that ``r`` (a GET of it) brought."""
        assert r.status_code == 200, (r.status_code, r.text[:300])
        self.load(r.text)
        self.worker = r.headers.get("x-htag-worker", "")
        return self

    def load(self, html: str) -> None:
        self.html = html
        self.boot = boot_config(html)
        self.calls = interactions(html)
        self.seq = 0

    @property
    def page(self) -> str:
        return str(self.boot["page"])

    def url(self, what: str) -> str:
        return f"{self.boot['base']}/{self.page}/{what}"

    def post(self, body: Any, *, seq: int | None = None, raw: bytes | None = None,
             headers: dict[str, str] | None = None) -> httpx.Response:  # fmt: skip
        """POST an interaction with the page's token; ``seq``: this X-Htag-Seq (a retry), else the next one."""
        if seq is None:
            self.seq += 1
            seq = self.seq
        h = {"X-Htag-Token": self.boot["token"], "X-Htag-Seq": str(seq), "Content-Type": "application/json",
             **(headers or {})}  # fmt: skip
        return self.client.post(
            self.url("interact"), content=raw if raw is not None else json.dumps(body).encode(), headers=h
        )

    def click(self, name: str = "inc", **kwargs: Any) -> httpx.Response:
        return self.post(self.calls[name], **kwargs)

    def elsewhere(self, server: Server) -> Visitor:
        """This tab (cookies, page, sequence) over one kept-alive connection that another worker than
        the page's owner accepted: the owner is paused (SIGSTOP) while it connects, so that which worker
        the kernel hands a connection to is not left to luck. Every click it sends is relayed."""
        owner = int(self.worker)  # debug servers answer with the worker's pid
        other = Visitor(str(self.client.base_url), timeout_s=self.client.timeout.read or 30.0)
        other.client.cookies = self.client.cookies
        other.boot, other.calls, other.html, other.seq, other.worker = self.boot, self.calls, self.html, self.seq, self.worker
        r = connect_while_paused(other.client, f"{self.boot['base']}/health", {owner})  # the owner is not asked
        got = r.headers.get("x-htag-worker", "")
        assert got and got != self.worker, f"worker {got!r} accepted a connection while the owner was paused"
        return other

    def close(self) -> None:
        self.client.close()

    @classmethod
    def close_all(cls) -> None:
        while cls.made:
            cls.made.pop().close()


def count_of(answer: httpx.Response | str) -> int:
    """The number a Counter page shows, in a click's answer or a page."""
    text = answer if isinstance(answer, str) else json.dumps(answer.json())
    match = re.search(r'class=\\?"count\\?"[^>]*>(\d+)<', text)
    assert match, text[:400]
    return int(match.group(1))


def gaps(times: list[float]) -> float:
    """The longest time between two consecutive instants."""
    return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A small tmpfs mounted at ``path`` (root only), unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


# ---------------------------------------------------------------- in-process ASGI, byte by byte


class Exchange:
    """One request to an ASGI app, driven by hand: what the app read of the body, what it answered."""

    def __init__(self, method: str, path: str, headers: dict[str, str | bytes] | None = None, *,
                 body: list[bytes] | None = None, more: bool = False,
                 client: tuple[str, int] = ("127.0.0.1", 4321)) -> None:  # fmt: skip
        raw_path, _, query = path.partition("?")
        hdrs = [(b"host", b"testserver")]
        for k, v in (headers or {}).items():
            hdrs.append((k.lower().encode(), v if isinstance(v, bytes) else v.encode("latin-1")))
        self.scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": raw_path, "raw_path": raw_path.encode(), "query_string": query.encode(), "root_path": "",
            "headers": hdrs, "client": client, "server": ("testserver", 80),
        }  # fmt: skip
        self.chunks = list(body) if body is not None else None  # None: the body never comes
        self.more = more  # the body does not end after these chunks: the client is slow
        self.reads = 0
        self.status = 0
        self.body = b""

    async def receive(self) -> dict[str, Any]:
        self.reads += 1
        if self.chunks is None:
            await asyncio.Event().wait()
        if self.chunks:
            chunk = self.chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks) or self.more}
        await asyncio.Event().wait()  # nothing more: the client is still there
        raise AssertionError("unreachable")

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    async def run(self, app: Any, timeout_s: float = 5.0) -> Exchange:
        await asyncio.wait_for(app(self.scope, self.receive, self.send), timeout_s)
        return self
