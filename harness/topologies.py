"""The deployments htag-sse documents, as real processes, for tests and benchmarks:

===========  ================================================================================
``one``      one worker: the app's own ``app.run()`` (hypercorn, asyncio)
``workers``  two workers on one host: ``hypercorn --workers 2 --worker-class uvloop``, the
             embedded store and bus (the topology that keeps uvloop covered)
``hosts``    two hosts of two workers (``hypercorn``, asyncio) sharing a real redis-server, behind
             nginx round-robin without stickiness
``proxy``    ``one`` behind nginx buffering whole responses (the client falls back to long-poll)
``apart``    ``hosts`` with each host in a network namespace of its own, joined by veth pairs
             with a 0.25 ms delay each way, as inside a datacenter
===========  ================================================================================

Every answer names the worker process that gave it (``X-Htag-Worker``: the app runs in debug
mode), and the workers log htag-sse's lines from DEBUG into a file per host, so a test can tell
where a request went, pause a worker (``SIGSTOP``) to choose where the next one goes, and wait for
a log line. :meth:`Topology.down` and :meth:`Topology.up` restart every host (a deploy).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .hosts import Host, Hosts, round_robin, worker_of
from .processes import wait_until
from .proxies import BUFFER_EVERYTHING, nginx
from .redisserver import RedisServer

#: What a proxy in front of htag-sse lets through, as docs/deploy.md configures it: uploads.
UPLOADS = "client_max_body_size 16m;"
#: The documented topologies, cheapest first.
TOPOLOGIES = ("one", "workers", "hosts", "proxy", "apart")


@dataclass
class Worker:
    """A worker process serving requests."""

    pid: int
    host: Host

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        self.pause()
        try:
            yield
        finally:
            self.resume()


@dataclass
class Topology:
    """A started topology: where a browser goes (``url``), its hosts and their workers."""

    name: str
    url: str
    hosts: list[Host]
    redis: RedisServer | None = None
    stack: ExitStack = field(default_factory=ExitStack)
    group: Hosts | None = None  # several workers: warmed again after a restart (Hosts.warm)

    @property
    def workers(self) -> list[Worker]:
        return [Worker(pid, host) for host in self.hosts for pid in sorted(host.pids)]

    def worker(self, header: str | int | None) -> Worker:
        """The worker an ``X-Htag-Worker`` header names."""
        pid = worker_of(header)
        found = next((w for w in self.workers if w.pid == pid), None)
        assert found is not None, f"no worker {header!r} in {self.name}: {[w.pid for w in self.workers]}"
        return found

    def others(self, worker: Worker) -> list[Worker]:
        return [w for w in self.workers if w.pid != worker.pid]

    @property
    def several(self) -> bool:
        """More than one worker: a request may land on a worker that does not own its page."""
        return len(self.workers) > 1

    def log(self) -> str:
        return "\n".join(f"--- {h.name} ---\n{h.output()}" for h in self.hosts)

    def logged(self, pattern: str, after: tuple[int, ...] = ()) -> bool:
        """Whether a host logged a line matching ``pattern`` since :meth:`mark` gave ``after``."""
        starts = after or (0,) * len(self.hosts)
        return any(re.search(pattern, _read(h.log_path)[start:]) for h, start in zip(self.hosts, starts, strict=True))

    def mark(self) -> tuple[int, ...]:
        """Where each host's log ends now (see :meth:`logged`)."""
        return tuple(len(_read(h.log_path)) for h in self.hosts)

    def wait_logged(self, pattern: str, after: tuple[int, ...] = (), timeout_s: float = 15.0) -> None:
        wait_until(lambda: self.logged(pattern, after), timeout_s, f"a log line matching {pattern!r}")

    def down(self) -> None:
        """Stop every host (SIGTERM, as a deploy does); the load balancer and Redis stay."""
        for host in self.hosts:
            host.signal(signal.SIGTERM)
        for host in self.hosts:
            if host.proc is not None:
                host.proc.wait(20)

    def up(self) -> None:
        """Start every host again, on its address and port (after :meth:`down`): new processes, warmed
        as at the start (every worker of several hosts known to every other: :meth:`Hosts.warm`)."""
        for host in self.hosts:
            host.start()
        if self.group is not None:
            self.group.warm()

    def stop(self) -> None:
        self.stack.close()


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def start(name: str, tmp: Path, *, target: str, app: str, options: dict[str, Any] | None = None,
          env: dict[str, str] | None = None, port: int | None = None, home: str = "/") -> Topology:  # fmt: skip
    """Start topology ``name`` serving ``target`` (``module:variable``, building app ``app``); ``port``:
    where the browser goes (the server's, or the proxy's, or the load balancer's), chosen when not given;
    ``home``: a page of the app (several hosts are warmed by asking every worker for it)."""
    if name not in TOPOLOGIES:
        raise ValueError(f"unknown topology {name!r}: one of {TOPOLOGIES}")
    tmp.mkdir(parents=True, exist_ok=True)
    stack = ExitStack()
    common: dict[str, Any] = {"app": app, "options": options or {}, "target": target,
                              "env": {"HTAG_SSE_TEST_LOG": "info", **(env or {})}}  # fmt: skip
    try:
        if name in ("one", "proxy"):
            host = Host("host0", None, tmp / "host0-sessions", workers=1, runner="run", spread=False,
                        port=port if name == "one" else None, **common)  # fmt: skip
            stack.callback(host.kill)
            host.start()
            url = host.url
            if name == "proxy":
                front = stack.enter_context(nginx(host.port, tmp / "nginx", BUFFER_EVERYTHING, UPLOADS, port=port))
                url = f"http://127.0.0.1:{front}"
            return Topology(name, url, [host], stack=stack)
        if name == "workers":
            alone = Hosts(None, tmp, n=1, workers=2, home=home, worker_class="uvloop", **common)
            alone[0].port = port or alone[0].port
            stack.callback(alone.kill)
            alone.start().warm()
            return Topology(name, alone[0].url, list(alone), stack=stack, group=alone)
        redis = RedisServer().start()
        stack.callback(redis.cleanup)
        if name == "apart":
            from .netns import apart

            group, entries = stack.enter_context(apart(redis, tmp, home=home, **common))
        else:
            group = Hosts(redis.url, tmp, n=2, workers=2, home=home, **common)
            stack.callback(group.kill)
            group.start()
            entries = [(h.address, h.port) for h in group]
        group.warm()
        front = stack.enter_context(round_robin([p for _, p in entries], tmp / "nginx", [a for a, _ in entries], port))
        return Topology(name, f"http://127.0.0.1:{front}", list(group), redis, stack, group)
    except BaseException:
        stack.close()
        raise

