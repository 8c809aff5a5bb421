#!/usr/bin/env python
"""htag-sse under ``hypercorn --workers N``: what several worker processes cost and give.

Four measurements, in one run, on 127.0.0.1 (apps in debug mode: every response
carries ``X-Htag-Worker: <os pid>``, the worker process that answered it):

1. click throughput with 1, 2 and 4 workers (16 users, each its own session and page,
   the page loaded on one connection and clicked on another, both pinned to chosen
   workers so that 1 − 1/N of the users click on a non-owner), per second and per
   server-CPU-second (master + every worker), and the share of clicks forwarded to the
   page's owner over the bus; for reference, 4 workers with every click on its page's
   owner, and 4 workers with the connections wherever the workers accepted them;
2. sequential click latency, 4 workers: one page, clicked alternately on a connection
   its owner answers and on one another worker answers (and relays);
3. push latency, 4 workers: the shared SSE stream held on a connection the page's owner
   answers vs one another worker answers (it relays long-polls to the owner);
4. idle CPU of one worker holding 1000 pages with their streams open, against a worker
   with no pages (and one with a single page), over the same span.

It reuses bench_core's server, client and load generator and bench_proxy's stream and
push helpers. See bench/README.md.

    /work/venv/bin/python bench/bench_workers.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_core import (
    HOST,
    OPEN_CONCURRENCY,
    Errors,
    LoadRun,
    Server,
    Tab,
    alternate,
    client_cpu_s,
    describe,
    load,
    machine,
    machine_cpu_s,
    num,
    open_tab,
    pct,
    process_tree,
    progress,
    raise_open_files,
    serving,
)
from bench.bench_proxy import Pusher, Row, drain, exact_cpu_s, open_stream, stat_cpu_s
from bench.loadgen import Connection, Response, request

#: The response header naming the worker process (os pid) that answered (apps in debug mode).
WORKER = "x-htag-worker"
#: A cheap 200 answered by any worker: used to wait until every worker serves.
STATIC = request("GET", "/_htag/static/morph.js", HOST)
#: Longest wait for every worker of a server to answer.
READY_TIMEOUT_S = 60.0
#: Most connections opened while looking for one that a given worker (or another) accepts.
MAX_TRIES = 400
#: The idle measurements start this long after the last page was opened.
IDLE_SETTLE_S = 2.0


@dataclass(frozen=True)
class Plan:
    workers: tuple[int, ...]  # worker counts of the throughput runs (connections pinned, mixed)
    owner_only: tuple[int, ...]  # ... with every user clicking on its page's owner (nothing forwarded)
    as_accepted: tuple[int, ...]  # ... with connections as the workers accepted them
    users: int  # concurrent virtual users of the throughput runs
    load_s: float  # length of each throughput run
    clicks: int  # sequential clicks per connection (forwarded / owner-local)
    pushes: int  # sequential pushes per stream (owner / non-owner)
    warmup: int  # untimed rounds before each sequential series
    idle_pages: int  # pages (each with its stream) held open during the idle measurement
    idle_s: float  # length of the idle measurement


FULL = Plan(
    workers=(1, 2, 4), owner_only=(4,), as_accepted=(4,), users=16, load_s=10.0,
    clicks=1000, pushes=300, warmup=30, idle_pages=1000, idle_s=30.0,
)  # fmt: skip
QUICK = Plan(
    workers=(1, 2, 4), owner_only=(4,), as_accepted=(4,), users=16, load_s=2.0,
    clicks=200, pushes=60, warmup=10, idle_pages=1000, idle_s=15.0,
)  # fmt: skip
#: Worker count of the latency measurements (2 and 3).
LATENCY_WORKERS = 4


# --- servers with several workers -------------------------------------------------------------


def answered_by(r: Response) -> int:
    """The os pid of the worker process that answered ``r``."""
    return int(r.headers[WORKER])


def observe(conn: Connection, callback: Callable[[Response], None]) -> Connection:
    """Have ``callback`` see every response ``conn.send`` returns (loadgen's Connection, as is)."""
    send = conn.send

    async def send_and_observe(raw: bytes) -> Response:
        r = await send(raw)
        callback(r)
        return r

    conn.send = send_and_observe  # type: ignore[method-assign]
    return conn


def started_at(pid: int) -> int:
    """A process's start time (clock ticks after boot): with its pid, names it for good."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


class Pool:
    """``hypercorn --workers N``: what bench_core's ``load`` needs (``port``, ``cpu_s()``),
    with the CPU summed over the master and every process under it."""

    def __init__(self, server: Server, n: int) -> None:
        self.server, self.n, self.port = server, n, server.port
        self.workers: list[int] = []  # os pids of the processes that answer requests
        self.processes: list[int] = []  # the master and every descendant
        self.started: dict[int, int] = {}  # pid -> start time (clock ticks after boot)
        self.on_cpu_read: Callable[[], None] | None = None

    async def ready(self) -> None:
        """Wait until every worker has answered a request (each on a new connection)."""
        deadline, seen = time.monotonic() + READY_TIMEOUT_S, set()
        while len(seen) < self.n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(seen)} of {self.n} workers answered:\n{self.server.log.read_text()}")
            conn = await Connection.open(HOST, self.port)
            try:
                r = await conn.send(STATIC)
            finally:
                conn.close()
            if r.status == 200:
                seen.add(answered_by(r))
            else:
                await asyncio.sleep(0.05)
        self.workers = sorted(seen)
        self.note_processes()
        if not seen <= set(self.processes):
            raise RuntimeError(f"workers {seen} are not under hypercorn's master {self.server.proc.pid}")

    def note_processes(self) -> None:
        self.processes = process_tree(self.server.proc.pid)
        self.started = {}
        for pid in self.processes:
            try:
                self.started[pid] = started_at(pid)
            except OSError:
                continue

    def cpu_s(self) -> float:
        """CPU seconds (user + system, /proc/<pid>/stat) of the master and all its processes."""
        if self.on_cpu_read:
            self.on_cpu_read()
        total = 0.0
        for pid in self.processes:
            try:
                total += stat_cpu_s(pid)
            except OSError:  # ended: a resource tracker, say
                continue
        return total

    def stop_leftovers(self) -> None:
        """After the master's exit: SIGKILL any process of this server still alive, by pid
        (checked to be the same process by its start time)."""
        for pid, started in self.started.items():
            try:
                if started_at(pid) == started and Path(f"/proc/{pid}/cmdline").read_bytes():  # not a zombie
                    os.kill(pid, 9)
            except OSError:
                continue


@asynccontextmanager
async def pool(app: str, workers: int, log_lines: list[str]) -> AsyncIterator[Pool]:
    """A fresh ``hypercorn --workers N bench.apps:<app>``, every worker answering."""
    async with serving(app, log_lines, ["--workers", str(workers)]) as server:
        p = Pool(server, workers)
        try:
            await p.ready()
            yield p
        finally:
            if not p.processes:
                p.note_processes()
    p.stop_leftovers()


async def open_owned_tab(
    port: int, errors: Errors, phase: str, conn: Connection | None = None
) -> tuple[Connection, Tab, int]:
    """A new session and page, loaded on ``conn`` (or a new connection): the connection, the
    page and its owner (the worker that answered the GET, hence holds the connection too)."""
    answers: list[Response] = []
    conn = observe(conn or await Connection.open(HOST, port), answers.append)
    tab = await open_tab(conn)
    errors.check(phase, answers[-1])
    return conn, tab, answered_by(answers[-1])


async def connect_to(port: int, want: Callable[[int], bool], errors: Errors, phase: str) -> tuple[Connection, int]:
    """Open connections, one at a time, until one is accepted by a worker ``want`` likes, told
    by a probe on it (a static file): that connection and its worker. The others are closed."""
    for _ in range(MAX_TRIES):
        conn = await Connection.open(HOST, port)
        r = await conn.send(STATIC)
        errors.check(phase, r)
        if want(answered_by(r)) and not conn.closing:
            return conn, answered_by(r)
        conn.close()
    raise RuntimeError(f"no connection landed on a suitable worker in {MAX_TRIES} tries")


def pin(
    conn: Connection, port: int, pid: int, errors: Errors, phase: str, repins: list[int] | None = None
) -> Connection:
    """Keep ``conn`` on worker ``pid``: when hypercorn closes it (it does after 1000 requests),
    the next request goes on a new connection that worker accepted (``connect_to``), where
    loadgen's own reconnect would land on any worker. Each re-pin is appended to ``repins``."""
    send = conn.send

    async def send_pinned(raw: bytes) -> Response:
        if conn.closing:
            fresh, _ = await connect_to(port, lambda w: w == pid, errors, phase)
            conn.writer.close()
            conn.reader, conn.writer, conn.closing = fresh.reader, fresh.writer, False
            if repins is not None:
                repins.append(pid)
        return await send(raw)

    conn.send = send_pinned  # type: ignore[method-assign]
    return conn


# --- 1. throughput vs workers -----------------------------------------------------------------


@dataclass
class Spread:
    """Who answered the timed clicks of a throughput run."""

    owner: int = 0  # answered by the page's owner
    forwarded: int = 0  # answered by another worker, which relayed them to the owner
    by_worker: Counter[int] = field(default_factory=Counter)  # answering pid -> clicks
    owners: Counter[int] = field(default_factory=Counter)  # owner pid -> pages
    users_forwarded: int = 0  # users most of whose timed clicks were forwarded

    @property
    def forwarded_share(self) -> float:
        total = self.owner + self.forwarded
        return self.forwarded / total if total else math.nan


@dataclass
class WorkersLoad:
    workers: int
    mode: str  # "mixed", "owner" or "accepted" (see MODES)
    run: LoadRun
    spread: Spread
    processes: int  # master + workers + helpers whose CPU is summed
    repins: int = 0  # click connections closed by hypercorn and reopened on their worker


#: How the users' connections are placed in a throughput run.
MODES = {
    "mixed": "pinned: owners round-robin, 1 − 1/N of the users click on another worker",
    "owner": "pinned: owners round-robin, every user clicks on its page's owner",
    "accepted": "as accepted: the connections opened at once, placed by whichever worker took them",
}


def plan_user(i: int, workers: Sequence[int], mode: str) -> tuple[int, int]:
    """User ``i``'s (page owner, click worker): owners round-robin; "mixed": the click worker
    ``i // N`` places further, so each worker owns as many pages and takes as many click
    connections as any other, and 1 − 1/N of the users click on another worker than their
    page's owner (what independent, uniform landings give on average); "owner": the owner."""
    n = len(workers)
    return workers[i % n], workers[(i + (i // n if mode == "mixed" else 0)) % n]


async def throughput(p: Pool, plan: Plan, errors: Errors, mode: str) -> WorkersLoad:
    """bench_core's ``load``: each user its own session and page, loaded on a connection of
    its own (closed after the GET), and clicks on another connection.

    "mixed" and "owner": both connections are opened one at a time until the chosen worker
    (``plan_user``) accepts them, the user's clicks are routed to that connection and kept
    on its worker (``pin``): ``load`` opens its users' connections at once, and such a burst
    goes mostly to the first worker to wake (asyncio accepts every pending connection, up to
    the backlog, per wake-up). "accepted": ``load``'s connection, and the page's opened at
    once with the other users' — as the workers accept them.

    The worker answering every click is tallied; only the timed clicks count (``load`` reads
    the CPU right before and right after them)."""
    phase = f"load {p.n} workers {mode}"
    all_clicks, spread, users, one_at_a_time = Spread(), Spread(), iter(range(plan.users)), asyncio.Lock()
    routed: list[Connection] = []
    repins: list[int] = []

    per_user: list[list[int]] = []  # [owner-local, forwarded] clicks of each user, once timing started

    def tally(owner: int) -> Callable[[Response], None]:
        mine = [0, 0]
        per_user.append(mine)

        def count(r: Response) -> None:
            pid = answered_by(r) if WORKER in r.headers else -1
            all_clicks.by_worker[pid] += 1
            if pid == owner:
                all_clicks.owner += 1
            else:
                all_clicks.forwarded += 1
            if marks:
                mine[pid != owner] += 1

        return count

    async def setup(conn: Connection) -> bytes:
        if mode == "accepted":
            page_conn, tab, owner = await open_owned_tab(p.port, errors, phase)
            page_conn.close()
            all_clicks.owners[owner] += 1
            observe(conn, tally(owner))
            return tab.click
        owner_pid, click_pid = plan_user(next(users), p.workers, mode)
        async with one_at_a_time:
            page_conn, _ = await connect_to(p.port, lambda pid: pid == owner_pid, errors, phase)
            page_conn, tab, owner = await open_owned_tab(p.port, errors, phase, page_conn)
            page_conn.close()
            click_conn, _ = await connect_to(p.port, lambda pid: pid == click_pid, errors, phase)
        all_clicks.owners[owner] += 1
        routed.append(observe(pin(click_conn, p.port, click_pid, errors, phase, repins), tally(owner)))
        conn.close()  # load's own connection: its user sends on click_conn instead
        conn.send = click_conn.send  # type: ignore[method-assign]
        return tab.click

    marks: list[tuple[int, int, Counter[int]]] = []
    p.on_cpu_read = lambda: marks.append((all_clicks.owner, all_clicks.forwarded, Counter(all_clicks.by_worker)))
    run = await load(p, plan.users, plan.load_s, setup, errors, phase)  # type: ignore[arg-type]
    p.on_cpu_read = None
    for c in routed:
        c.close()
    (o0, f0, w0), (o1, f1, w1) = marks
    spread.owner, spread.forwarded, spread.by_worker, spread.owners = o1 - o0, f1 - f0, w1 - w0, all_clicks.owners
    spread.users_forwarded = sum(fwd > own for own, fwd in per_user)
    return WorkersLoad(p.n, mode, run, spread, len(p.processes), len(repins))


# --- 2. forwarded vs owner-local click latency ------------------------------------------------


@dataclass
class ClickLatency:
    owner: list[float] = field(default_factory=list)  # answered by the page's owner
    forwarded: list[float] = field(default_factory=list)  # answered by another worker
    workers: dict[str, int] = field(default_factory=dict)  # which pid each connection landed on
    switched: int = 0  # timed clicks answered by a worker of the other kind (after a reconnect)


async def click_latency(p: Pool, plan: Plan, errors: Errors) -> ClickLatency:
    """One counter page; its owner's connection (the one that loaded it) and a connection
    another worker accepted, both pinned to their worker; clicks alternate between them
    (bench_core's ``alternate``). Each timing is filed by the worker that answered it."""
    phase = "click"
    local, tab, owner = await open_owned_tab(p.port, errors, phase)
    remote, other = await connect_to(p.port, lambda pid: pid != owner, errors, phase)
    pin(local, p.port, owner, errors, phase)
    pin(remote, p.port, other, errors, phase)
    seen: dict[str, list[int]] = {"owner-local": [], "forwarded": []}
    observe(local, lambda r: seen["owner-local"].append(answered_by(r)))
    observe(remote, lambda r: seen["forwarded"].append(answered_by(r)))
    targets = {"owner-local": (local, tab.click), "forwarded": (remote, tab.click)}
    samples, last = await alternate(targets, plan.warmup, plan.clicks, errors, phase)
    total = 2 * (plan.warmup + plan.clicks)
    if not any(f">{total}<".encode() in r.body for r in last.values()):
        errors.fail(phase, f"the counter missed clicks (expected {total}): {last['forwarded'].body[:120]!r}")
    res = ClickLatency(workers={"owner-local": owner, "forwarded": other})
    for name, timings in samples.items():
        for t, pid in zip(timings, seen[name][plan.warmup :], strict=True):
            (res.owner if pid == owner else res.forwarded).append(t)
            res.switched += (pid == owner) != (name == "owner-local")
    local.close()
    remote.close()
    return res


# --- 3. push latency: stream held by the owner or by another worker ---------------------------


@dataclass
class PushLatency:
    samples: dict[str, list[float]] = field(default_factory=dict)  # "owner" / "non-owner" -> s
    workers: dict[str, tuple[int, int]] = field(default_factory=dict)  # row -> (owner pid, stream pid)
    clicks_elsewhere: int = 0  # clicks not answered by the page's owner (expected 0)


async def push_latency(p: Pool, plan: Plan, errors: Errors) -> PushLatency:
    """Two push pages (own sessions), each clicked on its owner's connection; one holds its
    shared stream on a connection its owner accepted, the other on one another worker
    accepted (told by a probe on that connection: loadgen's ``stream`` keeps the headers to
    itself). Pushes alternate between the two (bench_proxy's ``Pusher``)."""
    res, pushers = PushLatency(), []
    for name, same in (("owner", True), ("non-owner", False)):
        phase = f"push {name} stream"
        conn, tab, owner = await open_owned_tab(p.port, errors, phase)

        def tally(r: Response, owner: int = owner) -> None:
            res.clicks_elsewhere += answered_by(r) != owner

        observe(pin(conn, p.port, owner, errors, phase), tally)
        channel, streamer = await connect_to(p.port, lambda pid, o=owner, s=same: (pid == o) == s, errors, phase)
        pusher = Pusher(Row(f"{name} stream", False, "sse"), conn, channel, tab)
        pusher.reader = asyncio.create_task(pusher.read(await open_stream(channel, tab)))
        pushers.append(pusher)
        res.workers[name], res.samples[name] = (owner, streamer), []
    for i in range(plan.warmup + plan.pushes):
        for name, pusher in zip(res.samples, pushers, strict=True):
            if pusher.broken:
                continue
            latency = await pusher.push(errors)
            if i >= plan.warmup and latency is not None:
                res.samples[name].append(latency)
    for pusher in pushers:
        pusher.close()
    if res.clicks_elsewhere:
        errors.fail("push", f"{res.clicks_elsewhere} clicks were not answered by their page's owner")
    return res


# --- 4. idle cost ---------------------------------------------------------------------------


@dataclass
class Idle:
    pages: int
    worker_cpu_s: float  # the worker, over the span (schedstat, ns resolution)
    master_cpu_s: float  # hypercorn's master process
    span_s: float
    lease: bool  # the worker holds a lease in the store (so renews it and polls its inbox)

    @property
    def share(self) -> float:
        return self.worker_cpu_s / self.span_s


async def hold_pages(port: int, n: int, errors: Errors) -> list[tuple[Connection, asyncio.Task[None]]]:
    """``n`` pages, each in its own session, its shared stream held open and read (drained),
    as a browser tab does; the page is loaded on the stream's connection."""
    held: list[tuple[Connection, asyncio.Task[None]]] = []
    limit = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def hold() -> None:
        async with limit:
            conn, tab, _ = await open_owned_tab(port, errors, "idle")
            events = await open_stream(conn, tab)
            held.append((conn, asyncio.create_task(drain(events))))

    await asyncio.gather(*(hold() for _ in range(n)))
    return held


def has_lease(server: Server) -> bool:
    """Whether a worker lease (``w:<worker id>``) is in the server's store: a peek at its diskcache."""
    import diskcache

    with diskcache.Cache(str(Path(server.tmp.name) / "sessions")) as cache:
        return any(isinstance(k, str) and k.startswith("w:") for k in cache.iterkeys())


async def idle(plan: Plan, errors: Errors, logs: list[str]) -> tuple[list[Idle], float, float]:
    """Three one-worker servers side by side, measured over the same span: one with no pages,
    one with a single page, one with ``plan.idle_pages`` (streams held). Also: the client's and
    the whole machine's CPU over the span."""
    counts = (0, 1, plan.idle_pages)
    async with AsyncExitStack() as stack:
        pools = [await stack.enter_async_context(pool("counter_debug", 1, logs)) for _ in counts]
        held = []
        for p, n in zip(pools, counts, strict=True):
            held += await hold_pages(p.port, n, errors)
        await asyncio.sleep(IDLE_SETTLE_S)
        cpu = lambda: [(exact_cpu_s(p.workers[0]), exact_cpu_s(p.server.proc.pid)) for p in pools]
        before = cpu(), client_cpu_s(), machine_cpu_s(), time.perf_counter()
        await asyncio.sleep(plan.idle_s)
        after = cpu(), client_cpu_s(), machine_cpu_s(), time.perf_counter()
        span = after[3] - before[3]
        for conn, task in held:
            if task.done():  # a held stream ended or broke
                errors.fail("idle", f"a stream ended: {task.exception()!r}")
            task.cancel()
            conn.close()
        runs = [
            Idle(n, w1 - w0, m1 - m0, span, has_lease(p.server))
            for p, n, (w0, m0), (w1, m1) in zip(pools, counts, before[0], after[0], strict=True)
        ]
    return runs, (after[1] - before[1]) / span, (after[2] - before[2]) / span


# --- the measurements -------------------------------------------------------------------------


@dataclass
class Results:
    load: list[WorkersLoad] = field(default_factory=list)
    click: ClickLatency | None = None
    push: PushLatency | None = None
    idle: list[Idle] = field(default_factory=list)
    idle_client_share: float = math.nan
    idle_machine_share: float = math.nan
    errors: Errors = field(default_factory=Errors)
    log_lines: list[str] = field(default_factory=list)


async def measure(plan: Plan) -> Results:
    res, started = Results(), time.monotonic()
    err, logs = res.errors, res.log_lines
    runs = [(n, "mixed") for n in plan.workers] + [(n, "owner") for n in plan.owner_only]
    runs += [(n, "accepted") for n in plan.as_accepted]
    for n, mode in runs:
        progress(started, f"throughput, {n} worker{'s' * (n > 1)}, {plan.users} users, {MODES[mode]}")
        async with pool("counter_debug", n, logs) as p:
            res.load.append(await throughput(p, plan, err, mode))

    progress(started, f"click latency, forwarded vs owner-local ({LATENCY_WORKERS} workers)")
    async with pool("counter_debug", LATENCY_WORKERS, logs) as p:
        res.click = await click_latency(p, plan, err)

    progress(started, f"push latency, stream on the owner vs another worker ({LATENCY_WORKERS} workers)")
    async with pool("push_debug", LATENCY_WORKERS, logs) as p:
        res.push = await push_latency(p, plan, err)

    progress(started, f"idle CPU: 0, 1 and {plan.idle_pages} pages with streams, {plan.idle_s:g} s")
    res.idle, res.idle_client_share, res.idle_machine_share = await idle(plan, err, logs)
    progress(started, "done")
    return res


# --- the report -------------------------------------------------------------------------------


def ms(samples: Sequence[float], q: float) -> float:
    return pct(samples, q) * 1e3 if samples else math.nan


def ratio(x: float, base: float) -> str:
    return f"{x / base:.2f}×" if base and not math.isnan(x) and not math.isnan(base) else "—"


def table(res: Results, plan: Plan) -> str:
    out = [
        (f"1. throughput: counter, {plan.users} users, {plan.load_s:g} s; each user's page GET and clicks on "
         "separate connections, placed:"),
        *(f"   {mode}: {text}" for mode, text in MODES.items()),
        "",
        ("| workers | clicks/s | ÷ 1 worker | p50 / p99 ms | clicks per server-CPU-s | ÷ 1 worker "
         "| server CPU, % of a core | forwarded clicks (users clicking on a non-owner) |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = next((wl.run for wl in res.load if wl.workers == 1 and wl.mode == "mixed"), None)
    for wl in res.load:
        r = wl.run
        out.append(
            f"| {wl.workers}{'' if wl.mode == 'mixed' else ', ' + wl.mode} | {num(r.per_s, 0)} "
            f"| {ratio(r.per_s, base.per_s) if base else '—'} "
            f"| {ms(r.latencies, 0.5):.2f} / {ms(r.latencies, 0.99):.2f} | {num(r.per_cpu_s, 0)} "
            f"| {ratio(r.per_cpu_s, base.per_cpu_s) if base else '—'} | {r.server_cpu_s / r.elapsed_s:.0%} "
            f"| {wl.spread.forwarded_share:.0%} ({wl.spread.users_forwarded} of {r.users} users) |"
        )
    if res.click:
        c = res.click
        out += [
            "",
            f"2. sequential click latency, {LATENCY_WORKERS} workers, one page, clicks alternating",
            "",
            "| click answered by | clicks | p50 ms | p99 ms |",
            "|---|---:|---:|---:|",
            f"| the page's owner (in-process) | {len(c.owner)} | {ms(c.owner, 0.5):.2f} | {ms(c.owner, 0.99):.2f} |",
            (f"| another worker (relayed over the bus) | {len(c.forwarded)} | {ms(c.forwarded, 0.5):.2f} "
             f"| {ms(c.forwarded, 0.99):.2f} |"),
            (f"| forwarded − owner | | {ms(c.forwarded, 0.5) - ms(c.owner, 0.5):+.2f} "
             f"| {ms(c.forwarded, 0.99) - ms(c.owner, 0.99):+.2f} |"),
        ]
    if res.push:
        s = res.push.samples
        own, other = s.get("owner", []), s.get("non-owner", [])
        out += [
            "",
            f"3. push latency (tag.update() → event read by the client), {LATENCY_WORKERS} workers, pushes alternating",
            "",
            "| shared stream held by | pushes | p50 ms | p99 ms |",
            "|---|---:|---:|---:|",
            f"| the page's owner | {len(own)} | {ms(own, 0.5):.2f} | {ms(own, 0.99):.2f} |",
            f"| another worker (relays long-polls) | {len(other)} | {ms(other, 0.5):.2f} | {ms(other, 0.99):.2f} |",
            f"| non-owner − owner | | {ms(other, 0.5) - ms(own, 0.5):+.2f} | {ms(other, 0.99) - ms(own, 0.99):+.2f} |",
        ]
    if res.idle:
        out += [
            "",
            f"4. idle CPU, 1 worker, {res.idle[0].span_s:.0f} s, the three servers side by side",
            "",
            "| open pages (streams held) | worker CPU, % of a core | ms of CPU per s | lease running |",
            "|---:|---:|---:|---|",
        ]
        for i in res.idle:
            out.append(f"| {i.pages} | {i.share:.3%} | {i.share * 1e3:.2f} | {'yes' if i.lease else 'no'} |")
    return "\n".join(out)


def raw(res: Results) -> str:
    lines = []
    for wl in res.load:
        r, s = wl.run, wl.spread
        others = r.machine_cpu_s - r.server_cpu_s - r.client_cpu_s
        lines.append(
            f"load  {wl.workers} workers, {wl.mode}: users={r.users} clicks={r.clicks} in {r.elapsed_s:.2f} s; "
            "CPU s (share of one "
            f"core): server {r.server_cpu_s:.2f} ({r.server_cpu_s / r.elapsed_s:.0%}, {wl.processes} processes), "
            f"client {r.client_cpu_s:.2f} ({r.client_cpu_s / r.elapsed_s:.0%}), "
            f"other processes {others:.2f} ({others / r.elapsed_s:.0%}); latency {describe(r.latencies)}"
        )
        lines.append(
            f"      clicks answered by the owner {s.owner}, by another worker {s.forwarded} "
            f"({s.forwarded_share:.1%}); users clicking mostly on another worker than their page's owner "
            f"{s.users_forwarded} of {r.users}; click connections re-pinned after hypercorn closed them: "
            f"{wl.repins}; clicks by answering pid {dict(sorted(s.by_worker.items()))}; "
            f"pages by owner pid {dict(sorted(s.owners.items()))}"
        )
    if res.click:
        c = res.click
        lines.append(f"click owner-local  {describe(c.owner)}")
        lines.append(f"click forwarded    {describe(c.forwarded)}")
        lines.append(
            f"      connections landed on pids {c.workers}; timed clicks answered by a worker of the other kind: "
            f"{c.switched}"
        )
    if res.push:
        for name, samples in res.push.samples.items():
            lines.append(f"push  {name:9} stream  {describe(samples)}")
        lines.append(
            f"      (page owner pid, stream pid): {res.push.workers}; clicks not answered by their owner: "
            f"{res.push.clicks_elsewhere}"
        )
    for i in res.idle:
        lines.append(
            f"idle  {i.pages:5} pages: worker {i.worker_cpu_s * 1e3:.1f} ms CPU in {i.span_s:.1f} s ({i.share:.3%}), "
            f"hypercorn master {i.master_cpu_s * 1e3:.1f} ms ({i.master_cpu_s / i.span_s:.3%}); lease held: {i.lease}"
        )
    if res.idle:
        lines.append(
            f"      over the idle span: client {res.idle_client_share:.1%} of a core, "
            f"whole machine {res.idle_machine_share:.1%} of a core"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short smoke run (~1.5 minutes)")
    parser.add_argument("--json", type=Path, help="also write every sample (seconds) to this file")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    raise_open_files(plan.idle_pages + 3 * plan.users + 512)
    print(machine())
    print(f"plan: {plan}; latency measurements with {LATENCY_WORKERS} workers\n", flush=True)
    res = asyncio.run(measure(plan))
    print(table(res, plan))
    print("\nraw:\n" + raw(res))
    if args.json:
        data = {
            "plan": asdict(plan),
            "load": [
                {
                    **asdict(wl.run),
                    "workers": wl.workers,
                    "mode": wl.mode,
                    "owner": wl.spread.owner,
                    "forwarded": wl.spread.forwarded,
                }
                for wl in res.load
            ],
            "click": asdict(res.click) if res.click else None,
            "push": asdict(res.push) if res.push else None,
            "idle": [asdict(i) for i in res.idle],
            "errors": dict(res.errors.counts),
        }
        args.json.write_text(json.dumps(data))
    return res.errors.report(res.log_lines, "every response 2xx, every push arrived")


if __name__ == "__main__":
    sys.exit(main())
