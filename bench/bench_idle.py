#!/usr/bin/env python
"""Memory and idle CPU of one worker holding many open pages, each with its SSE stream.

For uvicorn (httptools + uvloop) and hypercorn (default), one worker process each:
open N counter pages (each in its own session), hold each page's stream and read
it, then report the worker's RSS per page and its CPU over an idle span
(heartbeats included). The same with N bare held responses (bench/apps.py ``stream``)
gives the server's own share of it.

    python bench/bench_idle.py [--pages 1000 10000] [--idle-s 30] [--quick] [--pin CPU]

The idle span must be longer than the heartbeat interval (25 s) to count heartbeats.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_core import CLOCK_TICKS, HOST, free_port, machine, open_tab, pin, pinned, raise_open_files
from bench.bench_peers import ENVS, install
from bench.loadgen import Connection, request, sse_events

OPEN_AT_ONCE = 100
SERVERS = {
    "uvicorn (httptools, uvloop)": ["-m", "uvicorn", "bench.apps:{app}", "--port", "{port}", "--http", "httptools",
                                    "--loop", "uvloop", "--no-access-log", "--log-level", "warning", "--backlog", "4096"],
    "hypercorn": ["-m", "hypercorn", "bench.apps:{app}", "--bind", "127.0.0.1:{port}", "--workers", "0",
                  "--backlog", "4096"],
}  # fmt: skip
#: What is held: an htag-sse counter page with its SSE stream, or (the server's own share) a bare
#: ASGI response held open the same way (bench/apps.py ``stream``).
HELD = {"htag-sse page + stream": "counter", "bare held response": "bare"}
#: httptools for uvicorn (bench_peers.py installs it beside the main venv).
EXTRAS: list[str] = []


class Worker:
    """One server process (``--workers 0``: hypercorn serves in-process), measured from /proc."""

    def __init__(self, argv: list[str], app: str) -> None:
        self.port = free_port()
        env = {**os.environ, "HTAG_SSE_DIR": tempfile.mkdtemp(prefix="htag-sse-idle-"), "PYTHONPATH": ":".join(EXTRAS)}
        argv = [sys.executable, *(a.replace("{port}", str(self.port)).replace("{app}", app) for a in argv)]
        self.log = Path(env["HTAG_SSE_DIR"]) / "server.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(pinned(argv), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    async def ready(self) -> None:
        for _ in range(300):
            try:
                (await Connection.open(HOST, self.port)).close()
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the server did not start: {self.log.read_text()[-800:]}")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_kb(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


async def hold(worker: Worker, pages: int, bare: bool) -> list[asyncio.Task[None]]:
    """Open ``pages`` pages with their streams (``bare``: held responses); a task per stream reads it
    (and keeps it open)."""
    readers: list[asyncio.Task[None]] = []

    async def one() -> None:
        conn = await Connection.open(HOST, worker.port)
        raw = request("GET", "/stream", HOST) if bare else (await open_tab(conn)).events()
        status, chunks = await conn.stream(raw)
        events = sse_events(chunks)
        name, _ = await anext(events)
        if status != 200 or name != "hello":
            raise RuntimeError(f"stream answered {status} {name}")

        async def read() -> None:
            try:
                async for _ in events:
                    pass
            finally:
                conn.close()

        readers.append(asyncio.ensure_future(read()))

    for start in range(0, pages, OPEN_AT_ONCE):
        await asyncio.gather(*(one() for _ in range(min(OPEN_AT_ONCE, pages - start))))
    return readers


async def measure(name: str, held: str, pages: int, idle_s: float) -> str:
    bare = HELD[held] == "bare"
    worker = Worker(SERVERS[name], HELD[held])
    await worker.ready()
    try:
        readers = await hold(worker, 1, bare)  # warm-up: code paths, caches
        await asyncio.sleep(1)
        base, t0 = worker.rss_kb(), time.monotonic()
        readers += await hold(worker, pages, bare)
        opened_s = time.monotonic() - t0
        await asyncio.sleep(3)
        per_page = (worker.rss_kb() - base) / pages
        cpu0, t1 = worker.cpu_s(), time.monotonic()
        await asyncio.sleep(idle_s)
        idle = (worker.cpu_s() - cpu0) / (time.monotonic() - t1)
        for task in readers:
            task.cancel()
        return f"| {name} | {held} | {pages:,} | {per_page:.1f} | {idle * 100:.2f}% | {opened_s:.1f} s |"
    finally:
        worker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--idle-s", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="1,000 pages only")
    parser.add_argument("--pin", type=int, metavar="CPU", help="run the servers on this CPU only, the client on the others")
    args = parser.parse_args()
    pin(args.pin)
    EXTRAS.append(install(ENVS["main-extras"], ROOT / "bench" / ".peers").pythonpath)
    pages, idle_s = ([1000], args.idle_s) if args.quick else (args.pages, args.idle_s)
    raise_open_files(max(pages) + 256)
    print(machine() + "\n")
    rows = [("| server, one worker | held | open, each with its stream | RSS KB per page | idle CPU (% of a core) "
             "| time to open them |"), "|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for name in SERVERS:
        for held in HELD:
            for n in pages:
                rows.append(asyncio.run(measure(name, held, n, idle_s)))
            print(rows[-1], file=sys.stderr, flush=True)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
