#!/usr/bin/env python
"""htag-sse against bare Starlette endpoints, both served by the same server:
hypercorn (default config, HTTP/1.1) in a subprocess on 127.0.0.1.

Measures page and click latency, click throughput (per second and per server
CPU second), push latency (``tag.update()`` to the SSE client) and server
memory per open page. See bench/README.md.

    /work/venv/bin/python bench/bench_core.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import Connection, Numbered, Response, request, sse_events
from htag_sse.testing.boot import boot_config, interactions

HOST = "127.0.0.1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: Untimed clicks of each virtual user before a throughput run.
LOAD_WARMUP = 10
#: Pause before reading the server's RSS, so in-flight work settles.
SETTLE_S = 1.0
#: Pages opened at once while filling the server for the memory figures.
OPEN_CONCURRENCY = 32
#: The body htag sends for a click.
CLICK_BODY = json.dumps({"id": 2, "method": "__on_event__", "args": ["onclick-2"], "kargs": {}, "event": {}}).encode()


def bare_click(port: int) -> Numbered:
    """The bare click: the body htag sends, with the headers htag-sse's clicks carry (same names,
    same sizes), so both servers parse as much."""
    return Numbered("POST", "/click", f"{HOST}:{port}", click_headers(port, "htag_sid=" + "x" * 32, "x" * 22), CLICK_BODY)


def click_headers(port: int, cookie: str, token: str) -> dict[str, str]:
    """A click's headers as the browser client sends them (X-Htag-Seq is added by :class:`Numbered`)."""
    return {"Origin": f"http://{HOST}:{port}", "Cookie": cookie, "X-Htag-Token": token,
            "Content-Type": "application/json"}  # fmt: skip


@dataclass(frozen=True)
class Plan:
    gets: int  # sequential page loads
    clicks: int  # sequential clicks
    load_s: float  # length of each throughput run
    users: tuple[int, ...]  # concurrent virtual users of the throughput runs
    pushes: int  # sequential pushes
    pages: tuple[int, ...]  # open pages at which the server's RSS is read
    warmup: int  # untimed requests before each sequential series


FULL = Plan(gets=300, clicks=2000, load_s=10.0, users=(16, 64), pushes=300, pages=(1, 100, 1000), warmup=50)
QUICK = Plan(gets=100, clicks=300, load_s=2.0, users=(16, 64), pushes=100, pages=(1, 100, 300), warmup=20)


class Errors:
    """Failed requests by phase: a non-2xx status, htag's ``{"err": ...}``, a broken connection."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.first: dict[str, str] = {}

    def check(self, phase: str, r: Response) -> bool:
        if 200 <= r.status < 300 and not r.body.startswith(b'{"err"'):
            return True
        self.fail(phase, f"{r.status} {r.body[:120]!r}")
        return False

    def fail(self, phase: str, why: str) -> None:
        self.counts[phase] += 1
        self.first.setdefault(phase, why)

    def report(self, log_lines: Sequence[str], valid: str, missing: bool = False) -> int:
        """Print the servers' logged errors and the verdict; the exit status (1: INVALID)."""
        if log_lines:
            print("\nserver log errors:\n" + "\n".join(log_lines[:20]))
        if self.counts or missing:
            print("\nINVALID: " + ("failed requests" if self.counts else "measures missing"))
            for phase, n in self.counts.items():
                print(f"  {phase}: {n} (first: {self.first[phase]})")
            return 1
        print(f"\nerrors: none ({valid})")
        return 0


#: ``--pin``: the server runs on this CPU (``taskset``), the client on the others; None: anywhere.
PIN: list[int | None] = [None]


def pinned(argv: Sequence[str]) -> list[str]:
    """A server's command line, run on the pinned CPU if there is one."""
    return ["taskset", "-c", str(PIN[0]), *argv] if PIN[0] is not None else list(argv)


def pin(cpu: int | None) -> None:
    """Run the servers on ``cpu`` and this client on every other CPU (on a 2-core machine: one each)."""
    PIN[0] = cpu
    if cpu is not None:
        others = set(os.sched_getaffinity(0)) - {cpu}
        if not others:
            sys.exit(f"--pin {cpu}: no CPU is left for the client")
        os.sched_setaffinity(0, others)


def process_tree(root: int) -> list[int]:
    """``root`` and all its live descendants (a server's workers, multiprocessing's helpers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):  # the process just ended
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


# --- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """``python -m hypercorn bench.apps:<app>`` with sessions in a throwaway directory.

    Hypercorn serves from a worker process it spawns: that process is measured.
    """

    def __init__(self, app: str, args: Sequence[str] = ()) -> None:
        self.app = app
        self.port = free_port()
        self.tmp = tempfile.TemporaryDirectory(prefix="htag-sse-bench-")
        self.log = Path(self.tmp.name) / "server.log"
        env = {**os.environ, "HTAG_SSE_DIR": str(Path(self.tmp.name) / "sessions")}
        argv = [sys.executable, "-m", "hypercorn", f"bench.apps:{app}", "--bind", f"{HOST}:{self.port}", *args]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(pinned(argv), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.worker = self.proc.pid

    async def ready(self, timeout_s: float = 30.0) -> None:
        """Wait for any HTTP answer, then find the worker process."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                conn = await Connection.open(HOST, self.port)
                try:
                    await conn.send(request("GET", "/ready-check", HOST))  # a 404 will do
                finally:
                    conn.close()
                break
            except (OSError, asyncio.IncompleteReadError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server {self.app} did not start:\n{self.log.read_text()}") from None
                await asyncio.sleep(0.1)
        self.worker = _child(self.proc.pid, b"spawn_main") or self.proc.pid

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the worker used so far."""
        fields = Path(f"/proc/{self.worker}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.worker}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc/<pid>/status")

    def stop(self) -> list[str]:
        """Stop the server; return the errors it logged while measured (not its shutdown noise)."""
        measured = self.log.read_text(errors="replace")
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.worker != self.proc.pid and Path(f"/proc/{self.worker}").exists():
            os.kill(self.worker, 9)
        self.tmp.cleanup()
        return [f"{self.app}: {line}" for line in log_errors(measured)]


def log_errors(log: str) -> list[str]:
    """Error lines of a log; a traceback is told by its last line (the exception)."""
    found, in_traceback = [], False
    for line in log.splitlines():
        if line.startswith("Traceback"):
            in_traceback = True
        elif in_traceback and line and not line[0].isspace():
            found.append(line)
            in_traceback = False
        elif "ERROR" in line:
            found.append(line)
    return found


def _child(parent: int, marker: bytes) -> int | None:
    """The child process of ``parent`` whose command line contains ``marker``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == parent and marker in (entry / "cmdline").read_bytes():
                return int(entry.name)
        except (OSError, IndexError):  # the process just ended
            continue
    return None


@asynccontextmanager
async def serving(app: str, log_lines: list[str], args: Sequence[str] = ()) -> AsyncIterator[Server]:
    """A fresh server for one measurement (``args``: more hypercorn options); its log's error
    lines land in ``log_lines``."""
    server = Server(app, args)
    try:
        await server.ready()
        yield server
    finally:
        log_lines += server.stop()


# --- clients ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tab:
    """An htag-sse page as its browser tab knows it."""

    cookie: str
    page: str
    base: str
    click: Numbered  # the request a click on the page's button sends, numbered as the browser does

    def events(self) -> bytes:
        headers = {"Cookie": self.cookie, "Accept": "text/event-stream"}
        return request("GET", f"{self.base}/{self.page}/events?last=0", HOST, headers)


async def open_tab(conn: Connection, headers: dict[str, str] | None = None) -> Tab:
    """Load ``/`` in a new session (``headers``: more request headers); read the page's cookie, boot
    config and button."""
    r = await conn.send(request("GET", "/", HOST, headers))
    if r.status != 200:
        raise RuntimeError(f"GET / answered {r.status}: {r.body[:200]!r}")
    html = r.body.decode()
    cookie = r.headers["set-cookie"].split(";", 1)[0]
    config = boot_config(html)
    (call,) = interactions(html).values()
    path = f"{config['base']}/{config['page']}/interact"
    headers = click_headers(conn.port, cookie, config["token"])
    return Tab(cookie, config["page"], config["base"], Numbered("POST", path, f"{HOST}:{conn.port}", headers,
                                                                json.dumps(call).encode()))  # fmt: skip


async def alternate(
    targets: dict[str, tuple[Connection, bytes | Numbered]], warmup: int, n: int, errors: Errors, phase: str
) -> tuple[dict[str, list[float]], dict[str, Response]]:
    """Send each target's request in turn, one request at a time, for warmup + n rounds
    (so noise from other processes hits every target alike): n timings (s) and the last
    answer of each target."""
    samples: dict[str, list[float]] = {name: [] for name in targets}
    last: dict[str, Response] = {}
    for i in range(warmup + n):
        for name, (conn, raw) in targets.items():
            t = time.perf_counter()
            r = last[name] = await conn.send(raw)
            if i >= warmup:
                samples[name].append(time.perf_counter() - t)
            errors.check(f"{phase} {name}", r)
    return samples, last


@dataclass
class LoadRun:
    users: int
    clicks: int
    elapsed_s: float
    server_cpu_s: float
    client_cpu_s: float
    machine_cpu_s: float  # every process, every core
    latencies: list[float] = field(repr=False)

    @property
    def per_s(self) -> float:
        return self.clicks / self.elapsed_s

    @property
    def per_cpu_s(self) -> float:
        return self.clicks / self.server_cpu_s if self.server_cpu_s else math.nan


def client_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def machine_cpu_s() -> float:
    """CPU seconds all cores spent busy (not idle nor waiting for I/O) since boot."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS


async def load(
    server: Server, users: int, duration_s: float, setup: Callable[[Connection], Awaitable[bytes | Numbered]],
    errors: Errors, phase: str,
) -> LoadRun:  # fmt: skip
    """``users`` virtual users, each on its own connection, click in a loop for ``duration_s``."""
    conns = await asyncio.gather(*(Connection.open(HOST, server.port) for _ in range(users)))
    clicks = await asyncio.gather(*(setup(c) for c in conns))
    latencies: list[float] = []

    async def warm(conn: Connection, click: bytes) -> None:
        for _ in range(LOAD_WARMUP):
            errors.check(phase, await conn.send(click))

    async def user(conn: Connection, click: bytes) -> int:
        done = 0
        try:
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                r = await conn.send(click)
                latencies.append(time.perf_counter() - t)
                done += errors.check(phase, r)
        except (OSError, asyncio.IncompleteReadError) as e:
            errors.fail(phase, f"connection broken: {e!r}")
        return done

    await asyncio.gather(*(warm(c, k) for c, k in zip(conns, clicks, strict=True)))
    before = server.cpu_s(), client_cpu_s(), machine_cpu_s(), time.perf_counter()
    deadline = before[3] + duration_s
    done = await asyncio.gather(*(user(c, k) for c, k in zip(conns, clicks, strict=True)))
    after = server.cpu_s(), client_cpu_s(), machine_cpu_s(), time.perf_counter()
    for conn in conns:
        conn.close()
    server_s, client_s, machine_s, elapsed_s = (y - x for x, y in zip(before, after, strict=True))
    return LoadRun(users, sum(done), elapsed_s, server_s, client_s, machine_s, latencies)


async def tab_click(conn: Connection) -> Numbered:
    """Setup of an htag-sse virtual user: its own session and page."""
    return (await open_tab(conn)).click


async def bare_setup(conn: Connection) -> Numbered:
    return bare_click(conn.port)


# --- the measurements -------------------------------------------------------------------------


@dataclass
class Results:
    get: dict[str, list[float]] = field(default_factory=dict)  # app -> seconds
    click: dict[str, list[float]] = field(default_factory=dict)
    load: dict[str, list[LoadRun]] = field(default_factory=dict)
    push: list[float] = field(default_factory=list)
    rss_base_kb: int = 0
    rss_kb: dict[int, int] = field(default_factory=dict)  # open pages -> RSS
    errors: Errors = field(default_factory=Errors)
    log_lines: list[str] = field(default_factory=list)


def progress(started: float, what: str) -> None:
    print(f"[{time.monotonic() - started:5.1f} s] {what}", file=sys.stderr, flush=True)


async def measure(plan: Plan) -> Results:
    res, started = Results(), time.monotonic()
    err, logs = res.errors, res.log_lines

    progress(started, "page latency")
    async with serving("counter", logs) as htag, serving("bare", logs) as bare:
        conn = await Connection.open(HOST, htag.port)
        jar = (await open_tab(conn)).cookie  # one session: its oldest pages drop past 16
        targets = {
            "htag-sse": (conn, request("GET", "/", HOST, {"Cookie": jar})),
            "bare": (await Connection.open(HOST, bare.port), request("GET", "/", HOST)),
        }
        res.get, _ = await alternate(targets, plan.warmup, plan.gets, err, "GET")
        close(targets)

    progress(started, "click latency")
    async with serving("counter", logs) as htag, serving("bare", logs) as bare:
        conn = await Connection.open(HOST, htag.port)
        targets = {
            "htag-sse": (conn, (await open_tab(conn)).click),
            "bare": (await Connection.open(HOST, bare.port), bare_click(bare.port)),
        }
        res.click, last = await alternate(targets, plan.warmup, plan.clicks, err, "click")
        if f">{plan.warmup + plan.clicks}<".encode() not in last["htag-sse"].body:
            err.fail("click htag-sse", f"the counter missed clicks: {last['htag-sse'].body[:120]!r}")
        close(targets)

    for name, app, setup in (("htag-sse", "counter", tab_click), ("bare", "bare", bare_setup)):
        for users in plan.users:
            progress(started, f"throughput {name}, {users} users")
            async with serving(app, logs) as server:
                run = await load(server, users, plan.load_s, setup, err, f"load {name} {users}")
                res.load.setdefault(name, []).append(run)

    progress(started, "push latency")
    async with serving("push", logs) as server:
        res.push = await push_latency(server, plan, err)

    progress(started, f"memory ({', '.join(map(str, plan.pages))} pages)")
    async with serving("counter", logs) as server:
        res.rss_base_kb, res.rss_kb = await memory(server, plan.pages)
    progress(started, "done")
    return res


def close(targets: dict[str, tuple[Connection, bytes | Numbered]]) -> None:
    for conn, _ in targets.values():
        conn.close()


async def push_latency(server: Server, plan: Plan, errors: Errors) -> list[float]:
    """Click, then wait for the pushed event: its arrival time minus the stamp it carries."""
    conn = await Connection.open(HOST, server.port)
    tab = await open_tab(conn)
    stream = await Connection.open(HOST, server.port)
    status, chunks = await stream.stream(tab.events())
    if status != 200:
        raise RuntimeError(f"events stream answered {status}")
    arrivals: asyncio.Queue[tuple[float, str]] = asyncio.Queue()

    async def read() -> None:
        async for name, data in sse_events(chunks):
            if name == "message":
                arrivals.put_nowait((time.monotonic(), data))

    reader = asyncio.create_task(read())
    samples = []
    for i in range(plan.warmup + plan.pushes):
        errors.check("push", await conn.send(tab.click))
        try:
            at, data = await asyncio.wait_for(arrivals.get(), 5.0)
        except TimeoutError:
            errors.fail("push", "no event 5 s after the click")
            break
        (span,) = json.loads(data)["update"].values()
        stamp = float(re.search(r">([0-9.]+)<", span).group(1))  # type: ignore[union-attr]
        if i >= plan.warmup:
            samples.append(at - stamp)
    reader.cancel()
    stream.close()
    conn.close()
    return samples


async def memory(server: Server, counts: Sequence[int]) -> tuple[int, dict[int, int]]:
    """Open pages, each in its own session with its SSE stream held: RSS at each count.

    The baseline is read after one warm-up page.
    """
    held: list[Connection] = []
    limit = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def hold_page() -> None:
        async with limit:
            conn = await Connection.open(HOST, server.port)
            tab = await open_tab(conn)
            status, chunks = await conn.stream(tab.events())
            name, _ = await anext(sse_events(chunks))
            if status != 200 or name != "hello":
                raise RuntimeError(f"events stream answered {status} {name}")
            held.append(conn)

    await hold_page()
    await asyncio.sleep(SETTLE_S)
    base, rss = server.rss_kb(), {}
    for count in counts:
        await asyncio.gather(*(hold_page() for _ in range(count + 1 - len(held))))
        await asyncio.sleep(SETTLE_S)
        rss[count] = server.rss_kb()
    for conn in held:
        conn.close()
    return base, rss


# --- the report -------------------------------------------------------------------------------


def pct(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def num(x: float | None, digits: int = 2) -> str:
    return "—" if x is None or math.isnan(x) else f"{x:,.{digits}f}"


def table(res: Results) -> str:
    rows: list[tuple[str, float, float | None, int]] = []  # label, htag-sse, bare, digits
    for label, series in (("GET / (page)", res.get), ("click, sequential", res.click)):
        for q in (0.5, 0.99):
            rows.append((f"{label} p{q * 100:g} ms", pct(series["htag-sse"], q) * 1e3, pct(series["bare"], q) * 1e3, 2))
    for hrun, brun in zip(res.load["htag-sse"], res.load["bare"], strict=True):
        rows.append((f"{hrun.users} users: clicks/s", hrun.per_s, brun.per_s, 0))
        rows.append((f"{hrun.users} users: clicks/server-CPU-s", hrun.per_cpu_s, brun.per_cpu_s, 0))
    if res.push:
        rows += [(f"push p{q * 100:g} ms", pct(res.push, q) * 1e3, None, 2) for q in (0.5, 0.99)]
    rows += [(f"RSS KB per page, {n} open", (kb - res.rss_base_kb) / n, None, 1) for n, kb in res.rss_kb.items()]
    lines = ["| measure | htag-sse | bare Starlette | htag-sse ÷ bare |", "|---|---:|---:|---:|"]
    for label, h, b, digits in rows:
        ratio = f"{h / b:.2f}×" if b else "—"
        lines.append(f"| {label} | {num(h, digits)} | {num(b, digits)} | {ratio} |")
    return "\n".join(lines)


def describe(samples: Sequence[float]) -> str:
    if not samples:
        return "no samples"
    ms = [s * 1e3 for s in samples]
    stats = {"min": min(ms), "p50": pct(ms, 0.5), "p90": pct(ms, 0.9), "p99": pct(ms, 0.99), "max": max(ms)}
    return f"n={len(ms)} " + " ".join(f"{k}={v:.2f}" for k, v in stats.items()) + f" mean={statistics.fmean(ms):.2f} ms"


def raw(res: Results) -> str:
    lines = []
    for label, series in (("GET /", res.get), ("click", res.click)):
        for app, samples in series.items():
            lines.append(f"{label:6} {app:9} {describe(samples)}")
    for app, runs in res.load.items():
        for r in runs:
            others = r.machine_cpu_s - r.server_cpu_s - r.client_cpu_s
            lines.append(
                f"load   {app:9} users={r.users} clicks={r.clicks} in {r.elapsed_s:.2f} s; CPU s (share of one core): "
                f"server {r.server_cpu_s:.2f} ({r.server_cpu_s / r.elapsed_s:.0%}), "
                f"client {r.client_cpu_s:.2f} ({r.client_cpu_s / r.elapsed_s:.0%}), "
                f"other processes {others:.2f} ({others / r.elapsed_s:.0%}); latency {describe(r.latencies)}"
            )
    lines.append(f"push   htag-sse  {describe(res.push)}")
    rss = ", ".join(f"{n} pages {kb} KB" for n, kb in res.rss_kb.items())
    lines.append(f"RSS    htag-sse  baseline (after 1 warm-up page) {res.rss_base_kb} KB; {rss}")
    return "\n".join(lines)


def machine() -> str:
    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0))
    model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                  if ln.startswith("model name")), "?")  # fmt: skip
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    pkgs = ", ".join(
        f"{p} {version(p)}" for p in ("htag", "htag-sse", "starlette", "hypercorn", "h11", "sse-starlette")
    )
    return (
        f"machine: {cpus} CPUs ({usable} usable, {model}), {platform.platform()}, load avg {load}\n"
        f"python {platform.python_version()}; {pkgs}"
    )


def raise_open_files(needed: int) -> None:
    """Raise the soft limit to the hard one, here and in the servers (they inherit it)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 16
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        sys.exit(f"the open-files hard limit ({hard}) is under the {needed} this run needs: ulimit -Hn")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short smoke run (~30 s)")
    parser.add_argument("--json", type=Path, help="also write every sample (seconds) to this file")
    parser.add_argument("--pin", type=int, metavar="CPU", help="run the servers on this CPU only, the client on the others")
    args = parser.parse_args()
    pin(args.pin)
    plan = QUICK if args.quick else FULL
    raise_open_files(max(plan.pages) + max(plan.users) + 256)
    print(machine())
    print(f"plan: {plan}\n", flush=True)
    res = asyncio.run(measure(plan))
    print(table(res))
    print("\nraw:\n" + raw(res))
    if args.json:
        data = {**asdict(res), "plan": asdict(plan), "errors": dict(res.errors.counts)}
        args.json.write_text(json.dumps(data))
    return res.errors.report(res.log_lines, "every response 2xx")


if __name__ == "__main__":
    sys.exit(main())
