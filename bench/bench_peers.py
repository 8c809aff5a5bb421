#!/usr/bin/env python
"""htag-sse side by side with the other ways to serve an htag app over HTTP, in one run on
127.0.0.1, each serving the same counter (a click increments it and re-renders a span):

- htag-sse on uvicorn (httptools + uvloop) and on hypercorn (default config);
- bare Starlette endpoints on both servers (bench/apps.py ``bare``), the baselines;
- htag 2.0.28's ``WebApp`` on uvicorn, in its plain-HTTP mode and in its SSE mode;
- htag 1.0.0's own runner (``htag.runners.Runner(http_only=True)``, its own HTTP server);
- htagweb 1.0.0 (a process per user) on uvicorn.

The peers run from their own virtualenvs, made on first use under ``--peers-dir`` (default
bench/.peers/) from PyPI with pinned versions; a peer that cannot be installed, started or
measured is reported and the run goes on. Measures: first page GET as a new visitor,
sequential click latency, clicks/s and clicks per server-CPU-second with 64 sessions, push
latency where the runner pushes, and memory per open session. See bench/README.md.

    /work/venv/bin/python bench/bench_peers.py [--quick] [--peers-dir DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_core import (
    HOST,
    LOAD_WARMUP,
    OPEN_CONCURRENCY,
    SETTLE_S,
    Errors,
    LoadRun,
    bare_click,
    client_cpu_s,
    describe,
    free_port,
    log_errors,
    machine,
    machine_cpu_s,
    num,
    open_tab,
    pct,
    pin,
    pinned,
    process_tree,
    progress,
    raise_open_files,
)
from bench.bench_proxy import Pusher, Row, open_stream, stat_cpu_s
from bench.loadgen import Connection, Numbered, Response, request, sse_events
from htag_sse.testing.boot import interactions

#: Longest wait for a server to answer its first request.
READY_TIMEOUT_S = 30.0
#: Longest wait for any one request (a page, a click, a pushed event).
REQUEST_TIMEOUT_S = 30.0
#: Longest wait for one throughput run's setup (opening the sessions) and for one memory run.
SETUP_TIMEOUT_S = 120.0
#: Longest wait for a server to exit on SIGTERM before its process group is killed (uvicorn
#: waits for open connections, and htag 2's SSE streams end only at their next write).
STOP_TIMEOUT_S = 3.0
#: Longest wait for one virtualenv to be made and filled.
INSTALL_TIMEOUT_S = 600.0
#: Pause between two rounds of pushes: htag 2 sends at most one ``update()`` per 50 ms and
#: delays any other, so every runner gets its pushes spaced wider than that.
PUSH_GAP_S = 0.06
#: Longest wait for a pushed event, or for the update of a click answered on a stream.
EVENT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Plan:
    gets: int  # sequential page loads per runner
    spawn_gets: int  # ... for a runner that starts a process per visitor
    clicks: int  # sequential clicks per runner
    users: int  # concurrent sessions of the throughput runs
    load_s: float  # length of each throughput run
    pushes: int  # sequential pushes per runner
    sessions: int  # open sessions at which memory is read
    warmup: int  # untimed rounds before each sequential series


FULL = Plan(gets=300, spawn_gets=60, clicks=1000, users=64, load_s=10.0, pushes=200, sessions=100, warmup=10)
QUICK = Plan(gets=50, spawn_gets=15, clicks=200, users=64, load_s=2.0, pushes=40, sessions=100, warmup=5)


class Unavailable(Exception):
    """A runner that could not be installed, started or measured; the message says why."""


# --- the peers' environments ------------------------------------------------------------------


@dataclass(frozen=True)
class Env:
    """Packages a runner needs: its own virtualenv, or (``own_venv`` false) packages installed with
    ``pip --target`` into a directory put on the main venv's ``PYTHONPATH``, leaving it as it is."""

    name: str
    requirements: tuple[str, ...]
    own_venv: bool = True
    shown: tuple[str, ...] = ()  # distributions whose versions the report prints


#: httptools for the main venv (uvicorn's fast HTTP parser; the project does not depend on it).
HTTPTOOLS = "0.9.0"
#: uvicorn and uvloop as installed in the main venv, httptools as above: every uvicorn row runs this stack.
SERVER_STACK = (f"uvicorn=={version('uvicorn')}", f"uvloop=={version('uvloop')}", f"httptools=={HTTPTOOLS}")
ENVS = {
    env.name: env
    for env in (
        Env("main-extras", (f"httptools=={HTTPTOOLS}",), own_venv=False, shown=("httptools",)),
        # htag 2.0.28 calls Starlette.add_websocket_route, gone in Starlette 1.0: the last 0.x. Its server
        # stack is the main venv's, version for version (uvicorn, httptools, uvloop): the same stack.
        Env("htag2", ("htag==2.0.28", "starlette==0.52.1", *SERVER_STACK),
            shown=("htag", "starlette", "uvicorn", "httptools", "uvloop")),
        Env("htag1", ("htag==1.0.0",), shown=("htag",)),
        # htagweb pins uvicorn[standard]==0.30.0; shared-memory-dict (sessions), pycryptodomex (its imports)
        Env("htagweb", ("htagweb==1.0.0", "htag==1.0.0", "starlette==1.10.0", "uvicorn[standard]==0.30.0",
                        "shared-memory-dict==0.7.2", "pycryptodomex==3.24.2"),
            shown=("htagweb", "htag", "starlette", "uvicorn", "httptools", "uvloop", "shared-memory-dict")),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Installed:
    python: str  # the interpreter the runner's servers run with
    pythonpath: str  # "" for none
    versions: str


def _run(argv: Sequence[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, env=env, check=False)
    if done.returncode:
        lines = (done.stderr or done.stdout).strip().splitlines()
        said = [line[:200] for line in lines if line.startswith("ERROR")] or lines[-3:]
        raise Unavailable(f"`{' '.join(argv[-3:])}` failed (exit {done.returncode}): {' | '.join(said)}")
    return done.stdout


def install(env: Env, peers: Path) -> Installed:
    """Make (once) and describe the environment; a stamp file records what it was made with."""
    home = peers / env.name
    stamp = home / "bench-requirements.txt"
    wanted = "\n".join(env.requirements) + "\n"
    python = str(home / "bin" / "python") if env.own_venv else sys.executable
    pythonpath = "" if env.own_venv else str(home)
    if not (stamp.exists() and stamp.read_text() == wanted):
        shutil.rmtree(home, ignore_errors=True)
        pip = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        try:
            if env.own_venv:
                _run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(home)])
                _run([python, *pip, *env.requirements])
            else:
                _run([sys.executable, *pip, "--target", str(home), *env.requirements])
        except subprocess.TimeoutExpired:
            raise Unavailable(f"installing {' '.join(env.requirements)} took over {INSTALL_TIMEOUT_S:.0f} s") from None
        stamp.write_text(wanted)
    script = "import sys, importlib.metadata as m; print(', '.join(f'{n} {m.version(n)}' for n in sys.argv[1:]))"
    versions = _run([python, "-c", script, *env.shown], {**os.environ, "PYTHONPATH": pythonpath}).strip()
    return Installed(python, pythonpath, versions)


# --- servers ----------------------------------------------------------------------------------


def _status_kb(pid: int, path: str, key: str) -> int:
    for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1])
    return 0


@dataclass(frozen=True)
class Memory:
    pss_kb: int  # summed over the server's process tree
    rss_kb: int  # summed likewise (counts pages shared between processes once per process)
    processes: int


class Served:
    """A server in its own process group, logging to a file; its CPU and memory are summed over
    its process and all the processes under it."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], port: int, log: Path) -> None:
        self.name, self.port, self.log = name, port, log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                pinned(argv), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    async def ready(self) -> None:
        """Wait for a first answer (any status) to a plain GET."""
        probe = request("GET", "/ready-check", HOST, {"Connection": "keep-alive"})
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                reader, writer = await asyncio.open_connection(HOST, self.port)
                try:
                    writer.write(probe)
                    if await asyncio.wait_for(reader.read(1), 5.0):
                        return
                finally:
                    writer.close()
            except (OSError, TimeoutError):
                pass
            if self.proc.poll() is not None:
                tail = " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-4:])
                raise Unavailable(f"server exited with status {self.proc.returncode}: {tail}")
            if time.monotonic() > deadline:
                raise Unavailable(f"server did not answer within {READY_TIMEOUT_S:.0f} s")
            await asyncio.sleep(0.1)

    def cpu_s(self) -> float:
        total = 0.0
        for pid in process_tree(self.proc.pid):
            try:
                total += stat_cpu_s(pid)
            except OSError:
                continue
        return total

    def memory(self) -> Memory:
        pids = process_tree(self.proc.pid)
        pss = rss = 0
        for pid in pids:
            try:
                pss += _status_kb(pid, "smaps_rollup", "Pss:")
                rss += _status_kb(pid, "status", "VmRSS:")
            except OSError:
                continue
        return Memory(pss, rss, len(pids))

    def stop(self) -> list[str]:
        """SIGTERM, then SIGKILL to the whole group; the errors it logged while measured (not
        its shutdown noise)."""
        measured = self.log.read_text(errors="replace")
        pids = process_tree(self.proc.pid)
        self.proc.terminate()
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # what is left of the group this bench started
        except ProcessLookupError:
            pass
        self.proc.wait()
        for pid in pids[1:]:  # descendants that left the group
            if Path(f"/proc/{pid}").exists():
                os.kill(pid, signal.SIGKILL)
        return [f"{self.name}: {line}" for line in log_errors(measured)]


# --- clients: one wire per kind of runner -----------------------------------------------------


class Closeable(Protocol):
    def close(self) -> None: ...


class Clicker(Protocol):
    """A visitor's page, ready to click its button."""

    async def click(self) -> Response: ...

    def close(self) -> None: ...


class PushProbe(Protocol):
    """A ``push`` page: :meth:`push` clicks and returns the pushed event's latency (s)."""

    async def push(self, errors: Errors) -> float | None: ...

    def close(self) -> None: ...


class Wire(Protocol):
    sessions: bool  # a visitor gets a session of its own (else memory per session is moot)
    pushes: bool

    async def page(self, port: int) -> Response:
        """``GET /`` as a new visitor: a new connection, no cookie."""
        ...

    async def open(self, port: int) -> Clicker: ...

    async def hold(self, port: int) -> Closeable | None:
        """A new visitor's page, with its push channel held open where the runner has one."""
        ...

    async def pusher(self, port: int) -> PushProbe: ...


@dataclass
class KeepAlive:
    """Clicks sent as prebuilt bytes on one keep-alive connection."""

    conn: Connection
    raw: bytes | Numbered

    async def click(self) -> Response:
        return await self.conn.send(self.raw)

    def close(self) -> None:
        self.conn.close()


GET = request("GET", "/", HOST)
#: --rounds: how many times each runner's throughput is measured (the median round is reported).
ROUNDS = [1]
#: The app every runner serves for pages, clicks and memory: the counter, or (--app form) the 200-tag form.
APP = ["counter"]
#: --harness: the independent harness's conditions (docs/performance.md): new visitors come through
#: a proxy on the loopback (X-Forwarded-For), 50 per address; every htag-sse session holds its stream.
HARNESS = [False]
PER_ADDRESS = 50
_visitors = itertools.count()


def visitor(harness: bool | None = None) -> dict[str, str]:
    """A new visitor's extra request headers: none, or in harness mode its (proxied) address."""
    if not (HARNESS[0] if harness is None else harness):
        return {}
    n = next(_visitors) // PER_ADDRESS
    return {"X-Forwarded-For": f"10.9.{n // 250}.{n % 250 + 1}"}


def get() -> bytes:
    """``GET /`` as a new visitor."""
    return request("GET", "/", HOST, visitor()) if HARNESS[0] else GET


@dataclass
class Streaming:
    """A tab clicking while its page's shared stream is held (read to its end) on a second connection."""

    clicks: KeepAlive
    stream: Connection
    reader: asyncio.Task[None]

    async def click(self) -> Response:
        return await self.clicks.click()

    def close(self) -> None:
        self.reader.cancel()
        self.stream.close()
        self.clicks.close()


async def drain(events: AsyncIterator[tuple[str, str]]) -> None:
    async for _ in events:
        pass


async def fresh(port: int, raw: bytes) -> Response:
    """One request on a connection of its own."""
    conn = await Connection.open(HOST, port)
    try:
        return await conn.send(raw)
    finally:
        conn.close()


def expect_page(r: Response) -> str:
    if r.status != 200:
        raise Unavailable(f"GET / answered {r.status}: {r.body[:200]!r}")
    return r.body.decode()


class NoPush:
    pushes = False

    async def pusher(self, port: int) -> PushProbe:
        raise Unavailable("the runner does not push")


class HtagSSEWire:
    """htag-sse: a session (cookie) and a page per ``GET /``; pushes on the shared SSE stream.
    ``harness``: the harness's conditions, or not, whatever the run's (None: the run's)."""

    sessions = pushes = True

    def __init__(self, harness: bool | None = None) -> None:
        self.own = harness

    @property
    def harness(self) -> bool:
        return HARNESS[0] if self.own is None else self.own

    async def page(self, port: int) -> Response:
        return await fresh(port, request("GET", "/", HOST, visitor(self.harness)))

    async def open(self, port: int) -> Clicker:
        conn = await Connection.open(HOST, port)
        tab = await open_tab(conn, visitor(self.harness))
        if not self.harness:
            return KeepAlive(conn, tab.click)
        stream = await Connection.open(HOST, port)  # as a tab does: its stream open the whole time
        return Streaming(KeepAlive(conn, tab.click), stream, asyncio.create_task(drain(await open_stream(stream, tab))))

    async def hold(self, port: int) -> Closeable | None:
        conn = await Connection.open(HOST, port)
        await open_stream(conn, await open_tab(conn, visitor(self.harness)))
        return conn

    async def pusher(self, port: int) -> PushProbe:
        return await Pusher.open(Row("htag-sse", False, "sse"), port)


class HtagSSEVariant(HtagSSEWire):
    """htag-sse serving a variant of the counter: its pushes are measured on the main row only."""

    pushes = False


class BareWire(NoPush):
    sessions = False

    async def page(self, port: int) -> Response:
        return await fresh(port, get())

    async def open(self, port: int) -> Clicker:
        return KeepAlive(await Connection.open(HOST, port), bare_click(port))

    async def hold(self, port: int) -> Closeable | None:
        raise Unavailable("no sessions")


HTAG2_CSRF = re.compile(r'window\.HTAG_CSRF = "([0-9a-f]+)"')
HTAG2_BUTTON = re.compile(r"htag_event\('([^']+)', 'click'")
STAMP = re.compile(r">([0-9]+\.[0-9]+)<")


class Htag2Stream:
    """An htag 2 session's ``GET /stream``: the whole body first, then every broadcast."""

    def __init__(self, conn: Connection, events: AsyncIterator[tuple[str, str]]) -> None:
        self.conn = conn
        self.messages: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read(events))

    @classmethod
    async def open(cls, port: int, cookie: str) -> Htag2Stream:
        conn = await Connection.open(HOST, port)
        status, chunks = await conn.stream(request("GET", "/stream", HOST, {"Cookie": cookie}))
        events = sse_events(chunks)
        _, first = await anext(events)
        if status != 200 or "updates" not in json.loads(first):
            raise Unavailable(f"/stream answered {status}, first event {first[:120]!r}")
        return cls(conn, events)

    async def _read(self, events: AsyncIterator[tuple[str, str]]) -> None:
        async for _, data in events:
            self.messages.put_nowait((time.monotonic(), json.loads(data)))

    async def next(self, match: Callable[[dict[str, Any]], bool]) -> tuple[float, dict[str, Any]]:
        """The next broadcast ``match`` accepts, and when it arrived."""
        while True:
            at, message = await asyncio.wait_for(self.messages.get(), EVENT_TIMEOUT_S)
            if match(message):
                return at, message

    def close(self) -> None:
        self.reader.cancel()
        self.conn.close()


@dataclass
class Htag2Session:
    conn: Connection
    cookie: str
    click: bytes
    callback: str


@dataclass
class StreamAnswered:
    """htag 2, SSE mode: ``POST /event`` is answered ``{"status": "ok"}`` at once, the click's
    updates come on the stream, tagged with the click's callback id."""

    session: Htag2Session
    stream: Htag2Stream

    async def click(self) -> Response:
        r = await self.session.conn.send(self.session.click)
        if r.status != 200:
            return r
        _, message = await self.stream.next(lambda m: m.get("callback_id") == self.session.callback)
        return Response(200, {}, json.dumps(message).encode())

    def close(self) -> None:
        self.stream.close()
        self.session.conn.close()


@dataclass
class Htag2Pusher:
    session: Htag2Session
    stream: Htag2Stream

    async def push(self, errors: Errors) -> float | None:
        click = await self.session.conn.send(self.session.click)
        if not errors.check("push htag 2", click):
            return None
        try:
            at, message = await self.stream.next(lambda m: any(map(STAMP.search, m.get("updates", {}).values())))
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as e:
            errors.fail("push htag 2", f"no pushed event: {e!r}")
            return None
        (span,) = message["updates"].values()
        return at - float(STAMP.search(span).group(1))  # type: ignore[union-attr]

    def close(self) -> None:
        self.stream.close()
        self.session.conn.close()


class Htag2Wire:
    """htag 2's ``WebApp``: an ``App`` instance per ``htag_sid`` cookie. Interactions are POSTed
    to ``/event`` (with the page's ``X-HTAG-TOKEN``); the browser client uses a WebSocket, falls
    back to SSE (``GET /stream`` + POST), then to plain HTTP (the POST says ``"fallback": true``
    and its answer carries the updates)."""

    sessions = True

    def __init__(self, sse: bool) -> None:
        self.sse = self.pushes = sse

    async def page(self, port: int) -> Response:
        return await fresh(port, get())

    async def visit(self, port: int) -> Htag2Session:
        conn = await Connection.open(HOST, port)
        r = await conn.send(get())
        html = expect_page(r)
        cookie = r.headers["set-cookie"].split(";", 1)[0]
        token, button = HTAG2_CSRF.search(html), HTAG2_BUTTON.search(html)
        if not (token and button):
            raise Unavailable("no CSRF token or button in htag 2's page")
        callback = secrets.token_hex(5)
        call: dict[str, Any] = {"id": button.group(1), "event": "click", "data": {"callback_id": callback, "value": ""}}
        if not self.sse:
            call["fallback"] = True
        headers = {"Cookie": cookie, "X-HTAG-TOKEN": token.group(1), "Content-Type": "application/json"}
        return Htag2Session(conn, cookie, request("POST", "/event", HOST, headers, json.dumps(call).encode()), callback)

    async def open(self, port: int) -> Clicker:
        session = await self.visit(port)
        if not self.sse:
            return KeepAlive(session.conn, session.click)
        return StreamAnswered(session, await Htag2Stream.open(port, session.cookie))

    async def hold(self, port: int) -> Closeable | None:
        session = await self.visit(port)
        session.conn.close()
        return await Htag2Stream.open(port, session.cookie) if self.sse else None

    async def pusher(self, port: int) -> PushProbe:
        if not self.sse:
            raise Unavailable("plain-HTTP mode queues pushes until the next interaction")
        session = await self.visit(port)
        return Htag2Pusher(session, await Htag2Stream.open(port, session.cookie))


async def oneshot(port: int, raw: bytes) -> Response:
    """One request on its own connection, the answer read to the end: htag 1.0's runner closes
    every connection after one answer, and ends its head lines with a bare LF."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(raw)
        data = await reader.read()
    finally:
        writer.close()
    head, sep, body = re.split(rb"(\r?\n\r?\n)", data, maxsplit=1) if data else (b"", b"", b"")
    lines = head.decode("latin-1").splitlines()
    if not (sep and lines and lines[0].startswith("HTTP/")):
        raise ValueError(f"not an HTTP answer: {data[:120]!r}")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Response(int(lines[0].split()[1]), headers, body)


#: htag 1.0's runner serves HTTP only to requests that say ``Connection: keep-alive`` (any
#: other is taken for a WebSocket handshake).
KEEP_ALIVE = {"Connection": "keep-alive"}


@dataclass
class OneShot:
    port: int
    raw: bytes

    async def click(self) -> Response:
        return await oneshot(self.port, self.raw)

    def close(self) -> None:
        pass


class Htag1Wire(NoPush):
    """htag 1.0's runner, ``http_only``: one page instance per route, shared by every visitor
    (no sessions); interactions are POSTed to the page's own path."""

    sessions = False

    async def page(self, port: int) -> Response:
        return await oneshot(port, request("GET", "/", HOST, KEEP_ALIVE))

    async def open(self, port: int) -> Clicker:
        (call,) = interactions(expect_page(await self.page(port))).values()
        headers = {**KEEP_ALIVE, "Content-Type": "application/json"}
        return OneShot(port, request("POST", "/", HOST, headers, json.dumps(call).encode()))

    async def hold(self, port: int) -> Closeable | None:
        raise Unavailable("no sessions")


HTAGWEB_PATH = re.compile(r'webroot \+ "(_/[^"?]+)')


@dataclass
class LateKeepAlive:
    """Clicks on a keep-alive connection opened at the first click, not the page's: htagweb's
    per-user processes are forked with every socket the server has open, so a connection the
    server closes as idle (uvicorn: after 5 s) stays open, silent, and a click sent on it is
    never answered."""

    port: int
    raw: bytes
    conn: Connection | None = None

    async def click(self) -> Response:
        if self.conn is None:
            self.conn = await Connection.open(HOST, self.port)
        return await self.conn.send(self.raw)

    def close(self) -> None:
        if self.conn:
            self.conn.close()


class HtagwebWire(NoPush):
    """htagweb: a process per user (cookie ``session``), started by the user's first ``GET /``;
    interactions are POSTed to ``/_/<module.Class>`` and relayed to it over a unix socket."""

    sessions = True

    async def page(self, port: int) -> Response:
        return await fresh(port, GET)

    async def visit(self, port: int) -> tuple[str, str, str]:
        """Load the page (its connection closed after): the session cookie, the interaction path, the HTML."""
        r = await fresh(port, GET)
        html = expect_page(r)
        path = HTAGWEB_PATH.search(html)
        if not path:
            raise Unavailable("no interaction path in htagweb's page")
        return r.headers["set-cookie"].split(";", 1)[0], "/" + path.group(1), html

    async def open(self, port: int) -> Clicker:
        cookie, path, html = await self.visit(port)
        (call,) = interactions(html).values()
        return LateKeepAlive(port, request("POST", path, HOST, {"Cookie": cookie}, json.dumps(call).encode()))

    async def hold(self, port: int) -> Closeable | None:
        await self.visit(port)
        return None


# --- the runners ------------------------------------------------------------------------------

Command = Callable[[str, int], list[str]]  # (app: "counter" or "push", port) -> argv after the interpreter


def uvicorn(target: str, *more: str) -> Command:
    """uvicorn with httptools and uvloop, without its access log (hypercorn keeps none by default)."""
    return lambda app, port: [
        "-m", "uvicorn", target.format(app=app), "--host", HOST, "--port", str(port),
        "--http", "httptools", "--loop", "uvloop", "--no-access-log", *more,
    ]  # fmt: skip


def hypercorn(target: str) -> Command:
    return lambda app, port: ["-m", "hypercorn", target.format(app=app), "--bind", f"{HOST}:{port}"]


def granian(target: str) -> Command:
    """Granian's own command line (ASGI, uvloop, one worker process), as for the bare baseline."""
    return lambda app, port: [
        "-m", "granian", "--interface", "asgi", "--host", HOST, "--port", str(port), "--loop", "uvloop",
        "--workers", "1", "--no-ws", "--log-level", "warning", target.format(app=app),
    ]  # fmt: skip


@dataclass(frozen=True)
class Runner:
    name: str
    server: str  # the HTTP server, as the table shows it
    env: str | None  # its environment (a key of ENVS); None: the main venv as it is
    wire: Wire
    command: Command
    baseline: str | None  # the bare row the ratios are taken against
    note: str  # what a visitor, a click, a push are on this runner
    ours: bool = False  # htag-sse or its baseline: a failed request makes the run invalid
    spawns: bool = False  # starts a process per visitor: fewer page loads are measured


BARE_UVICORN, BARE_HYPERCORN = "bare Starlette (uvicorn)", "bare Starlette (hypercorn)"
BARE_GRANIAN = "bare Starlette (granian)"
GRANIAN = f"granian {version('granian')}, uvloop {version('uvloop')}"
UVICORN = f"uvicorn {version('uvicorn')}, httptools {HTTPTOOLS}, uvloop {version('uvloop')}"
HYPERCORN = f"hypercorn {version('hypercorn')}"
HTAG_SSE = "a session and a page per GET; clicks POSTed; pushes on the shared SSE stream, held while memory is read"
HTAG2 = "an App instance per session (cookie), made by the GET; clicks POSTed to /event "
RUNNERS = (
    Runner("htag-sse (uvicorn)", UVICORN, "main-extras", HtagSSEWire(), uvicorn("bench.apps:{app}"), BARE_UVICORN,
           HTAG_SSE, ours=True),
    Runner("htag-sse (hypercorn)", HYPERCORN, None, HtagSSEWire(), hypercorn("bench.apps:{app}"), BARE_HYPERCORN,
           HTAG_SSE, ours=True),
    Runner("htag-sse (granian)", GRANIAN, None, HtagSSEWire(), granian("bench.apps:{app}"), BARE_GRANIAN,
           HTAG_SSE, ours=True),
    Runner("htag-sse, tag.state counter", UVICORN, "main-extras", HtagSSEVariant(),
           uvicorn("bench.apps:{app}_state"), BARE_UVICORN,
           "the counter also writing its count to tag.state (the session, on disk) at each click", ours=True),
    Runner("htag-sse, lean=False", UVICORN, "main-extras", HtagSSEVariant(), uvicorn("bench.apps:{app}_htag"),
           BARE_UVICORN, "the same counter through htag's own HRenderer (HtagSSE(lean=False))", ours=True),
    Runner("htag-sse (uvicorn), bench_peers' conditions", UVICORN, "main-extras", HtagSSEVariant(harness=False),
           uvicorn("bench.apps:{app}"), BARE_UVICORN, "--harness only: the first row without the harness's conditions "
           "(no stream held while clicking, no X-Forwarded-For, no limit on new sessions)", ours=True),
    Runner(BARE_UVICORN, UVICORN, "main-extras", BareWire(), uvicorn("bench.apps:bare"), None,
           "a 3 KB page, a click answered with small JSON, sent htag-sse's request headers: the baseline",
           ours=True),
    Runner(BARE_HYPERCORN, HYPERCORN, None, BareWire(), hypercorn("bench.apps:bare"), None,
           "the same, on hypercorn", ours=True),
    Runner(BARE_GRANIAN, GRANIAN, None, BareWire(), granian("bench.apps:bare"), None,
           "the same, on Granian", ours=True),
    Runner("htag 2.0.28, HTTP mode", UVICORN, "htag2", Htag2Wire(sse=False), uvicorn("bench.peer_htag2:{app}"),
           BARE_UVICORN, HTAG2 + 'with "fallback": true, answered with the updates; pushes wait for the next click'),
    Runner("htag 2.0.28, SSE mode", UVICORN, "htag2", Htag2Wire(sse=True), uvicorn("bench.peer_htag2:{app}"),
           BARE_UVICORN, HTAG2 + "answered at once, the updates read from the session's GET /stream (held)"),
    Runner("htag 1.0.0 Runner, http_only", "its own (pure python)", "htag1", Htag1Wire(),
           lambda app, port: ["-m", "bench.peer_htag1", str(port)], None,
           "one page instance shared by every visitor (a GET renders it, creates nothing): the 64 sessions are 64 "
           "clients of one page; the server closes every connection after one answer; no tag.update() over HTTP"),
    Runner("htagweb 1.0.0, http_only", "uvicorn 0.30, httptools, uvloop", "htagweb", HtagwebWire(),
           uvicorn("bench.peer_htag1:htagweb", "--factory"), BARE_UVICORN,
           "a process per session, forked by its first GET; clicks POSTed, relayed over a unix socket; memory is "
           "PSS summed over the processes; tag.update() is not implemented in 1.0.0", spawns=True),
)  # fmt: skip
RUNNER = {runner.name: runner for runner in RUNNERS}
MEASURES = ("get", "click", "load", "push", "memory")


# --- the measurements -------------------------------------------------------------------------

#: What a failed request, stream or server can raise on the client side.
FAILURES = (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, KeyError,
            Unavailable)  # fmt: skip


def why(e: BaseException) -> str:
    if isinstance(e, TimeoutError):
        return "no answer before the deadline (its server was stopped)"
    return str(e) if isinstance(e, Unavailable) else f"{type(e).__name__}: {e}"


@dataclass
class RowResult:
    get: list[float] = field(default_factory=list)  # seconds
    click: list[float] = field(default_factory=list)
    load: LoadRun | None = None  # the median round
    rounds: list[LoadRun] = field(default_factory=list)
    push: list[float] = field(default_factory=list)
    memory: tuple[Memory, Memory] | None = None  # after one warm-up session; with plan.sessions more
    missing: dict[str, str] = field(default_factory=dict)  # measure -> why it was not measured


@dataclass
class Results:
    rows: dict[str, RowResult]
    installed: dict[str | None, Installed | str]  # environment -> installed, or why not
    errors: Errors = field(default_factory=Errors)
    log_lines: list[str] = field(default_factory=list)


@asynccontextmanager
async def serving(runner: Runner, app: str, res: Results) -> AsyncIterator[Served]:
    """A fresh server for one measurement, with its files in a throwaway directory."""
    installed = res.installed[runner.env]
    if isinstance(installed, str):
        raise Unavailable(installed)
    if getattr(runner.wire, "harness", False):  # htag-sse with its default settings (60 new sessions
        app += "_default"  # a minute per address, the loopback trusted as a proxy)
    with tempfile.TemporaryDirectory(prefix="htag-sse-bench-peers-") as tmp:
        env = {**os.environ, "HTAG_SSE_DIR": f"{tmp}/sessions", "HTAGWEB_DIR": f"{tmp}/htagweb"}
        env.pop("PYTHONPATH", None)
        if installed.pythonpath:
            env["PYTHONPATH"] = installed.pythonpath
        Path(env["HTAGWEB_DIR"]).mkdir()
        port = free_port()
        server = Served(runner.name, [installed.python, *runner.command(app, port)], env, port, Path(tmp) / "log")
        try:
            await server.ready()
            yield server
        finally:
            res.log_lines += server.stop()


async def alternate(
    calls: Mapping[str, Callable[[], Awaitable[Response]]], counts: dict[str, int], warmup: int, measure: str,
    res: Results,
) -> tuple[dict[str, list[float]], dict[str, Response]]:  # fmt: skip
    """One call per runner in turn (so noise from other processes hits them alike), warmup +
    ``counts[runner]`` rounds each: the timings (s) past the warm-up and each runner's last answer.
    A runner whose call fails or hangs drops out, reported."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    last: dict[str, Response] = {}
    for i in range(warmup + max(counts.values(), default=0)):
        for name, call in calls.items():
            if measure in res.rows[name].missing or i >= warmup + counts[name]:
                continue
            t = time.perf_counter()
            try:
                r = last[name] = await asyncio.wait_for(call(), REQUEST_TIMEOUT_S)
            except FAILURES as e:
                res.rows[name].missing[measure] = why(e)
                continue
            if i >= warmup:
                samples[name].append(time.perf_counter() - t)
            res.errors.check(f"{measure} {name}", r)
    return samples, last


async def latency(runners: Sequence[Runner], plan: Plan, res: Results) -> None:
    """Every runner's counter server at once: page loads, then clicks, alternating."""
    async with AsyncExitStack() as stack:
        live: dict[str, tuple[Runner, Served]] = {}
        for runner in runners:
            try:
                live[runner.name] = runner, await stack.enter_async_context(serving(runner, APP[0], res))
            except FAILURES as e:
                res.rows[runner.name].missing.update(get=why(e), click=why(e))
        pages = {name: partial(r.wire.page, s.port) for name, (r, s) in live.items()}
        counts = {name: plan.spawn_gets if r.spawns else plan.gets for name, (r, _) in live.items()}
        samples, _ = await alternate(pages, counts, plan.warmup, "get", res)
        for name, series in samples.items():
            res.rows[name].get = series

        clickers: dict[str, Clicker] = {}
        for name, (runner, server) in live.items():
            try:
                clickers[name] = await asyncio.wait_for(runner.wire.open(server.port), REQUEST_TIMEOUT_S)
                stack.callback(clickers[name].close)
            except FAILURES as e:
                res.rows[name].missing["click"] = why(e)
        calls = {name: clicker.click for name, clicker in clickers.items()}
        samples, last = await alternate(calls, dict.fromkeys(calls, plan.clicks), plan.warmup, "click", res)
        for name, series in samples.items():
            res.rows[name].click = series
            if APP[0] == "counter" and name in last and f">{plan.warmup + plan.clicks}<".encode() not in last[name].body:
                res.errors.fail(f"click {name}", f"the counter missed clicks: {last[name].body[:160]!r}")


async def load(server: Served, clickers: Sequence[Clicker], duration_s: float, errors: Errors, phase: str) -> LoadRun:
    """Each clicker clicks in a loop for ``duration_s``: bench_core.load for clicks that are not
    prebuilt bytes on a keep-alive connection (htag 1.0's runner closes every connection, htag 2's
    SSE mode answers on a stream). CPU: the server's whole process tree."""
    latencies: list[float] = []

    async def warm(clicker: Clicker) -> None:
        for _ in range(LOAD_WARMUP):
            errors.check(phase, await clicker.click())

    async def user(clicker: Clicker) -> int:
        done = 0
        try:
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                r = await clicker.click()
                latencies.append(time.perf_counter() - t)
                done += errors.check(phase, r)
        except FAILURES as e:
            errors.fail(phase, f"a user stopped: {why(e)}")
        return done

    await asyncio.gather(*map(warm, clickers))
    before = server.cpu_s(), client_cpu_s(), machine_cpu_s(), time.perf_counter()
    deadline = before[3] + duration_s
    done = await asyncio.gather(*map(user, clickers))
    after = server.cpu_s(), client_cpu_s(), machine_cpu_s(), time.perf_counter()
    server_s, client_s, machine_s, elapsed_s = (y - x for x, y in zip(before, after, strict=True))
    return LoadRun(len(clickers), sum(done), elapsed_s, server_s, client_s, machine_s, latencies)


async def opened(count: int, make: Callable[[], Awaitable[Any]]) -> list[Any]:
    """``count`` results of ``make()``, at most OPEN_CONCURRENCY at a time."""
    limit = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def one() -> Any:
        async with limit:
            return await make()

    return await asyncio.wait_for(asyncio.gather(*(one() for _ in range(count))), SETUP_TIMEOUT_S)


async def throughput(runner: Runner, plan: Plan, res: Results) -> LoadRun:
    async with serving(runner, APP[0], res) as server:
        clickers: list[Clicker] = await opened(plan.users, partial(runner.wire.open, server.port))
        try:
            run = load(server, clickers, plan.load_s, res.errors, f"load {runner.name}")
            return await asyncio.wait_for(run, plan.load_s + SETUP_TIMEOUT_S)
        finally:
            for clicker in clickers:
                clicker.close()


async def push_latency(runners: Sequence[Runner], plan: Plan, res: Results) -> None:
    """Every pushing runner's push server at once, one page each; rounds of one push per runner,
    PUSH_GAP_S apart. Latency: arrival at the client minus the server's ``time.monotonic()`` stamp
    (CLOCK_MONOTONIC is system-wide)."""
    async with AsyncExitStack() as stack:
        probes: dict[str, PushProbe] = {}
        for runner in runners:
            try:
                server = await stack.enter_async_context(serving(runner, "push", res))
                probes[runner.name] = await asyncio.wait_for(runner.wire.pusher(server.port), REQUEST_TIMEOUT_S)
                stack.callback(probes[runner.name].close)
            except FAILURES as e:
                res.rows[runner.name].missing["push"] = why(e)
        for i in range(plan.warmup + plan.pushes):
            for name, probe in probes.items():
                row = res.rows[name]
                if "push" in row.missing:
                    continue
                try:
                    latency_s = await asyncio.wait_for(probe.push(res.errors), REQUEST_TIMEOUT_S)
                except FAILURES as e:
                    row.missing["push"] = why(e)
                    continue
                if latency_s is None:
                    row.missing["push"] = "a push failed (see the failed requests)"
                elif i >= plan.warmup:
                    row.push.append(latency_s)
            await asyncio.sleep(PUSH_GAP_S)


async def memory(runner: Runner, plan: Plan, res: Results) -> tuple[Memory, Memory]:
    """One warm-up session, then ``plan.sessions`` more, each with its push channel held where the
    runner has one: the server tree's memory after each step."""
    async with serving(runner, APP[0], res) as server:
        held: list[Closeable | None] = []
        try:
            held.append(await asyncio.wait_for(runner.wire.hold(server.port), REQUEST_TIMEOUT_S))
            await asyncio.sleep(SETTLE_S)
            base = server.memory()
            held += await opened(plan.sessions, partial(runner.wire.hold, server.port))
            await asyncio.sleep(SETTLE_S)
            return base, server.memory()
        finally:
            for item in held:
                if item is not None:
                    item.close()


async def measure(runners: Sequence[Runner], plan: Plan, res: Results) -> None:
    started = time.monotonic()
    progress(started, "page and click latency (every server at once)")
    await latency(runners, plan, res)
    for n in range(ROUNDS[0]):  # rounds alternating the runners: noise hits each alike; the median round is kept
        for runner in runners:
            progress(started, f"throughput, {plan.users} sessions, round {n + 1}/{ROUNDS[0]}: {runner.name}")
            row = res.rows[runner.name]
            try:
                row.rounds.append(await throughput(runner, plan, res))
            except FAILURES as e:
                row.missing["load"] = why(e)
            ranked = sorted(row.rounds, key=lambda run: run.per_cpu_s)
            row.load = ranked[(len(ranked) - 1) // 2] if ranked else None
    if HARNESS[0] or APP[0] != "counter":  # push latency is the counter run's
        progress(started, "done")
        return
    progress(started, "push latency (every pushing server at once)")
    await push_latency([r for r in runners if r.wire.pushes], plan, res)
    for runner in runners:
        if runner.wire.sessions:
            progress(started, f"memory, {plan.sessions} sessions: {runner.name}")
            try:
                res.rows[runner.name].memory = await memory(runner, plan, res)
            except FAILURES as e:
                res.rows[runner.name].missing["memory"] = why(e)
    progress(started, "done")


# --- the report -------------------------------------------------------------------------------


def per_session_kb(runner: Runner, mem: tuple[Memory, Memory], plan: Plan) -> float:
    """RSS growth per session; PSS for a process per user (RSS would count the pages they
    share with the server, copy-on-write, once per process)."""
    base, full = mem
    grown = full.pss_kb - base.pss_kb if runner.spawns else full.rss_kb - base.rss_kb
    return grown / plan.sessions


def figures(runner: Runner, res: Results, plan: Plan) -> dict[str, float | None]:
    """The table's figures of one row (None: not measured)."""
    row = res.rows[runner.name]
    load, mem = row.load, row.memory
    return {
        "get p50": pct(row.get, 0.5) * 1e3 if row.get else None,
        "get p99": pct(row.get, 0.99) * 1e3 if row.get else None,
        "click p50": pct(row.click, 0.5) * 1e3 if row.click else None,
        "click p99": pct(row.click, 0.99) * 1e3 if row.click else None,
        "clicks/s": load.per_s if load else None,
        "clicks/cpu-s": load.per_cpu_s if load else None,
        "push p50": pct(row.push, 0.5) * 1e3 if row.push else None,
        "kb/session": per_session_kb(runner, mem, plan) if mem else None,
    }


COLUMNS = (  # figure, header, digits, measure, compared with the baseline
    ("get p50", "page GET p50 ms", 2, "get", True),
    ("get p99", "page GET p99 ms", 2, "get", True),
    ("click p50", "click p50 ms", 2, "click", True),
    ("click p99", "click p99 ms", 2, "click", True),
    ("clicks/s", "clicks/s", 0, "load", True),
    ("clicks/cpu-s", "clicks per server-CPU-s", 0, "load", True),
    ("push p50", "push p50 ms", 2, "push", False),
    ("kb/session", "KB per session", 1, "memory", False),
)


def applies(runner: Runner, measure: str) -> bool:
    return (measure != "push" or runner.wire.pushes) and (measure != "memory" or runner.wire.sessions)


def table(runners: Sequence[Runner], plan: Plan, res: Results) -> str:
    lines = [
        "| runner | server | " + " | ".join(c[1] for c in COLUMNS) + " |",
        "|---|---|" + "---:|" * len(COLUMNS),
    ]
    for runner in runners:
        row = res.rows[runner.name]
        mine = figures(runner, res, plan)
        base = figures(RUNNER[runner.baseline], res, plan) if runner.baseline else {}
        cells = []
        for key, _, digits, measure, compared in COLUMNS:
            value, ref = mine[key], base.get(key)
            if not applies(runner, measure):
                cells.append("–")
            elif measure in row.missing or value is None:
                cells.append("n/a")
            else:
                ratio = f" ({value / ref:.2f}×)" if compared and ref else ""
                cells.append(num(value, digits) + ratio)
        lines.append(f"| {runner.name} | {runner.server} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def raw(runners: Sequence[Runner], plan: Plan, res: Results) -> str:
    lines = []
    for runner in runners:
        row = res.rows[runner.name]
        lines.append(f"{runner.name}:")
        lines.append(f"  GET /   {describe(row.get)}")
        lines.append(f"  click   {describe(row.click)}")
        if r := row.load:
            others = r.machine_cpu_s - r.server_cpu_s - r.client_cpu_s
            lines.append(
                f"  load    sessions={r.users} clicks={r.clicks} in {r.elapsed_s:.2f} s; CPU s (share of one core): "
                f"server tree {r.server_cpu_s:.2f} ({r.server_cpu_s / r.elapsed_s:.0%}), "
                f"client {r.client_cpu_s:.2f} ({r.client_cpu_s / r.elapsed_s:.0%}), "
                f"other processes {others:.2f} ({others / r.elapsed_s:.0%}); latency {describe(r.latencies)}"
            )
        if len(row.rounds) > 1:
            lines.append("  rounds  clicks per server-CPU-s " + ", ".join(f"{r.per_cpu_s:,.0f}" for r in row.rounds)
                         + " (median shown); other processes " + ", ".join(
                             f"{(r.machine_cpu_s - r.server_cpu_s - r.client_cpu_s) / r.elapsed_s:.0%}"
                             for r in row.rounds))  # fmt: skip
        if row.push:
            lines.append(f"  push    {describe(row.push)}")
        if mem := row.memory:
            base, full = mem
            lines.append(
                f"  memory  after 1 session: PSS {base.pss_kb} KB, RSS {base.rss_kb} KB, {base.processes} processes; "
                f"with {plan.sessions} more: PSS {full.pss_kb} KB, RSS {full.rss_kb} KB, {full.processes} processes; "
                f"per session: PSS {(full.pss_kb - base.pss_kb) / plan.sessions:.1f} KB, "
                f"RSS {(full.rss_kb - base.rss_kb) / plan.sessions:.1f} KB"
            )
        for measure, reason in row.missing.items():
            lines.append(f"  n/a     {measure}: {reason}")
    return "\n".join(lines)


def environments(res: Results) -> str:
    lines = []
    for name, installed in res.installed.items():
        label = name or "main venv"
        lines.append(f"{label}: " + (installed if isinstance(installed, str) else installed.versions))
    return "\n".join(lines)


def wanted(runner: Runner) -> bool:
    """The runners of this run: all; with --harness or --app form, htag-sse's main rows and the peers that
    serve the same app (htag 2; the form: htag's own path too)."""
    if APP[0] == "form":
        return runner.env not in ("htag1", "htagweb") and "tag.state" not in runner.name
    if HARNESS[0]:
        return runner.env not in ("htag1", "htagweb") and not runner.name.startswith("htag-sse,")
    return "conditions" not in runner.name


def prepare(peers: Path) -> Results:
    """Install what the runners need (once); a runner whose environment failed is n/a."""
    installed: dict[str | None, Installed | str] = {None: Installed(sys.executable, "", "as is")}
    for env in ENVS.values():
        print(f"environment {env.name}: {' '.join(env.requirements)}", file=sys.stderr, flush=True)
        try:
            installed[env.name] = install(env, peers)
        except Unavailable as e:
            installed[env.name] = f"could not be installed: {e}"
    rows = {runner.name: RowResult() for runner in RUNNERS}
    for runner in RUNNERS:
        if isinstance(reason := installed[runner.env], str):
            rows[runner.name].missing = dict.fromkeys(MEASURES, reason)
    return Results(rows, installed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--peers-dir", type=Path, default=ROOT / "bench" / ".peers",
                        help="where the peers' virtualenvs are made (default: bench/.peers)")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write every sample (seconds) to this file")
    parser.add_argument("--pin", type=int, metavar="CPU", help="run the servers on this CPU only, the client on the others")
    parser.add_argument("--harness", action="store_true",
                        help="the independent harness's conditions: each htag-sse session holds its stream while it "
                             "clicks, new visitors come through X-Forwarded-For (50 per address), htag-sse's default "
                             "settings; pages, clicks and throughput only")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=1, help="measure throughput this many times, alternating the "
                        "runners, and report each runner's median round")  # fmt: skip
    parser.add_argument("--app", choices=("counter", "form"), default="counter",
                        help="form: bench/tags.py's 200-tag Form (first render, a click re-rendering it)")
    args = parser.parse_args()
    pin(args.pin)
    HARNESS[0], APP[0], ROUNDS[0] = args.harness, args.app, max(1, args.rounds)
    plan = QUICK if args.quick else FULL
    raise_open_files(plan.sessions + 2 * plan.users + 256)
    args.peers_dir.mkdir(parents=True, exist_ok=True)
    res = prepare(args.peers_dir.resolve())
    runners = [r for r in RUNNERS if not isinstance(res.installed[r.env], str) and wanted(r)]
    print(machine())
    print(environments(res))
    print(f"plan: {plan}\n", flush=True)
    asyncio.run(measure(runners, plan, res))
    print(f"app: {APP[0]}; harness conditions: {'yes' if HARNESS[0] else 'no'}\n")
    print(table(runners, plan, res))
    print(
        f"\n(×) ratio to bare Starlette on the same HTTP server: above 1 is slower for latencies, below 1 is fewer "
        f"clicks for throughput (htagweb's uvicorn is 0.30, the baseline's 0.54; htag 1.0's own server has none). "
        f"Page GET: a new connection and no cookie (a new visitor). Clicks/s: {plan.users} sessions clicking for "
        f"{plan.load_s:g} s; CPU: the server's whole process tree. KB per session: RSS growth with {plan.sessions} "
        f"sessions open (PSS for htagweb). –: does not apply. n/a: not measured, see raw.\n"
    )
    print("\n".join(f"- {r.name}: {r.note}" for r in RUNNERS))
    print("\nraw:\n" + raw(RUNNERS, plan, res))
    if args.json:
        data = {"plan": asdict(plan), "rows": {k: asdict(v) for k, v in res.rows.items()},
                "errors": dict(res.errors.counts)}  # fmt: skip
        args.json.write_text(json.dumps(data))
    if res.log_lines:
        print("\nserver log errors:\n" + "\n".join(res.log_lines[:30]))
    if not res.errors.counts:
        print("\nerrors: none (every response 2xx)")
        return 0
    print("\nfailed requests:")
    for phase, n in res.errors.counts.items():
        print(f"  {phase}: {n} (first: {res.errors.first[phase]})")
    invalid = any(r.ours and r.name in phase for r in RUNNERS for phase in res.errors.counts)
    print("INVALID: failed requests to htag-sse or its baselines" if invalid else "(peers only)")
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
