#!/usr/bin/env python
"""htag-sse on several hosts sharing one Redis (issue 14): what Redis and a second host cost.

Hosts are ``hypercorn --workers 1`` processes on 127.0.0.1, each with its own session
directory, joined by a redis-server only (``HTAG_SSE_REDIS``), started by ``tests/hosts.py``
and ``tests/redisserver.py``; the app is this module's ``Bench`` (a counter in the session, a
button whose handler pushes ``time.monotonic()`` with ``tag.update()``), in debug mode so every
answer names the worker that gave it. The client is a minimal HTTP/1.1 keep-alive client (this
module), each connection held to one host: which host answers is chosen, not left to chance.

1. click latency, sequential, one page owned by host A: clicks alternately sent to A (owner-local:
   the session is still written to Redis) and to B (relayed to A over Redis pub/sub and back);
   for reference, one host without Redis (sessions on its disk);
2. throughput, 16 users clicking in a loop: 1 host without Redis, 1 host on Redis, 2 hosts on Redis
   (each user's page on either host, its clicks sent to the two hosts in turn, as nginx's
   round-robin does: half are relayed); clicks per second and per server-CPU-second (every
   hypercorn process; Redis's CPU shown apart and added in another column);
3. push latency: ``tag.update()`` on host A → the event read on an SSE stream held by A, and on one
   held by B (which reads the page's events from Redis), both open at once on the same page;
4. Redis memory per open page: ``INFO memory`` before and after opening N pages (each its own
   session), then after each page pushed 10 events; ``MEMORY USAGE`` of one page's keys.

    /work/main/.venv/bin/python bench/bench_hosts.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from htag import Tag

from harness.hosts import Hosts, children, redis_client
from harness.redisserver import REDIS_SERVER, RedisServer
from htag_sse.testing.boot import boot_config, interactions

HOST = "127.0.0.1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STAMP = re.compile(rb'stamp\\?"[^>]*>([0-9.]+)<')
EVENT_END = re.compile(rb"\r?\n\r?\n")
#: Options of the served app (every page of the bench is its own session: no limit on new ones).
OPTIONS = {"max_new_sessions_per_minute": 1_000_000, "max_pages_per_session": 1000}


# --- the app the hosts serve (``hypercorn bench.bench_hosts:app``) ----------------------------


class Bench(Tag.div):
    """A counter in the session; ``ping`` pushes the time it was asked at, with ``tag.update()``."""

    def init(self) -> None:
        self.count = Tag.span(self.state.get("count", 0), _class="count")
        self.stamp = Tag.span("", _class="stamp")
        self += self.count
        self += Tag.button("+1", _onclick=self.inc, _class="inc")
        self += Tag.button("ping", _onclick=self.ping, _class="ping")
        self += self.stamp

    def inc(self, ev: Any) -> None:
        self.state["count"] = self.state.get("count", 0) + 1
        self.count.clear(self.state["count"])

    def ping(self, ev: Any) -> None:
        asyncio.ensure_future(self.push())  # after the click's answer

    async def push(self) -> None:
        self.stamp.clear(repr(time.monotonic()))
        await self.stamp.update()


def serve() -> Any:
    """The app the hosts serve: ``hypercorn 'bench.bench_hosts:serve()'`` (importing this module makes none)."""
    from htag_sse import HtagSSE

    return HtagSSE(Bench, **json.loads(os.environ.get("HTAG_SSE_TEST_OPTIONS", "{}")))


# --- a minimal HTTP/1.1 client -------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Errors:
    """Failed requests by phase: a non-2xx status, a broken connection, a missed event."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.first: dict[str, str] = {}

    def check(self, phase: str, a: Answer) -> Answer:
        if not 200 <= a.status < 300:
            self.fail(phase, f"{a.status} {a.body[:200]!r}")
        return a

    def fail(self, phase: str, what: str) -> None:
        self.counts[phase] += 1
        self.first.setdefault(phase, what)


class Conn:
    """One keep-alive connection to one host: requests one at a time, or one SSE stream."""

    def __init__(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.port, self.reader, self.writer = port, reader, writer
        self.origin = f"http://{HOST}:{port}"

    @classmethod
    async def open(cls, port: int) -> Conn:
        reader, writer = await asyncio.open_connection(HOST, port)
        return cls(port, reader, writer)

    def close(self) -> None:
        self.writer.close()

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    async def head(self) -> tuple[int, dict[str, str]]:
        status = int((await self.reader.readline()).split()[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "set-cookie" and name in headers:  # several cookies: one line each, kept apart
                headers[name] += "\n" + value.strip()
            else:
                headers[name] = value.strip()
        return status, headers

    async def chunk(self) -> bytes:
        size = int((await self.reader.readline()).split(b";")[0], 16)
        data = await self.reader.readexactly(size + 2)
        return data[:-2]

    async def send(self, raw: bytes) -> Answer:
        self.writer.write(raw)
        try:
            status, headers = await self.head()
        except (IndexError, ConnectionError):  # an idle connection the server had closed: once more
            self.writer.close()
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
            self.writer.write(raw)
            status, headers = await self.head()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        else:
            parts = []
            while part := await self.chunk():
                parts.append(part)
            body = b"".join(parts)
        if headers.get("connection", "").lower() == "close":  # hypercorn closes after 1000 requests
            self.writer.close()
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)  # the same worker
        return Answer(status, headers, body)


@dataclass
class Tab:
    """A page as the browser holds it: its id, token, cookies, the interactions of its buttons."""

    page: str
    token: str
    base: str
    cookies: dict[str, str]
    calls: dict[str, bytes]
    owner: int  # the worker (os pid) that made it
    seq: int = 0

    @property
    def cookie(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def heard(self, a: Answer) -> Answer:
        """As the browser does: the cookies an answer sets (the session's version on Redis) are sent next."""
        self.cookies.update(cookies_of(a))
        return a

    def click(self, conn: Conn, name: str = "inc") -> bytes:
        self.seq += 1
        headers = {"Cookie": self.cookie, "X-Htag-Token": self.token, "X-Htag-Seq": str(self.seq),
                   "Content-Type": "application/json", "Origin": conn.origin}  # fmt: skip
        return conn.request("POST", f"{self.base}/{self.page}/interact", headers, self.calls[name])


async def open_tab(conn: Conn, errors: Errors, phase: str) -> Tab:
    """A new session and page on ``conn``'s host."""
    a = errors.check(phase, await conn.send(conn.request("GET", "/")))
    html = a.body.decode()
    boot = boot_config(html)
    calls = {name: json.dumps(call).encode() for name, call in interactions(html).items()}
    return Tab(boot["page"], boot["token"], boot["base"], cookies_of(a), calls, worker(a))


def cookies_of(a: Answer) -> dict[str, str]:
    pairs = (line.split(";", 1)[0].partition("=") for line in a.headers.get("set-cookie", "").split("\n") if line)
    return {name.strip(): value.strip() for name, _, value in pairs}


def worker(a: Answer) -> int:
    return int(re.split(r"[,\n]", a.headers["x-htag-worker"])[0])


# --- servers ----------------------------------------------------------------------------------


def stat_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_s(pids: Sequence[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += stat_cpu_s(pid)
        except OSError:
            continue
    return total


def processes(group: Hosts) -> list[int]:
    """Every hypercorn process of the hosts: masters and workers."""
    return [pid for h in group if h.proc for pid in (h.proc.pid, *children(h.proc.pid))]


@contextmanager
def redis_and_hosts(n: int, tmp: Path, redis: bool = True) -> Iterator[tuple[Hosts, RedisServer | None]]:
    """``n`` hosts of one worker each (keep-alive), on a fresh redis-server (or none), warm."""
    server = RedisServer().start() if redis else None
    group = Hosts(server.url if server else None, tmp, n=n, workers=1, app="bench", options=OPTIONS,
                  target="bench.bench_hosts:serve()", spread=False)  # fmt: skip
    try:
        group.start()
        group.warm()
        yield group, server
    finally:
        group.kill()
        if server is not None:
            server.cleanup()


# --- 1. click latency ---------------------------------------------------------------------------


async def click_latency(group: Hosts, plan: Plan, errors: Errors) -> dict[str, list[float]]:
    """One page on host 0; clicks alternately on a connection to host 0 and to each other host."""
    conns = [await Conn.open(h.port) for h in group]
    tab = await open_tab(conns[0], errors, "latency")
    names = ["owner-local"] + (["relayed"] if len(conns) > 1 else [])
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(plan.warmup + plan.clicks):
        for name, conn in zip(names, conns, strict=False):
            raw = tab.click(conn)
            t0 = time.perf_counter()
            a = errors.check(f"latency {name}", tab.heard(await conn.send(raw)))
            if i >= plan.warmup:
                samples[name].append(time.perf_counter() - t0)
            if name == "owner-local" and worker(a) != tab.owner:
                errors.fail("latency", "an owner-local click answered by another worker")
    for conn in conns:
        conn.close()
    return samples


@dataclass
class Cost:
    """What one sequential click costs, by path: CPU seconds of each host and of Redis, Redis commands."""

    clicks: int
    cpu_s: dict[str, float]  # "host A", "host B", "redis"
    commands: dict[str, float]  # Redis command -> calls (commands run by scripts included)


async def click_cost(group: Hosts, redis: RedisServer, plan: Plan, errors: Errors) -> dict[str, Cost]:
    """``plan.clicks`` clicks on one page of host A, sent to A, then as many sent to B."""
    client = redis_client(redis.url)
    conns = [await Conn.open(h.port) for h in group]
    tab = await open_tab(conns[0], errors, "cost")
    pids = {name: [h.proc.pid, *children(h.proc.pid)] for name, h in zip(("host A", "host B"), group, strict=False)
            if h.proc}  # fmt: skip
    pids["redis"] = [redis.proc.pid] if redis.proc else []
    costs = {}
    try:
        for name, conn in zip(("owner-local", "relayed"), conns, strict=False):
            for _ in range(plan.warmup):
                errors.check(f"cost {name}", tab.heard(await conn.send(tab.click(conn))))
            before = {k: cpu_s(v) for k, v in pids.items()}
            calls = commands(client)
            for _ in range(plan.clicks):
                errors.check(f"cost {name}", tab.heard(await conn.send(tab.click(conn))))
            after, calls_after = {k: cpu_s(v) for k, v in pids.items()}, commands(client)
            per = {k: (calls_after.get(k, 0) - calls.get(k, 0)) / plan.clicks for k in calls_after}
            costs[name] = Cost(plan.clicks, {k: after[k] - before[k] for k in pids},
                               {k: v for k, v in sorted(per.items(), key=lambda kv: -kv[1]) if v >= 0.05})  # fmt: skip
    finally:
        for conn in conns:
            conn.close()
        client.close()
    return costs


def commands(client: Any) -> dict[str, int]:
    """Calls of each Redis command so far (``INFO commandstats``), the INFO call itself left out."""
    stats = client.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info"}


# --- 2. throughput ---------------------------------------------------------------------------


@dataclass
class Load:
    label: str
    users: int
    clicks: int
    elapsed_s: float
    hosts_cpu_s: float
    redis_cpu_s: float
    relayed_share: float
    latencies: list[float] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.clicks / self.elapsed_s

    @property
    def per_cpu_s(self) -> float:
        return self.clicks / self.hosts_cpu_s if self.hosts_cpu_s else math.nan

    @property
    def per_cpu_s_with_redis(self) -> float:
        total = self.hosts_cpu_s + self.redis_cpu_s
        return self.clicks / total if total else math.nan


async def throughput(label: str, group: Hosts, redis: RedisServer | None, plan: Plan, errors: Errors,
                     sticky: bool = False) -> Load:  # fmt: skip
    """``plan.users`` users, each its own session and page (on host ``i % n``), clicking in a loop on
    one connection per host, the hosts in turn (``sticky``: only to its page's host, as a balancer
    with session affinity would); timed for ``plan.load_s`` after ``plan.warmup_s``."""
    n = 1 if sticky else len(group.hosts)
    phase = f"load {label}"
    users = []
    for i in range(plan.users):
        conns = [await Conn.open(h.port) for h in group]
        conns = (conns[i % len(conns) :] + conns[: i % len(conns)])[:n]  # the page's host first
        users.append((await open_tab(conns[0], errors, phase), conns))
    timing = asyncio.Event()
    stop = asyncio.Event()
    done = Counter[str]()
    latencies: list[float] = []

    async def user(tab: Tab, conns: list[Conn]) -> None:
        k = 0
        while not stop.is_set():
            conn = conns[k % n]
            k += 1
            raw = tab.click(conn)
            t0 = time.perf_counter()
            a = errors.check(phase, tab.heard(await conn.send(raw)))
            if timing.is_set() and not stop.is_set():
                latencies.append(time.perf_counter() - t0)
                done["relayed" if worker(a) != tab.owner else "local"] += 1

    tasks = [asyncio.ensure_future(user(tab, conns)) for tab, conns in users]
    await asyncio.sleep(plan.warmup_s)  # every user clicking, pages and sessions warm
    pids = processes(group)
    redis_pid = [redis.proc.pid] if redis and redis.proc else []
    c0, r0, t0 = cpu_s(pids), cpu_s(redis_pid), time.monotonic()
    timing.set()
    await asyncio.sleep(plan.load_s)
    stop.set()
    c1, r1, t1 = cpu_s(pids), cpu_s(redis_pid), time.monotonic()
    await asyncio.gather(*tasks)
    for _, conns in users:
        for conn in conns:
            conn.close()
    total = sum(done.values())
    return Load(label, plan.users, total, t1 - t0, c1 - c0, r1 - r0, done["relayed"] / total if total else 0.0,
                latencies)  # fmt: skip


# --- 3. push latency ---------------------------------------------------------------------------


async def push_latency(group: Hosts, plan: Plan, errors: Errors) -> dict[str, list[float]]:
    """One page on host 0; two SSE streams of it, one held by host 0, one by host 1; sequential
    pings on host 0: the time from ``tag.update()`` to each stream's reading of the event."""
    conn = await Conn.open(group[0].port)
    tab = await open_tab(conn, errors, "push")
    names = ["owner's stream", "other host's stream"]
    arrived: dict[str, asyncio.Queue[tuple[float, float]]] = {name: asyncio.Queue() for name in names}
    streams = []
    for name, host in zip(names, group, strict=False):
        s = await Conn.open(host.port)
        s.writer.write(s.request("GET", f"{tab.base}/events?p={tab.page}:0", {"Cookie": tab.cookie,
                                                                             "Accept": "text/event-stream"}))  # fmt: skip
        status, _ = await s.head()
        if status != 200:
            errors.fail("push", f"stream on {host.name}: {status}")
        streams.append(asyncio.ensure_future(read_stream(s, arrived[name])))
    samples: dict[str, list[float]] = {name: [] for name in names}
    try:
        for i in range(plan.warmup + plan.pushes):
            errors.check("push", tab.heard(await conn.send(tab.click(conn, "ping"))))
            for name in names:
                try:
                    got, stamp = await asyncio.wait_for(arrived[name].get(), 10)
                except TimeoutError:
                    errors.fail("push", f"no event on the {name} within 10 s")
                    continue
                if i >= plan.warmup:
                    samples[name].append(got - stamp)
    finally:
        for task in streams:
            task.cancel()
        conn.close()
    return samples


async def read_stream(conn: Conn, out: asyncio.Queue[tuple[float, float]]) -> None:
    """Each event's stamp, with the time it was read (CLOCK_MONOTONIC: the server's clock too)."""
    buffer = b""
    try:
        while chunk := await conn.chunk():
            buffer += chunk
            *events, buffer = EVENT_END.split(buffer)
            now = time.monotonic()
            for event in events:
                if m := STAMP.search(event):
                    out.put_nowait((now, float(m.group(1))))
    finally:
        conn.close()


# --- 4. Redis memory per page ----------------------------------------------------------------


@dataclass
class Memory:
    pages: int
    base: int  # used_memory with the hosts warm, no page
    opened: int  # ... with every page open
    pushed: int  # ... once each page pushed ``events`` events
    events: int
    keys: dict[str, int]  # MEMORY USAGE of one page's keys


async def redis_memory(group: Hosts, redis: RedisServer, plan: Plan, errors: Errors) -> Memory:
    client = redis_client(redis.url)

    def used() -> int:
        return int(client.info("memory")["used_memory"])

    try:
        conns = [await Conn.open(h.port) for h in group]
        base = used()
        tabs = [await open_tab(conns[i % len(conns)], errors, "memory") for i in range(plan.pages)]
        opened = used()
        for i, tab in enumerate(tabs):
            conn = conns[i % len(conns)]
            for _ in range(plan.events):
                errors.check("memory", tab.heard(await conn.send(tab.click(conn, "ping"))))
        last = tabs[-1]
        events_key = f"htag-sse:{{p:{last.page}}}:events"
        deadline = time.monotonic() + 10  # the pushes reach Redis after the clicks' answers
        while client.xlen(events_key) < plan.events and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        pushed = used()
        sid = last.cookies["htag_sid"]
        keys = {
            "session (a hash)": client.memory_usage(f"htag-sse:{{s:s:{sid}}}", samples=0) or 0,
            "page record (a string)": client.memory_usage(f"htag-sse:{{v:p:{last.page}}}", samples=0) or 0,
            f"events stream, {plan.events} events": client.memory_usage(events_key, samples=0) or 0,
        }
        for conn in conns:
            conn.close()
        return Memory(plan.pages, base, opened, pushed, plan.events, keys)
    finally:
        client.close()


# --- the run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    clicks: int  # sequential clicks per path (latency)
    pushes: int  # sequential pushes (push latency)
    warmup: int  # untimed rounds before each sequential series
    users: int  # concurrent users of the throughput runs
    warmup_s: float  # users clicking before a throughput run is timed
    load_s: float  # length of each throughput run
    pages: int  # pages opened for the memory figures
    events: int  # events pushed by each of those pages


FULL = Plan(clicks=1000, pushes=300, warmup=50, users=16, warmup_s=2.0, load_s=10.0, pages=500, events=10)
QUICK = Plan(clicks=200, pushes=60, warmup=20, users=16, warmup_s=1.0, load_s=3.0, pages=100, events=10)


@dataclass
class Results:
    latency: dict[str, list[float]] = field(default_factory=dict)
    latency_disk: list[float] = field(default_factory=list)
    cost: dict[str, Cost] = field(default_factory=dict)
    loads: list[Load] = field(default_factory=list)
    push: dict[str, list[float]] = field(default_factory=dict)
    memory: Memory | None = None
    errors: Errors = field(default_factory=Errors)
    logs: list[str] = field(default_factory=list)


def progress(started: float, what: str) -> None:
    print(f"[{time.monotonic() - started:5.1f} s] {what}", file=sys.stderr, flush=True)


@asynccontextmanager
async def setup(n: int, redis: bool, res: Results) -> AsyncIterator[tuple[Hosts, RedisServer | None]]:
    with (
        tempfile.TemporaryDirectory(prefix="htag-sse-bench-hosts-") as tmp,
        redis_and_hosts(n, Path(tmp), redis) as (group, server),
    ):
        try:
            yield group, server
        finally:
            for host in group:
                res.logs += [f"{host.name}: {line}" for line in host.output().splitlines() if noteworthy(line)]


def noteworthy(line: str) -> bool:
    return any(word in line for word in ("Traceback", "Error", "error", "failed", "stops serving"))


async def measure(plan: Plan) -> Results:
    res, started = Results(), time.monotonic()
    progress(started, "click latency, 2 hosts on Redis: owner-local vs relayed")
    async with setup(2, True, res) as (group, server):
        res.latency = await click_latency(group, plan, res.errors)
        progress(started, "CPU and Redis commands per click, owner-local vs relayed")
        assert server is not None
        res.cost = await click_cost(group, server, plan, res.errors)
        progress(started, "push latency, 2 hosts on Redis: owner's stream vs the other host's")
        res.push = await push_latency(group, plan, res.errors)
    progress(started, "click latency and throughput, 1 host without Redis")
    async with setup(1, False, res) as (group, _):
        res.latency_disk = (await click_latency(group, plan, res.errors))["owner-local"]
        res.loads.append(await throughput("1 host, no Redis", group, None, plan, res.errors))
    progress(started, "throughput, 1 host on Redis")
    async with setup(1, True, res) as (group, server):
        res.loads.append(await throughput("1 host on Redis", group, server, plan, res.errors))
    progress(started, "throughput, 2 hosts on Redis; then Redis memory per page")
    async with setup(2, True, res) as (group, server):
        res.loads.append(await throughput("2 hosts on Redis", group, server, plan, res.errors))
        sticky = "2 hosts on Redis, sticky (each click to its page's host)"
        res.loads.append(await throughput(sticky, group, server, plan, res.errors, sticky=True))
        assert server is not None
        res.memory = await redis_memory(group, server, plan, res.errors)
    progress(started, "done")
    return res


# --- the report -------------------------------------------------------------------------------


def pct(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan


def ms(samples: Sequence[float], q: float) -> float:
    return pct(samples, q) * 1e3


def describe(samples: Sequence[float]) -> str:
    if not samples:
        return "no samples"
    v = [s * 1e3 for s in samples]
    stats = {"min": min(v), "p50": pct(v, 0.5), "p90": pct(v, 0.9), "p99": pct(v, 0.99), "max": max(v)}
    return f"n={len(v)} " + " ".join(f"{k}={x:.2f}" for k, x in stats.items()) + f" mean={statistics.fmean(v):.2f} ms"


def table(res: Results, plan: Plan) -> str:
    local, relayed = res.latency.get("owner-local", []), res.latency.get("relayed", [])
    out = [
        "1. click latency, sequential, one page on host A (1 worker per host)",
        "",
        "| click sent to | p50 ms | p99 ms |",
        "|---|---:|---:|",
        f"| one host, no Redis (reference) | {ms(res.latency_disk, 0.5):.2f} | {ms(res.latency_disk, 0.99):.2f} |",
        f"| A, the owner (session written to Redis) | {ms(local, 0.5):.2f} | {ms(local, 0.99):.2f} |",
        f"| B, relayed to A over Redis | {ms(relayed, 0.5):.2f} | {ms(relayed, 0.99):.2f} |",
        (
            f"| relayed − owner-local (target ≤ +1 ms p50) | {ms(relayed, 0.5) - ms(local, 0.5):+.2f} "
            f"| {ms(relayed, 0.99) - ms(local, 0.99):+.2f} |"
        ),
        "",
        "   per click (sequential), CPU ms of each process group and Redis commands (those scripts run included):",
        "",
        "| click sent to | host A CPU ms | host B CPU ms | Redis CPU ms | Redis commands per click |",
        "|---|---:|---:|---:|---|",
        *(
            f"| {name} | {c.cpu_s.get('host A', 0) / c.clicks * 1e3:.2f} | {c.cpu_s.get('host B', 0) / c.clicks * 1e3:.2f} "
            f"| {c.cpu_s.get('redis', 0) / c.clicks * 1e3:.2f} | "
            + ", ".join(f"{k} {v:.1f}" for k, v in c.commands.items())
            + " |"
            for name, c in res.cost.items()
        ),
        "",
        f"2. throughput, {plan.users} users, {plan.load_s:g} s, each user's clicks sent to the hosts in turn",
        "",
        (
            "| setup | clicks/s | p50 / p99 ms | clicks per hosts-CPU-s | ÷ 1 host on Redis "
            "| clicks per (hosts + Redis)-CPU-s | relayed |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    base = next((x for x in res.loads if x.label == "1 host on Redis"), None)
    for x in res.loads:
        ratio = f"{x.per_cpu_s / base.per_cpu_s:.2f}×" if base else "—"
        out.append(
            f"| {x.label} | {x.per_s:,.0f} | {ms(x.latencies, 0.5):.2f} / {ms(x.latencies, 0.99):.2f} "
            f"| {x.per_cpu_s:,.0f} | {ratio} | {x.per_cpu_s_with_redis:,.0f} | {x.relayed_share:.0%} |"
        )
    own, other = res.push.get("owner's stream", []), res.push.get("other host's stream", [])
    out += [
        "",
        "3. push latency, tag.update() on host A → event read on the stream, both streams of one page at once",
        "",
        "| stream held by | p50 ms | p99 ms |",
        "|---|---:|---:|",
        f"| A, the owner | {ms(own, 0.5):.2f} | {ms(own, 0.99):.2f} |",
        f"| B (reads the page's events from Redis) | {ms(other, 0.5):.2f} | {ms(other, 0.99):.2f} |",
        f"| B − A | {ms(other, 0.5) - ms(own, 0.5):+.2f} | {ms(other, 0.99) - ms(own, 0.99):+.2f} |",
    ]
    if m := res.memory:
        out += [
            "",
            f"4. Redis memory (INFO used_memory), {m.pages} pages, each in its own session",
            "",
            "| | bytes per page |",
            "|---|---:|",
            f"| page open (session + page record) | {(m.opened - m.base) / m.pages:,.0f} |",
            f"| after {m.events} pushes each (+ its events stream) | {(m.pushed - m.base) / m.pages:,.0f} |",
            *(f"| MEMORY USAGE: {name} | {size:,} |" for name, size in m.keys.items()),
        ]
    return "\n".join(out)


def raw(res: Results) -> str:
    lines = [f"click one host, no Redis   {describe(res.latency_disk)}"]
    lines += [f"click {name:20} {describe(s)}" for name, s in res.latency.items()]
    for x in res.loads:
        lines.append(
            f"load  {x.label}: {x.clicks} clicks in {x.elapsed_s:.2f} s; CPU s: hosts {x.hosts_cpu_s:.2f} "
            f"({x.hosts_cpu_s / x.elapsed_s:.0%} of a core), redis {x.redis_cpu_s:.2f} "
            f"({x.redis_cpu_s / x.elapsed_s:.0%}); relayed {x.relayed_share:.1%}; latency {describe(x.latencies)}"
        )
    lines += [f"push  {name:20} {describe(s)}" for name, s in res.push.items()]
    if m := res.memory:
        lines.append(
            f"redis used_memory: base {m.base:,}, {m.pages} pages open {m.opened:,}, after pushes {m.pushed:,}"
        )
    return "\n".join(lines)


def machine() -> str:
    model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                  if ln.startswith("model name")), "?")  # fmt: skip
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    pkgs = ", ".join(f"{p} {version(p)}" for p in ("htag", "htag-sse", "hypercorn", "redis"))
    redis = subprocess.run([REDIS_SERVER, "--version"], capture_output=True, text=True, check=False).stdout.split()
    return (
        f"machine: {os.cpu_count()} CPUs ({model}), {platform.platform()}, load avg {load}\n"
        f"python {platform.python_version()}; {pkgs}; redis-server {redis[2] if len(redis) > 2 else '?'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short smoke run (~1 minute)")
    parser.add_argument("--json", type=Path, help="also write every sample (seconds) to this file")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    print(machine())
    print(f"plan: {plan}\n", flush=True)
    res = asyncio.run(measure(plan))
    print(table(res, plan))
    print("\nraw:\n" + raw(res))
    if args.json:
        data = {
            "plan": asdict(plan),
            "latency": res.latency,
            "latency_disk": res.latency_disk,
            "cost": {k: asdict(v) for k, v in res.cost.items()},
            "loads": [asdict(x) for x in res.loads],
            "push": res.push,
            "memory": asdict(res.memory) if res.memory else None,
            "errors": dict(res.errors.counts),
        }
        args.json.write_text(json.dumps(data))
    if res.errors.counts:
        print(f"\nINVALID: failed requests {dict(res.errors.counts)}; first of each: {res.errors.first}")
        for line in res.logs[:20]:
            print("  " + line)
        return 1
    if res.logs:
        print("\nthe hosts logged:\n" + "\n".join("  " + line for line in res.logs[:20]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
