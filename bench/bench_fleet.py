#!/usr/bin/env python
"""Many pages on one worker, on uvicorn (httptools + uvloop), on hypercorn (default config) and on Granian,
one server at a time on 127.0.0.1:

1. **A fleet of clocks**: 1,000 ``ticker`` pages (bench/tags.py ``Ticker``), each in its own
   session, each pushing ``time.monotonic()`` once a second with ``await tag.update()``; the
   client holds every page's shared stream and reads every event. Does the worker keep up
   (about one event per page per second, a lag that does not grow over the run)?
2. **New visitors beside clicking users**: 16 users click in a loop on their own ``counter``
   pages, first alone, then while a separate client process opens new pages as new visitors
   (no cookie, a fresh connection each) at a steady rate. How much do page creations, which
   run on the event loop, delay the clicks?

The servers log their full garbage collections (bench/gcprobe, put on their PYTHONPATH; off with
``--no-gc-probe``): those pauses set the tails. See bench/README.md.

    /work/venv/bin/python bench/bench_fleet.py [--quick] [--json FILE] [--no-gc-probe]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import itertools
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_core import (
    HOST,
    LOAD_WARMUP,
    OPEN_CONCURRENCY,
    Errors,
    Tab,
    client_cpu_s,
    describe,
    machine,
    machine_cpu_s,
    num,
    open_tab,
    pct,
    progress,
    raise_open_files,
)
from bench.bench_peers import (
    ENVS,
    FAILURES,
    GET,
    RUNNER,
    STAMP,
    Installed,
    Served,
    Unavailable,
    fresh,
    install,
    process_tree,
    serving,
    why,
)
from bench.bench_proxy import exact_cpu_s, open_stream, stat_cpu_s
from bench.loadgen import Connection, Response
from htag_sse.testing.boot import boot_config

#: The servers, each serving from one worker process (uvicorn: itself; hypercorn, Granian: the
#: worker it spawns), with bench_peers' command lines.
SERVERS = {"uvicorn": RUNNER["htag-sse (uvicorn)"], "hypercorn": RUNNER["htag-sse (hypercorn)"],
           "granian": RUNNER["htag-sse (granian)"]}  # fmt: skip
#: A ticker page's period (bench/tags.py ``Ticker``: ``await asyncio.sleep(1)`` between pushes).
TICK_S = 1.0
#: Pause between the last page opened and the measured span: every page ticks, and any event
#: pushed before its stream was open has been replayed.
SETTLE_S = 2.0
#: Period of the client's own event-loop probe (a sleep whose overshoot is the client's lag).
PROBE_S = 0.01
#: The verdict "falls behind": the median lag of the last quarter exceeds the first quarter's
#: by more than this and by more than half, or pages get fewer than MIN_RATE events a second.
GROWTH_S = 0.001
MIN_RATE = 0.98
#: The claim checked by measurement 2: a new visitor delays other users' clicks by at most this.
STALL_BUDGET_S = 0.002
#: Client CPU (share of one core) above which the client may be what limits the figures.
CLIENT_BUSY = 0.7
#: Longest wait for the visitor process to start or to report.
CHILD_TIMEOUT_S = 60.0
#: Put on the servers' PYTHONPATH: its sitecustomize logs their full garbage collections.
GC_PROBE = ROOT / "bench" / "gcprobe"


@dataclass(frozen=True)
class Plan:
    pages: int  # ticker pages held open
    ticker_s: float  # measured span of the fleet, after all pages are open and SETTLE_S
    users: int  # clicking users of measurement 2
    phase_s: float  # length of each phase of measurement 2
    rate: float  # new visitors per second in its second phase
    warmup_visitors: int  # untimed new visitors before the first phase
    solo_visitors: int  # then new visitors one at a time, no clicks: their latency and server CPU


FULL = Plan(pages=1000, ticker_s=20.0, users=16, phase_s=10.0, rate=20.0, warmup_visitors=20, solo_visitors=100)
QUICK = Plan(pages=1000, ticker_s=10.0, users=16, phase_s=5.0, rate=20.0, warmup_visitors=10, solo_visitors=50)


# --- CPU of the server ------------------------------------------------------------------------


def tree_cpu(server: Served) -> dict[int, float]:
    """CPU seconds of each process of the server's tree."""
    cpu = {}
    for pid in process_tree(server.proc.pid):
        try:
            cpu[pid] = stat_cpu_s(pid)
        except OSError:  # the process just ended
            continue
    return cpu


def tree_exact_cpu_s(server: Served) -> float:
    """CPU seconds of the server's tree, to the nanosecond (schedstat)."""
    total = 0.0
    for pid in process_tree(server.proc.pid):
        try:
            total += exact_cpu_s(pid)
        except OSError:
            continue
    return total


class GcLog:
    """The full garbage collections the servers' processes logged (bench/gcprobe) into a directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def pauses(self, t0: float, t1: float) -> list[float]:
        """Durations (s) of the full collections that ended between t0 and t1 (``time.monotonic()``)."""
        found = []
        for log in self.path.glob("*.log"):
            for line in log.read_text().splitlines():
                at, duration, _ = line.split()
                if t0 <= float(at) <= t1:
                    found.append(float(duration))
        return found


@contextmanager
def gc_logged(probe: bool) -> Iterator[GcLog | None]:
    """While it lasts, servers started (their environment copies ours) log their full collections."""
    if not probe:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="htag-sse-bench-gc-") as tmp:
        os.environ["BENCH_GC_LOG"] = tmp
        try:
            yield GcLog(Path(tmp))
        finally:
            del os.environ["BENCH_GC_LOG"]


@dataclass
class Span:
    """CPU seconds used over a span of ``elapsed_s`` seconds."""

    elapsed_s: float
    server_s: float  # the server's whole process tree
    worker_s: float  # its busiest process: the worker
    client_s: float  # this process
    machine_s: float  # every process, every core
    gc: list[float] | None = None  # the server's full garbage collections in the span (s); None: not logged

    def gc_text(self) -> str:
        if self.gc is None:
            return "not logged"
        return f"{len(self.gc)}, longest {max(self.gc, default=0) * 1e3:.1f} ms" if self.gc else "0"

    @property
    def others_s(self) -> float:
        """Every other process of the machine (the visitor process of measurement 2 included)."""
        return self.machine_s - self.server_s - self.client_s

    def share(self, cpu_s: float) -> float:
        return cpu_s / self.elapsed_s if self.elapsed_s else math.nan

    def describe(self) -> str:
        others = self.others_s
        return (
            f"CPU s over {self.elapsed_s:.2f} s (share of one core): server tree {self.server_s:.2f} "
            f"({self.share(self.server_s):.0%}), its worker {self.worker_s:.2f} ({self.share(self.worker_s):.0%}), "
            f"client {self.client_s:.2f} ({self.share(self.client_s):.0%}), "
            f"other processes {others:.2f} ({self.share(others):.0%}); server full GCs: {self.gc_text()}"
            + (f" ({', '.join(f'{g * 1e3:.1f}' for g in self.gc)} ms)" if self.gc else "")
        )


class Meter:
    """Takes the CPU readings (and the server's full collections) of one span."""

    def __init__(self, server: Served, gclog: GcLog | None) -> None:
        self.server, self.gclog = server, gclog
        self.before = tree_cpu(server), client_cpu_s(), machine_cpu_s(), time.monotonic()

    def stop(self) -> Span:
        tree, client, whole, now = tree_cpu(self.server), client_cpu_s(), machine_cpu_s(), time.monotonic()
        used = [s - self.before[0].get(pid, 0.0) for pid, s in tree.items()]
        pauses = self.gclog.pauses(self.before[3], now) if self.gclog else None
        return Span(now - self.before[3], sum(used), max(used, default=0.0), client - self.before[1],
                    whole - self.before[2], pauses)  # fmt: skip


def quiet_gc() -> None:
    """Before a measured span: collect, then freeze what the client holds, so that its own full
    collections (which would scan the 1,000 streams' objects) do not delay the reading of events."""
    gc.collect()
    gc.freeze()


# --- 1. a fleet of clocks ---------------------------------------------------------------------


@dataclass
class Fleet:
    pages: int  # pages whose stream was held
    open_s: float  # time to open them all (OPEN_CONCURRENCY at a time)
    span: Span  # the measured span
    per_page: list[int]  # events each page received in the span
    lags: list[tuple[float, float]] = field(repr=False)  # (arrival − span start, lag) of each event of the span
    periods: list[float] = field(repr=False)  # stamp − previous stamp − TICK_S, both events in the span
    client_lag: list[float] = field(repr=False)  # the client's loop probe: overshoot of each PROBE_S sleep

    @property
    def rate(self) -> float:
        """Events per page per second."""
        return sum(self.per_page) / (self.pages * self.span.elapsed_s) if self.pages else math.nan

    def quarter(self, which: int) -> list[float]:
        """The lags of the events that arrived in the first (0) … last (3) quarter of the span."""
        q = self.span.elapsed_s / 4
        return [lag for at, lag in self.lags if which * q <= at < (which + 1) * q]

    @property
    def slope(self) -> float:
        """Least-squares trend of the lag over the span (s of lag per s of run)."""
        if len(self.lags) < 2:
            return math.nan
        xs, ys = zip(*self.lags, strict=True)
        return statistics.linear_regression(xs, ys).slope

    @property
    def falls_behind(self) -> bool:
        if not (self.quarter(0) and self.quarter(3)):
            return True
        first, last = pct(self.quarter(0), 0.5), pct(self.quarter(3), 0.5)
        grows = last - first > GROWTH_S and last > 1.5 * first
        return grows or self.rate < MIN_RATE


def ticker_tab(r: Response) -> Tab:
    """The tab of a ``ticker`` page (it has no button: no click)."""
    config = boot_config(r.body.decode())
    return Tab(r.headers["set-cookie"].split(";", 1)[0], config["page"], config["base"], b"")


async def fleet(server: Served, plan: Plan, errors: Errors, gclog: GcLog | None) -> Fleet:
    """Open ``plan.pages`` ticker pages, each in its own session, each page's shared stream held
    on the connection that loaded it and read by its own task; measure ``plan.ticker_s``."""
    phase = "fleet"
    seen: list[list[tuple[float, float]]] = []  # per page: (arrival, stamp) of every event
    held: list[tuple[Connection, asyncio.Task[None]]] = []
    limit = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def read(tab: Tab, events, log: list[tuple[float, float]]) -> None:  # type: ignore[no-untyped-def]
        try:
            async for name, data in events:
                at = time.monotonic()
                stamp = STAMP.search(data)
                if name != tab.page or stamp is None or '"body"' in data or '"err"' in data:
                    errors.fail(phase, f"unexpected event {name!r}: {data[:120]!r}")
                    continue
                log.append((at, float(stamp.group(1))))
            errors.fail(phase, "a stream ended")
        except FAILURES as e:
            errors.fail(phase, f"a stream broke: {why(e)}")

    async def hold() -> None:
        async with limit:
            conn = await Connection.open(HOST, server.port)
            try:
                r = await conn.send(GET)
                if not errors.check(phase, r):
                    conn.close()
                    return
                tab = ticker_tab(r)
                events = await open_stream(conn, tab)
            except (*FAILURES, RuntimeError) as e:
                errors.fail(phase, f"could not open a page and its stream: {why(e)}")
                conn.close()
                return
            log: list[tuple[float, float]] = []
            seen.append(log)
            held.append((conn, asyncio.create_task(read(tab, events, log))))

    started = time.perf_counter()
    await asyncio.gather(*(hold() for _ in range(plan.pages)))
    open_s = time.perf_counter() - started
    quiet_gc()  # before the settling pause: the events it delays are not measured
    await asyncio.sleep(SETTLE_S)

    client_lag: list[float] = []

    async def probe() -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(PROBE_S)
            client_lag.append(time.perf_counter() - t - PROBE_S)

    prober = asyncio.create_task(probe())
    t0, meter = time.monotonic(), Meter(server, gclog)
    await asyncio.sleep(plan.ticker_s)
    span, t1 = meter.stop(), time.monotonic()
    gc.unfreeze()
    prober.cancel()
    for conn, task in held:
        task.cancel()
        conn.close()

    per_page, lags, periods = [], [], []
    for log in seen:
        inside = [(at, stamp) for at, stamp in log if t0 <= at < t1]
        per_page.append(len(inside))
        lags += [(at - t0, at - stamp) for at, stamp in inside]
        periods += [b - a - TICK_S for (_, a), (_, b) in itertools.pairwise(inside)]
    lags.sort()
    return Fleet(len(seen), open_s, span, per_page, lags, periods, client_lag)


# --- 2. new visitors beside clicking users ----------------------------------------------------


@dataclass
class Phase:
    clicks: list[float] = field(default_factory=list, repr=False)  # latencies (s)
    sent: list[float] = field(default_factory=list, repr=False)  # when each click was sent (time.monotonic())
    span: Span | None = None
    visits: list[tuple[float, float]] = field(default_factory=list, repr=False)  # new visitors' GETs: (start, end)
    planned: int = 0  # new visitors the phase was to bring
    visitor_cpu_s: float = math.nan  # the visitor process's own CPU

    @property
    def per_s(self) -> float:
        return len(self.clicks) / self.span.elapsed_s if self.span else math.nan

    @property
    def visitors(self) -> list[float]:
        """The new visitors' GET latencies (s)."""
        return [end - start for start, end in self.visits]

    def split(self) -> tuple[list[float], list[float]]:
        """The latencies of the clicks in flight while some new visitor's GET was (overlapping it),
        and of the others: the same phase, so the same noise from the rest of the machine."""
        spans: list[list[float]] = []  # the visits' time spans, merged where they overlap
        for start, end in sorted(self.visits):
            if spans and start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
        starts = [a for a, _ in spans]
        during, others = [], []
        for sent, latency in zip(self.sent, self.clicks, strict=True):
            i = bisect.bisect_right(starts, sent + latency) - 1  # the last visit begun before the click ended
            (during if i >= 0 and spans[i][1] >= sent else others).append(latency)
        return during, others


@dataclass
class Arrivals:
    alone: Phase
    visited: Phase
    solo: list[float] = field(repr=False)  # GET latencies of new visitors one at a time, nobody clicking
    solo_cpu_s: float  # the server's CPU per such visitor (schedstat)

    @property
    def visit_cpu_s(self) -> float:
        """Server CPU per new visitor, estimated: the second phase's CPU minus its clicks at the
        first phase's CPU per click, divided among the visitors (rough: clock ticks, a saturated server)."""
        a, b = self.alone, self.visited
        if not (a.span and b.span and a.clicks and b.visitors):
            return math.nan
        per_click = a.span.worker_s / len(a.clicks)
        return (b.span.worker_s - per_click * len(b.clicks)) / len(b.visitors)


async def visitor_process(port: int, rate: float, duration_s: float) -> tuple[asyncio.subprocess.Process, float]:
    """Start the separate client that brings new visitors (this script, ``--visitors``); once it
    is ready, tell it when to start: that moment (``time.monotonic()``)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--visitors", str(port), str(rate), str(duration_s),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin and proc.stdout
    line = await asyncio.wait_for(proc.stdout.readline(), CHILD_TIMEOUT_S)
    if line.strip() != b"ready":
        raise Unavailable(f"the visitor process said {line[:200]!r}")
    start = time.monotonic() + 0.2
    proc.stdin.write(f"{start!r}\n".encode())
    await proc.stdin.drain()
    return proc, start


async def visitors_report(proc: asyncio.subprocess.Process, into: Phase, errors: Errors, phase: str) -> None:
    assert proc.stdout
    out = await asyncio.wait_for(proc.stdout.read(), CHILD_TIMEOUT_S)
    await proc.wait()
    if proc.returncode:
        errors.fail(phase, f"the visitor process exited with status {proc.returncode}")
        return
    report = json.loads(out)
    into.visits = [(start, end) for start, end in report["visits"]]
    into.planned, into.visitor_cpu_s = report["planned"], report["cpu_s"]
    for why_failed in report["failures"]:
        errors.fail(phase, why_failed)


async def visitors_main(port: int, rate: float, duration_s: float) -> dict:  # type: ignore[type-arg]
    """The visitor process: ``rate`` new visitors a second for ``duration_s``, each a ``GET /``
    on a fresh connection without a cookie, started on schedule whether or not the previous ones
    were answered. Timed from the connect to the end of the answer (``time.monotonic()``,
    system-wide: the parent compares it with its clicks)."""
    print("ready", flush=True)
    start = float(await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline))
    visits: list[tuple[float, float]] = []
    failures: list[str] = []

    async def visit() -> None:
        t = time.monotonic()
        try:
            r = await fresh(port, GET)
        except FAILURES as e:
            failures.append(f"a new visitor's GET failed: {why(e)}")
            return
        visits.append((t, time.monotonic()))
        if r.status != 200 or not r.headers.get("set-cookie", "").startswith("htag_sid="):
            failures.append(f"a new visitor's GET answered {r.status} {r.body[:120]!r}")

    planned = round(rate * duration_s)
    tasks = []
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    for k in range(planned):
        await asyncio.sleep(max(0.0, start + k / rate - time.monotonic()))
        tasks.append(asyncio.create_task(visit()))
    await asyncio.gather(*tasks)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    return {"visits": visits, "planned": planned, "failures": failures, "cpu_s": cpu_s}


async def arrivals(server: Served, plan: Plan, errors: Errors, gclog: GcLog | None) -> Arrivals:
    """``plan.users`` users (own connection, session and counter page) click in a loop: a phase
    alone, then a phase while the visitor process brings ``plan.rate`` new visitors a second."""
    conns = [await Connection.open(HOST, server.port) for _ in range(plan.users)]
    clicks = [(await open_tab(conn)).click for conn in conns]
    done = [0] * plan.users  # successful clicks of each user, warm-up included
    last: list[Response | None] = [None] * plan.users

    async def user(i: int, until: float, into: Phase | None, phase: str) -> None:
        conn, click = conns[i], clicks[i]
        try:
            while (t := time.monotonic()) < until:
                r = await conn.send(click)
                if into is not None:
                    into.clicks.append(time.monotonic() - t)
                    into.sent.append(t)
                if errors.check(phase, r):
                    done[i] += 1
                    last[i] = r
        except FAILURES as e:
            errors.fail(phase, f"a user stopped: {why(e)}")

    async def run(phase: str, start: float, into: Phase) -> None:
        quiet_gc()
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        meter = Meter(server, gclog)
        await asyncio.gather(*(user(i, start + plan.phase_s, into, phase) for i in range(plan.users)))
        into.span = meter.stop()
        gc.unfreeze()

    warm_until = time.monotonic() + 0.5  # at least LOAD_WARMUP clicks each, and half a second
    await asyncio.gather(*(user(i, warm_until, None, "warm-up") for i in range(plan.users)))
    for _ in range(plan.warmup_visitors):  # the first pages of a class cost more (statics)
        errors.check("warm-up", await fresh(server.port, GET))
    if min(done) < LOAD_WARMUP:
        await asyncio.gather(*(user(i, time.monotonic() + 0.5, None, "warm-up") for i in range(plan.users)))

    solo: list[float] = []  # new visitors one at a time, nobody clicking: the server CPU a visitor costs
    cpu = tree_exact_cpu_s(server)
    for _ in range(plan.solo_visitors):
        t = time.perf_counter()
        r = await fresh(server.port, GET)
        solo.append(time.perf_counter() - t)
        errors.check("new visitors alone", r)
    solo_cpu_s = (tree_exact_cpu_s(server) - cpu) / plan.solo_visitors

    alone, visited = Phase(), Phase()
    await run("clicks alone", time.monotonic() + 0.2, alone)
    proc, start = await visitor_process(server.port, plan.rate, plan.phase_s)
    try:
        await run("clicks with new visitors", start, visited)
        await visitors_report(proc, visited, errors, "new visitors")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    for conn in conns:
        conn.close()
    for i, r in enumerate(last):  # the counter saw every click: its span shows their number
        if r is None or f">{done[i]}<".encode() not in r.body:
            errors.fail("clicks", f"user {i}: {done[i]} clicks, the counter says {r.body[:120] if r else None!r}")
    return Arrivals(alone, visited, solo, solo_cpu_s)


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Results:
    installed: dict[str | None, Installed | str]  # what bench_peers.serving needs
    fleet: dict[str, Fleet] = field(default_factory=dict)  # server -> figures
    arrivals: dict[str, Arrivals] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # "<measure> <server>" -> why not measured
    errors: Errors = field(default_factory=Errors)
    log_lines: list[str] = field(default_factory=list)


async def measure(plan: Plan, res: Results, probe: bool) -> None:
    started = time.monotonic()
    for name, runner in SERVERS.items():
        progress(started, f"fleet of {plan.pages} ticking pages, {plan.ticker_s:g} s: {name}")
        try:
            with gc_logged(probe) as gclog:
                async with serving(runner, "ticker", res) as server:  # type: ignore[arg-type]
                    res.fleet[name] = await fleet(server, plan, res.errors, gclog)
        except FAILURES as e:
            res.missing[f"fleet {name}"] = why(e)
    for name, runner in SERVERS.items():
        progress(started, f"{plan.users} users clicking, {plan.phase_s:g} s alone then with new visitors: {name}")
        try:
            with gc_logged(probe) as gclog:
                async with serving(runner, "counter", res) as server:  # type: ignore[arg-type]
                    res.arrivals[name] = await arrivals(server, plan, res.errors, gclog)
        except FAILURES as e:
            res.missing[f"arrivals {name}"] = why(e)
    progress(started, "done")


# --- the report -------------------------------------------------------------------------------


def quantile(samples: Sequence[float], q: float) -> float:
    """bench_core's nearest-rank percentile; NaN (printed "—") for no samples."""
    return pct(samples, q) if samples else math.nan


def ms(x: float) -> str:
    return num(x * 1e3, 2)


def rows_table(header: str, rows: Sequence[tuple[str, dict[str, str]]]) -> str:
    lines = [f"| {header} | " + " | ".join(SERVERS) + " |", "|---|" + "---:|" * len(SERVERS)]
    lines += [f"| {label} | " + " | ".join(cells.get(s, "n/a") for s in SERVERS) + " |" for label, cells in rows]
    return "\n".join(lines)


def fleet_table(res: Results, plan: Plan) -> str:
    def row(label: str, figure) -> tuple[str, dict[str, str]]:  # type: ignore[no-untyped-def]
        return label, {s: figure(f) for s, f in res.fleet.items()}

    q = lambda samples, p: ms(quantile(samples, p))
    return rows_table(f"1. {plan.pages} pages ticking once a second, one worker", [
        row("pages held (time to open them, s)", lambda f: f"{f.pages} ({f.open_s:.1f})"),
        row("events per page per second", lambda f: f"{f.rate:.3f}"),
        row("fewest / most events of a page", lambda f: f"{min(f.per_page, default=0)} / {max(f.per_page, default=0)}"),
        row("lag p50 ms", lambda f: q([lag for _, lag in f.lags], 0.5)),
        row("lag p99 ms", lambda f: q([lag for _, lag in f.lags], 0.99)),
        row("lag max ms", lambda f: q([lag for _, lag in f.lags], 1.0)),
        row("lag p50 ms, first → last quarter", lambda f: f"{q(f.quarter(0), 0.5)} → {q(f.quarter(3), 0.5)}"),
        row("lag p99 ms, first → last quarter", lambda f: f"{q(f.quarter(0), 0.99)} → {q(f.quarter(3), 0.99)}"),
        row("lag trend, ms per minute", lambda f: num(f.slope * 60e3, 3)),
        row("tick period − 1 s, p50 / p99 ms", lambda f: f"{q(f.periods, 0.5)} / {q(f.periods, 0.99)}"),
        row("server worker CPU, % of a core", lambda f: f"{f.span.share(f.span.worker_s):.0%}"),
        row("client CPU, % of a core", lambda f: f"{f.span.share(f.span.client_s):.0%}"),
        row("server full GCs in the span", lambda f: f.span.gc_text()),
        row("client loop lag p99 / max ms", lambda f: f"{q(f.client_lag, 0.99)} / {q(f.client_lag, 1.0)}"),
        row("other processes, % of a core", lambda f: f"{f.span.share(f.span.others_s):.0%}"),
        row("falls behind?", lambda f: "yes" if f.falls_behind else "no"),
    ])  # fmt: skip


def arrivals_table(res: Results, plan: Plan) -> str:
    def row(label: str, figure) -> tuple[str, dict[str, str]]:  # type: ignore[no-untyped-def]
        return label, {s: figure(a) for s, a in res.arrivals.items()}

    rows = []
    for label, p in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
        rows += [
            row(f"click {label} ms: alone → with new visitors",
                lambda a, p=p: f"{ms(quantile(a.alone.clicks, p))} → {ms(quantile(a.visited.clicks, p))}"),
            row(f"click {label}: growth ms",
                lambda a, p=p: f"{(quantile(a.visited.clicks, p) - quantile(a.alone.clicks, p)) * 1e3:+.2f}"),
        ]  # fmt: skip
    rows += [
        row("clicks during a visitor's GET: n, p50 / p99 / max ms", lambda a: overlap(a.visited.split()[0])),
        row("the phase's other clicks: n, p50 / p99 / max ms", lambda a: overlap(a.visited.split()[1])),
        row("clicks/s: alone → with new visitors", lambda a: f"{a.alone.per_s:,.0f} → {a.visited.per_s:,.0f}"),
        row("new visitors (planned)", lambda a: f"{len(a.visited.visitors)} ({a.visited.planned})"),
        row("new visitor GET p50 / p99 ms", lambda a: f"{ms(quantile(a.visited.visitors, 0.5))} / "
            f"{ms(quantile(a.visited.visitors, 0.99))}"),
        row("one visitor alone: GET p50 ms, server CPU ms", lambda a: f"{ms(quantile(a.solo, 0.5))}, "
            f"{ms(a.solo_cpu_s)}"),
        row("server full GCs: alone → with new visitors", lambda a: f"{a.alone.span.gc_text()} → "
            f"{a.visited.span.gc_text()}"),
        row("server worker CPU, % of a core", lambda a: f"{a.alone.span.share(a.alone.span.worker_s):.0%} → "
            f"{a.visited.span.share(a.visited.span.worker_s):.0%}"),
        row("click client CPU, % of a core", lambda a: f"{a.alone.span.share(a.alone.span.client_s):.0%} → "
            f"{a.visited.span.share(a.visited.span.client_s):.0%}"),
        row("other processes, % of a core", lambda a: f"{a.alone.span.share(a.alone.span.others_s):.0%} → "
            f"{a.visited.span.share(a.visited.span.others_s):.0%}"),
        row(f"p99 and max grow ≤ {STALL_BUDGET_S * 1e3:g} ms?", lambda a: "yes" if stall_ok(a) else "no"),
    ]  # fmt: skip
    return rows_table(
        f"2. {plan.users} users clicking, {plan.phase_s:g} s alone, then {plan.phase_s:g} s with "
        f"{plan.rate:g} new visitors/s", rows,
    )  # fmt: skip


def overlap(latencies: list[float]) -> str:
    if not latencies:
        return "0"
    figures = " / ".join(ms(quantile(latencies, p)) for p in (0.5, 0.99, 1.0))
    return f"{len(latencies)}, {figures}"


def stall_ok(a: Arrivals) -> bool:
    return all(quantile(a.visited.clicks, p) - quantile(a.alone.clicks, p) <= STALL_BUDGET_S for p in (0.99, 1.0))


def notes(res: Results) -> str:
    lines = []
    for name, f in res.fleet.items():
        share, others = f.span.share(f.span.client_s), f.span.share(f.span.others_s)
        lines.append(
            f"- fleet, {name}: the client used {share:.0%} of a core reading {sum(f.per_page) / f.span.elapsed_s:,.0f} "
            "events/s: " + ("it may be the bottleneck." if share > CLIENT_BUSY else "not the bottleneck.")
            + f" Its own loop lag (p99 {ms(quantile(f.client_lag, 0.99))} ms, max {ms(quantile(f.client_lag, 1.0))} ms)"
            f" is part of the lags; other processes used {others:.0%} of a core"
            + (" (a busy machine: both ends wait for a CPU at times)." if others > 0.25 else ".")
        )
    for name, a in res.arrivals.items():
        for label, phase in (("alone", a.alone), ("with new visitors", a.visited)):
            share = phase.span.share(phase.span.client_s) if phase.span else math.nan
            if share > CLIENT_BUSY:
                lines.append(f"- clicks {label}, {name}: the click client used {share:.0%} of a core: "
                             "it may limit clicks/s.")  # fmt: skip
    return "\n".join(lines)


def raw(res: Results) -> str:
    lines = []
    for name, f in res.fleet.items():
        lines += [
            (f"fleet {name}: {f.pages} pages opened in {f.open_s:.2f} s; {sum(f.per_page)} events in the span, "
             f"{f.rate:.4f} per page per second; {f.span.describe()}"),
            f"  lag              {describe([lag for _, lag in f.lags])}",
            *(f"  lag quarter {i + 1}    {describe(f.quarter(i))}" for i in range(4)),
            f"  period − 1 s     {describe(f.periods)}",
            f"  client loop lag  {describe(f.client_lag)}",
        ]
    for name, a in res.arrivals.items():
        for label, phase in (("alone", a.alone), ("with visitors", a.visited)):
            cpu = phase.span.describe() if phase.span else "no CPU figures"
            lines.append(f"clicks {label:13} {name}: {describe(phase.clicks)}; "
                         f"{len(phase.clicks)} clicks, {phase.per_s:,.0f}/s; {cpu}")  # fmt: skip
        v = a.visited
        lines.append(f"new visitors  {name}: GET (connect + answer) {describe(v.visitors)}; "
                     f"visitor process CPU {v.visitor_cpu_s:.2f} s; server CPU per visitor estimated from the "
                     f"phases {ms(a.visit_cpu_s)} ms")  # fmt: skip
        lines.append(f"one visitor alone {name}: GET {describe(a.solo)}; server CPU per visitor "
                     f"{ms(a.solo_cpu_s)} ms")  # fmt: skip
    for what, reason in res.missing.items():
        lines.append(f"n/a {what}: {reason}")
    return "\n".join(lines)


def versions(res: Results) -> str:
    extras = res.installed.get("main-extras")
    servers = (f"uvicorn {version('uvicorn')}, uvloop {version('uvloop')}, hypercorn {version('hypercorn')}, "
               f"granian {version('granian')}")  # fmt: skip
    return servers + "; main-extras: " + (extras if isinstance(extras, str) else extras.versions if extras else "—")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run (the fleet measured 10 s, phases of 5 s)")
    parser.add_argument("--peers-dir", type=Path, default=ROOT / "bench" / ".peers",
                        help="where bench_peers makes the environment giving uvicorn httptools")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write every sample (seconds) to this file")
    parser.add_argument("--no-gc-probe", action="store_true",
                        help="do not log the servers' full garbage collections (bench/gcprobe)")  # fmt: skip
    parser.add_argument("--visitors", nargs=3, metavar=("PORT", "RATE", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.visitors:  # the separate client of measurement 2
        port, rate, seconds = args.visitors
        print(json.dumps(asyncio.run(visitors_main(int(port), float(rate), float(seconds)))))
        return 0
    plan = QUICK if args.quick else FULL
    raise_open_files(plan.pages + plan.users + 256)
    args.peers_dir.mkdir(parents=True, exist_ok=True)
    installed: dict[str | None, Installed | str] = {None: Installed(sys.executable, "", "as is")}
    try:
        installed["main-extras"] = install(ENVS["main-extras"], args.peers_dir.resolve())
    except Unavailable as e:
        installed["main-extras"] = f"could not be installed: {e}"
    if not args.no_gc_probe:  # the probe's directory first on the servers' PYTHONPATH
        for env, inst in installed.items():
            if isinstance(inst, Installed):
                installed[env] = Installed(inst.python, os.pathsep.join(filter(None, (str(GC_PROBE), inst.pythonpath))),
                                           inst.versions)  # fmt: skip
    res = Results(installed)
    print(machine())
    print(versions(res))
    print(f"plan: {plan}\n", flush=True)
    asyncio.run(measure(plan, res, not args.no_gc_probe))
    if res.fleet:
        print(fleet_table(res, plan))
        print(
            f"\nLag: arrival at the client − the time.monotonic() stamp the page took just before tag.update(), "
            f"for the events that arrived in the {plan.ticker_s:g} s span. Falls behind: the last quarter's median "
            f"lag is over the first's by > {GROWTH_S * 1e3:g} ms and by > 50 %, or under {MIN_RATE} events per page "
            f"per second. Tick period − 1 s: how late each page's sleep(1) woke, plus its update (server loop lag). "
            f"Server full GCs: the worker's generation-2 garbage collections (bench/gcprobe); each one pauses "
            f"its event loop, every page with it.\n"
        )
    if res.arrivals:
        print(arrivals_table(res, plan))
        print(
            "\nClicks: round trips of the users' POSTs, each user one at a time. New visitors: a separate "
            "process, each visitor a GET / on a fresh connection, no cookie, timed from the connect.\n"
        )
    if text := notes(res):
        print(text)
    print("\nraw:\n" + raw(res))
    if args.json:
        data = {
            "plan": asdict(plan),
            "fleet": {s: {"lags": f.lags, "periods": f.periods, "per_page": f.per_page, "span": asdict(f.span)}
                      for s, f in res.fleet.items()},
            "arrivals": {s: {"alone": asdict(a.alone), "visited": asdict(a.visited)} for s, a in res.arrivals.items()},
            "errors": dict(res.errors.counts),
        }  # fmt: skip
        args.json.write_text(json.dumps(data))
    return res.errors.report(res.log_lines, "every response 2xx", missing=bool(res.missing))


if __name__ == "__main__":
    sys.exit(main())
