#!/usr/bin/env python
"""htag-sse served by hypercorn, directly and through nginx, with pushes over SSE
and over long-poll: push latency, click throughput and click latency, side by side.

Four paths (rows), in one run, on 127.0.0.1:

1. direct to hypercorn, pushes over the shared SSE stream (``<base>/events?p=…``)
2. through nginx (``tests/proxies.py``'s ``nginx()``, default buffering), SSE
3. through nginx, pushes over the shared long-poll (``<base>/poll?p=…``)
4. direct to hypercorn, long-poll

It reuses bench_core's server, client and load generator. See bench/README.md.

    /work/venv/bin/python bench/bench_proxy.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_core import (
    CLOCK_TICKS,
    HOST,
    Errors,
    LoadRun,
    Server,
    Tab,
    _child,
    alternate,
    describe,
    load,
    machine,
    num,
    open_tab,
    pct,
    progress,
    raise_open_files,
    serving,
)
from bench.loadgen import Connection, Response, request, sse_events
from harness.proxies import DEFAULT_BUFFERING, nginx

#: Long-poll pushes: the poll is sent, then the click this much later, so the poll is
#: pending on the server when the push happens. Not counted: latency runs from the
#: server's stamp. A poll that still reached the server after the push would be answered
#: at once, and its late arrival would count against long-poll (never in its favour).
POLL_HEAD_START_S = 0.005
#: After each push, before reading the CPU counters: the servers finish their tail work
#: (closing nginx's upstream connection, logging) inside this push's window.
PUSH_SETTLE_S = 0.003
#: Longest wait for a pushed event before the push counts as failed.
PUSH_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Row:
    name: str
    proxied: bool  # through nginx
    transport: str  # "sse" or "poll"


ROWS = (
    Row("direct, SSE", False, "sse"),
    Row("nginx, SSE", True, "sse"),
    Row("nginx, long-poll", True, "poll"),
    Row("direct, long-poll", False, "poll"),
)


@dataclass(frozen=True)
class Plan:
    clicks: int  # sequential clicks per row
    pushes: int  # sequential pushes per row
    load_s: float  # length of each throughput run
    users: int  # concurrent virtual users of the throughput runs
    warmup: int  # untimed rounds before each sequential series


FULL = Plan(clicks=2000, pushes=300, load_s=10.0, users=16, warmup=50)
QUICK = Plan(clicks=300, pushes=100, load_s=2.0, users=16, warmup=20)


# --- CPU of a process -------------------------------------------------------------------------


def stat_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process, from /proc/<pid>/stat (clock-tick resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def exact_cpu_s(pid: int) -> float:
    """CPU seconds of a process's live threads, to the nanosecond (/proc/<pid>/task/*/schedstat):
    precise enough to time the few hundred µs of one push."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError):  # the thread just ended
            continue
    return total / 1e9


# --- nginx ------------------------------------------------------------------------------------


@dataclass
class Proxy:
    """nginx from ``tests.proxies.nginx`` (one process: ``master_process off``)."""

    port: int
    pid: int
    error_log: Path

    def cpu_s(self) -> float:
        return stat_cpu_s(self.pid)

    def errors(self) -> list[str]:
        text = self.error_log.read_text(errors="replace") if self.error_log.exists() else ""
        bad = ("[error]", "[crit]", "[alert]", "[emerg]")
        return [f"nginx: {line}" for line in text.splitlines() if any(level in line for level in bad)]


@contextmanager
def proxy(upstream_port: int, log_lines: list[str]) -> Iterator[Proxy]:
    """nginx with the tests' default location config in front of ``upstream_port``;
    the error lines of its log land in ``log_lines``."""
    with tempfile.TemporaryDirectory(prefix="htag-sse-bench-nginx-") as tmp, \
            nginx(upstream_port, Path(tmp), DEFAULT_BUFFERING) as port:  # fmt: skip
            pid = _child(os.getpid(), f"{tmp}/nginx.conf".encode())  # the Popen of nginx()
            if pid is None:
                raise RuntimeError("nginx started but its process was not found")
            px = Proxy(port, pid, Path(tmp) / "error.log")
            try:
                yield px
            finally:
                log_lines += px.errors()


# --- push channels ----------------------------------------------------------------------------


def shared_stream(tab: Tab, last: int = 0) -> bytes:
    """The browser client's stream: ``GET <base>/events?p=<page>:<last>``."""
    headers = {"Cookie": tab.cookie, "Accept": "text/event-stream"}
    return request("GET", f"{tab.base}/events?p={tab.page}:{last}", HOST, headers)


def shared_poll(tab: Tab, last: int) -> bytes:
    """The browser client's long-poll: ``GET <base>/poll?p=<page>:<last>``."""
    return request("GET", f"{tab.base}/poll?p={tab.page}:{last}", HOST, {"Cookie": tab.cookie})


def polled_events(tab: Tab, r: Response) -> list[tuple[int, dict]]:
    """The events of ``tab``'s page in a poll answer ``{"pages": {page: [[id, actions]…]}, "gone": […]}``."""
    if r.status != 200:
        raise ValueError(f"poll answered {r.status}: {r.body[:120]!r}")
    answer = json.loads(r.body)
    if answer["gone"]:
        raise ValueError(f"poll says gone: {answer['gone']}")
    return [(int(i), actions) for i, actions in answer["pages"][tab.page]]


async def open_stream(conn: Connection, tab: Tab) -> AsyncIterator[tuple[str, str]]:
    """Open the shared stream; return its events once ``hello`` was read."""
    status, chunks = await conn.stream(shared_stream(tab))
    events = sse_events(chunks)
    name, _ = await anext(events)
    if status != 200 or name != "hello":
        raise RuntimeError(f"events stream answered {status}, first event {name!r}")
    return events


class Held:
    """A tab's push channel held in the background while it clicks, as a browser tab does:
    the shared stream read to its end, or long-polls re-sent after each answer."""

    def __init__(self, conn: Connection, task: asyncio.Task[None]) -> None:
        self.conn, self.task = conn, task

    @classmethod
    async def open(cls, transport: str, port: int, tab: Tab, errors: Errors, phase: str) -> Held:
        conn = await Connection.open(HOST, port)

        async def guarded(work: Awaitable[None]) -> None:
            try:
                await work
            except (OSError, asyncio.IncompleteReadError, ValueError, KeyError) as e:
                errors.fail(phase, f"push channel broken: {e!r}")

        if transport == "sse":
            events = await open_stream(conn, tab)
            task = asyncio.create_task(guarded(drain(events)))
        else:
            task = asyncio.create_task(guarded(poll_forever(conn, tab)))
        return cls(conn, task)

    def close(self) -> None:
        self.task.cancel()
        self.conn.close()


async def drain(events: AsyncIterator[tuple[str, str]]) -> None:
    async for _ in events:
        pass


async def poll_forever(conn: Connection, tab: Tab) -> None:
    last = 0
    while True:
        for event_id, _ in polled_events(tab, await conn.send(shared_poll(tab, last))):
            last = event_id


class Pusher:
    """A ``push`` page with its channel: each :meth:`push` clicks and waits for the pushed
    event; the latency is its arrival minus the ``time.monotonic()`` stamp it carries."""

    def __init__(self, row: Row, conn: Connection, channel: Connection, tab: Tab) -> None:
        self.row, self.conn, self.channel, self.tab = row, conn, channel, tab
        self.arrivals: asyncio.Queue[tuple[float, dict]] = asyncio.Queue()
        self.reader: asyncio.Task[None] | None = None
        self.last = 0  # the last event id received
        self.broken = False

    @classmethod
    async def open(cls, row: Row, port: int) -> Pusher:
        conn = await Connection.open(HOST, port)
        tab = await open_tab(conn)
        pusher = cls(row, conn, await Connection.open(HOST, port), tab)
        if row.transport == "sse":
            events = await open_stream(pusher.channel, tab)
            pusher.reader = asyncio.create_task(pusher.read(events))
        return pusher

    async def read(self, events: AsyncIterator[tuple[str, str]]) -> None:
        async for name, data in events:
            if name == self.tab.page:  # events are named after their page
                self.arrivals.put_nowait((time.monotonic(), json.loads(data)))

    async def poll(self) -> tuple[float, Response]:
        r = await self.channel.send(shared_poll(self.tab, self.last))
        return time.monotonic(), r

    async def push(self, errors: Errors) -> float | None:
        phase = f"push {self.row.name}"
        pending = None
        if self.row.transport == "poll":
            pending = asyncio.create_task(self.poll())
            await asyncio.sleep(POLL_HEAD_START_S)
        click = await self.conn.send(self.tab.click)
        try:
            if pending is None:
                at, actions = await asyncio.wait_for(self.arrivals.get(), PUSH_TIMEOUT_S)
            else:
                at, r = await asyncio.wait_for(pending, PUSH_TIMEOUT_S)
                events = polled_events(self.tab, r)
                if len(events) != 1 or events[0][0] != self.last + 1:
                    raise ValueError(f"expected event {self.last + 1}, got {r.body[:200]!r}")
                self.last, actions = events[0]
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, KeyError) as e:
            errors.fail(phase, f"no pushed event: {e!r}")
            self.broken = True
            return None
        if not errors.check(phase, click):
            return None
        (span,) = actions["update"].values()
        return at - float(re.search(r">([0-9.]+)<", span).group(1))  # type: ignore[union-attr]

    def close(self) -> None:
        if self.reader:
            self.reader.cancel()
        self.channel.close()
        self.conn.close()


# --- load through nginx -----------------------------------------------------------------------


class Target:
    """What ``bench_core.load`` needs of a server (``port``, ``cpu_s()``), aimed at nginx or at
    the server. ``load`` reads the server's CPU once before and once after the timed run:
    each reading also reads nginx's, so both cover the same span."""

    def __init__(self, server: Server, px: Proxy | None) -> None:
        self.server, self.px = server, px
        self.port = px.port if px else server.port
        self.proxy_cpu: list[float] = []

    def cpu_s(self) -> float:
        if self.px:
            self.proxy_cpu.append(self.px.cpu_s())
        return self.server.cpu_s()

    def proxy_cpu_s(self) -> float | None:
        if not self.px:
            return None
        if len(self.proxy_cpu) != 2:
            raise RuntimeError(f"expected 2 CPU readings from load(), got {len(self.proxy_cpu)}")
        return self.proxy_cpu[1] - self.proxy_cpu[0]


def clicking_with_channel(
    transport: str, held: list[Held], errors: Errors, phase: str
) -> Callable[[Connection], Awaitable[bytes]]:
    """Setup of a virtual user: its own session and page, and the page's push channel held."""

    async def setup(conn: Connection) -> bytes:
        tab = await open_tab(conn)
        held.append(await Held.open(transport, conn.port, tab, errors, phase))
        return tab.click

    return setup


# --- the measurements -------------------------------------------------------------------------


@dataclass
class RowLoad:
    run: LoadRun
    proxy_cpu_s: float | None  # nginx's CPU over the same span

    @property
    def proxy_share(self) -> float | None:
        """nginx's CPU as a share of one core."""
        return None if self.proxy_cpu_s is None else self.proxy_cpu_s / self.run.elapsed_s


@dataclass
class Results:
    push: dict[str, list[float]] = field(default_factory=dict)  # row -> latencies (s)
    push_server_cpu: dict[str, list[float]] = field(default_factory=dict)  # row -> server CPU s per push
    push_proxy_cpu: dict[str, list[float]] = field(default_factory=dict)  # row -> nginx CPU s per push
    click: dict[str, list[float]] = field(default_factory=dict)
    load: dict[str, RowLoad] = field(default_factory=dict)
    errors: Errors = field(default_factory=Errors)
    log_lines: list[str] = field(default_factory=list)


async def measure(plan: Plan) -> Results:
    res, started = Results(), time.monotonic()
    err, logs = res.errors, res.log_lines

    progress(started, "push latency (the four paths in turn)")
    async with serving("push", logs) as server:
        with proxy(server.port, logs) as px:
            await push_latency(server, px, plan, res)

    progress(started, "click latency (the four paths in turn)")
    async with serving("counter", logs) as server:
        with proxy(server.port, logs) as px:
            await click_latency(server, px, plan, res)

    for row in ROWS:
        progress(started, f"throughput {row.name}, {plan.users} users")
        async with serving("counter", logs) as server:
            with proxy(server.port, logs) if row.proxied else nullproxy() as px:
                res.load[row.name] = await throughput(server, px, row, plan, err)
    progress(started, "done")
    return res


@contextmanager
def nullproxy() -> Iterator[None]:
    yield None


def port_of(row: Row, server: Server, px: Proxy) -> int:
    return px.port if row.proxied else server.port


async def push_latency(server: Server, px: Proxy, plan: Plan, res: Results) -> None:
    """One push server, nginx in front; one page per row, each with its channel. Rounds of one
    push per row, so noise hits every row alike. Server and nginx CPU are read around each push."""
    pushers = [await Pusher.open(row, port_of(row, server, px)) for row in ROWS]
    for row in ROWS:
        res.push[row.name], res.push_server_cpu[row.name], res.push_proxy_cpu[row.name] = [], [], []
    for i in range(plan.warmup + plan.pushes):
        for p in pushers:
            if p.broken:
                continue
            cpu = exact_cpu_s(server.worker), exact_cpu_s(px.pid)
            latency = await p.push(res.errors)
            await asyncio.sleep(PUSH_SETTLE_S)
            if i >= plan.warmup and latency is not None:
                res.push[p.row.name].append(latency)
                res.push_server_cpu[p.row.name].append(exact_cpu_s(server.worker) - cpu[0])
                res.push_proxy_cpu[p.row.name].append(exact_cpu_s(px.pid) - cpu[1])
    for p in pushers:
        p.close()


async def click_latency(server: Server, px: Proxy, plan: Plan, res: Results) -> None:
    """One counter server, nginx in front; one page per row with its channel held; the
    rows' clicks alternate (bench_core's ``alternate``)."""
    targets: dict[str, tuple[Connection, bytes]] = {}
    held: list[Held] = []
    for row in ROWS:
        port = port_of(row, server, px)
        conn = await Connection.open(HOST, port)
        tab = await open_tab(conn)
        held.append(await Held.open(row.transport, port, tab, res.errors, f"click {row.name}"))
        targets[row.name] = (conn, tab.click)
    res.click, last = await alternate(targets, plan.warmup, plan.clicks, res.errors, "click")
    for name, r in last.items():
        if f">{plan.warmup + plan.clicks}<".encode() not in r.body:
            res.errors.fail(f"click {name}", f"the counter missed clicks: {r.body[:120]!r}")
    for h in held:
        h.close()
    for conn, _ in targets.values():
        conn.close()


async def throughput(server: Server, px: Proxy | None, row: Row, plan: Plan, errors: Errors) -> RowLoad:
    """bench_core's ``load``: each user on its own connection (to nginx or to the server),
    session and counter page, with the page's push channel held, clicking in a loop."""
    target, held = Target(server, px), []
    phase = f"load {row.name}"
    setup = clicking_with_channel(row.transport, held, errors, phase)
    run = await load(target, plan.users, plan.load_s, setup, errors, phase)  # type: ignore[arg-type]
    for h in held:
        h.close()
    return RowLoad(run, target.proxy_cpu_s())


# --- the report -------------------------------------------------------------------------------


def mean(xs: Sequence[float]) -> float:
    return statistics.fmean(xs) if xs else math.nan


def ms_pair(samples: Sequence[float]) -> str:
    if not samples:
        return "—"
    return f"{pct(samples, 0.5) * 1e3:.2f} / {pct(samples, 0.99) * 1e3:.2f}"


def table(res: Results, plan: Plan) -> str:
    lines = [
        (f"| path | push p50 / p99 ms | server CPU µs per push | clicks/s ({plan.users} users) "
         "| clicks per server-CPU-s | nginx CPU: % of a core (÷ server CPU) | sequential click p50 / p99 ms |"),
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for i, row in enumerate(ROWS, 1):
        rl = res.load.get(row.name)
        if rl and rl.proxy_cpu_s is not None:
            ratio = rl.proxy_cpu_s / rl.run.server_cpu_s if rl.run.server_cpu_s else math.nan
            nginx_col = f"{rl.proxy_share:.0%} ({num(ratio)}×)"
        else:
            nginx_col = "—"
        lines.append(
            f"| {i}. {row.name} | {ms_pair(res.push.get(row.name, []))} "
            f"| {num(mean(res.push_server_cpu.get(row.name, [])) * 1e6, 0)} "
            f"| {num(rl.run.per_s, 0) if rl else '—'} | {num(rl.run.per_cpu_s, 0) if rl else '—'} "
            f"| {nginx_col} | {ms_pair(res.click.get(row.name, []))} |"
        )
    return "\n".join(lines)


def raw(res: Results) -> str:
    lines = []
    for row in ROWS:
        n = row.name
        lines.append(f"push   {n:18} {describe(res.push.get(n, []))}")
        if res.push_server_cpu.get(n):
            lines.append(
                f"       {'':18} CPU per push (click + push{' + poll' if row.transport == 'poll' else ''}): "
                f"server mean {mean(res.push_server_cpu[n]) * 1e6:.0f} µs "
                f"(p50 {pct(res.push_server_cpu[n], 0.5) * 1e6:.0f}), "
                f"nginx mean {mean(res.push_proxy_cpu[n]) * 1e6:.0f} µs"
            )
    for row in ROWS:
        lines.append(f"click  {row.name:18} {describe(res.click.get(row.name, []))}")
    for row in ROWS:
        rl = res.load.get(row.name)
        if not rl:
            continue
        r = rl.run
        nginx_s = rl.proxy_cpu_s or 0.0
        others = r.machine_cpu_s - r.server_cpu_s - r.client_cpu_s - nginx_s
        nginx_part = f"nginx {nginx_s:.2f} ({nginx_s / r.elapsed_s:.0%}), " if rl.proxy_cpu_s is not None else ""
        per_click = (r.server_cpu_s + nginx_s) / r.clicks * 1e6 if r.clicks else math.nan
        lines.append(
            f"load   {row.name:18} users={r.users} clicks={r.clicks} in {r.elapsed_s:.2f} s; CPU s (share of one core): "
            f"server {r.server_cpu_s:.2f} ({r.server_cpu_s / r.elapsed_s:.0%}), {nginx_part}"
            f"client {r.client_cpu_s:.2f} ({r.client_cpu_s / r.elapsed_s:.0%}), "
            f"other processes {others:.2f} ({others / r.elapsed_s:.0%}); "
            f"server+nginx CPU per click {per_click:.0f} µs; latency {describe(r.latencies)}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short smoke run (~30 s)")
    parser.add_argument("--json", type=Path, help="also write every sample (seconds) to this file")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    raise_open_files(4 * plan.users + 256)
    print(machine())
    print(f"plan: {plan}; long-poll head start {POLL_HEAD_START_S * 1e3:g} ms\n", flush=True)
    res = asyncio.run(measure(plan))
    print(table(res, plan))
    print("\nraw:\n" + raw(res))
    if args.json:
        data = {
            "plan": asdict(plan),
            "push": res.push,
            "push_server_cpu": res.push_server_cpu,
            "push_proxy_cpu": res.push_proxy_cpu,
            "click": res.click,
            "load": {name: {**asdict(rl.run), "proxy_cpu_s": rl.proxy_cpu_s} for name, rl in res.load.items()},
            "errors": dict(res.errors.counts),
        }
        args.json.write_text(json.dumps(data))
    return res.errors.report(res.log_lines, "every response 2xx, every push arrived")


if __name__ == "__main__":
    sys.exit(main())
