"""Several "hosts" sharing only a Redis, for tests and benchmarks.

A host is one ``hypercorn <target> --workers N`` process group on its own port (``target``:
an ASGI app that builds the app ``HTAG_SSE_TEST_APP`` names with the options of
``HTAG_SSE_TEST_OPTIONS``, JSON), with its own local session directory (``HTAG_SSE_DIR``): nothing but Redis
(``HTAG_SSE_REDIS`` + ``HTAG_SSE_SECRET``) joins them. Apps run in debug mode, so
every answer names the worker process that gave it (``X-Htag-Worker: <os pid>``),
and with ``Connection: close`` (``HTAG_SSE_TEST_SPREAD``), so a client talking to
one host straight lands on any of its workers. :func:`round_robin` puts nginx in
front of them: plain round-robin, no stickiness, no upstream keep-alive.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from htag_sse.workers import LIVENESS_CACHE_S

from . import marks
from .processes import DIE_WITH_PARENT, ROOT, free_port, listening, wait_until, worker_pids
from .proxies import running_nginx

#: Shared by every host of a test (Redis values are signed with it).
SECRET = "hosts-test-secret-0123456789abcdef"
PY = sys.executable
#: The workers' registry (a sorted set of leases) in the default namespace.
LEASES = "{htag-sse:leases}:z"


def children(parent: int) -> set[int]:
    """The worker processes right under ``parent``."""
    return worker_pids(parent)


def worker_of(header: int | str | None) -> int | None:
    """The os pid an ``X-Htag-Worker`` header names (it may come twice, joined by a comma, when the app
    adds middleware of its own: the router and the debug middleware both add it)."""
    if header is None or isinstance(header, int):
        return header
    return int(re.split(r"[,\n]", header)[0])


class Host:
    """One hypercorn master and its ``workers`` worker processes, in a process group of their own;
    its output goes to ``<directory>.log`` (a pipe nobody reads could fill up and stall it)."""

    def __init__(self, name: str, redis_url: str | None, directory: Path, *, app: str, workers: int,
                 options: dict[str, Any], env: dict[str, str] | None = None, port: int | None = None,
                 target: str, spread: bool = True, runner: str = "hypercorn", address: str = "127.0.0.1",
                 prefix: list[str] | None = None, worker_class: str = "asyncio") -> None:  # fmt: skip
        """``redis_url`` ``None``: sessions in ``directory`` only (one host alone). ``target``: the ASGI
        app served (``module:variable``). ``spread``: every answer but streams says ``Connection: close``.
        ``runner``: ``"hypercorn"`` (``hypercorn --workers N --worker-class <worker_class>``: ``asyncio``
        or ``uvloop``) or ``"run"`` (the app's own ``app.run()``, asyncio). ``address``: where it
        listens; ``prefix``: a command the server runs under (``ip netns exec ...``)."""
        self.name, self.redis_url, self.directory, self.app = name, redis_url, directory, app
        self.worker_class = worker_class
        self.workers, self.options, self.extra_env = workers, options, env or {}
        self.target, self.spread, self.runner, self.address = target, spread, runner, address
        self.prefix = prefix or []
        self.port = port or free_port()
        self.log_path = directory.with_suffix(".log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.pids: set[int] = set()  # the worker processes (os pids) once started

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def argv(self) -> list[str]:
        if self.runner == "run":
            module, _, variable = self.target.partition(":")
            code = f"from {module} import {variable}; {variable}.run(host={self.address!r}, port={self.port}, "
            return [PY, "-c", code + f"workers={self.workers})"]
        return [PY, "-m", "hypercorn", self.target, "--workers", str(self.workers),
                "--worker-class", self.worker_class, "--bind", f"{self.address}:{self.port}"]  # fmt: skip

    def start(self, timeout_s: float = 30.0) -> Host:
        marks.starting("server")
        self.directory.mkdir(parents=True, exist_ok=True)
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("HTAG_SSE_REDIS", "HTAG_SSE_TEST_SPREAD")},
            "PYTHONPATH": str(ROOT),
            "HTAG_SSE_DIR": str(self.directory),
            "HTAG_SSE_SECRET": SECRET,
            "HTAG_SSE_TEST_APP": self.app,
            "HTAG_SSE_TEST_OPTIONS": json.dumps({"debug": True, **self.options}),
            **({"HTAG_SSE_REDIS": self.redis_url} if self.redis_url else {}),
            **({"HTAG_SSE_TEST_SPREAD": "1"} if self.spread else {}),
            **self.extra_env,
        }
        argv = [*DIE_WITH_PARENT, *self.prefix, *self.argv()]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)  # fmt: skip

        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, f"{self.name} died: {self.output()}"
            return listening(self.port, self.address) and len(self.serving()) >= self.workers

        wait_until(up, timeout_s, f"{self.name} and its {self.workers} workers")
        self.pids = self.serving()
        return self

    def serving(self) -> set[int]:
        """The processes that serve requests: the workers, or the server itself when it has none."""
        assert self.proc is not None
        if self.runner == "run" and self.workers == 1:
            return {self.proc.pid}
        return children(self.proc.pid)  # setpriv and ip netns exec exec the server: the same pid

    def signal(self, sig: int) -> None:
        """``sig`` to the whole process group (master and workers)."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """SIGKILL of every process of this host: nothing runs its shutdown."""
        if self.proc is not None and self.proc.returncode is None:
            self.signal(signal.SIGKILL)
            self.proc.wait(10)

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""


class Hosts:
    """``n`` hosts of ``workers`` workers each on one Redis (or one host alone, ``redis_url`` None);
    ``hosts.of(pid)`` names a worker's host."""

    def __init__(self, redis_url: str | None, tmp: Path, *, n: int = 2, workers: int = 2, app: str = "board",
                 options: dict[str, Any] | None = None, env: dict[str, str] | None = None,
                 target: str, spread: bool = True, home: str = "/", worker_class: str = "asyncio") -> None:  # fmt: skip
        """``home``: a page of the app, which :meth:`warm` asks every worker for."""
        common: dict[str, Any] = {"app": app, "workers": workers, "options": options or {}, "env": env}
        self.home = home
        common.update(target=target, spread=spread, worker_class=worker_class)
        self.hosts = [Host(f"host{i}", redis_url, tmp / f"host{i}-sessions", **common) for i in range(n)]

    def __getitem__(self, i: int) -> Host:
        return self.hosts[i]

    def __iter__(self) -> Iterator[Host]:
        return iter(self.hosts)

    def start(self) -> Hosts:
        for host in self.hosts:
            host.start()
        return self

    def warm(self, timeout_s: float = 30.0) -> Hosts:
        """Have every worker hold its lease (a worker takes it at its first page) and listen on its bus
        channel (``ns:b:<worker id>``), wait until the workers' registry in Redis
        has not changed for ``LIVENESS_CACHE_S`` (every worker's cached view of who is alive then
        includes every other), then until every worker has renewed its lease twice (each renewal is
        followed by a look around): each has then seen the others. Until then a worker may believe
        it is alone (it does not re-read sessions), or that a page of a worker it does not know yet
        is gone: both are shown by tests/e2e/test_hosts.py, which the hosts of the other tests are
        spared. One host alone (no Redis): wait until each of its workers has opened its inbox
        on the loopback bus (it logs so, at DEBUG), which it does once it knows it has company: until
        then another worker's request waits for it (half a lease), or takes its pages for gone."""
        deadline = time.monotonic() + timeout_s
        ids: dict[int, str] = {}  # os pid -> worker id
        for host in self.hosts:
            for path in (self.home, "/_htag/health"):  # a page from each worker, then each worker's id
                seen: set[int] = set()
                while seen != host.pids:
                    assert time.monotonic() < deadline, f"only workers {seen} of {host.name} answered {path}"
                    r = httpx.get(host.url + path, timeout=10)
                    assert r.status_code == 200, r.text
                    pid = worker_of(r.headers["x-htag-worker"]) or 0
                    seen.add(pid)
                    if path != self.home:
                        ids[pid] = r.json()["worker"]
        if self.hosts[0].redis_url is None:
            if len(ids) > 1:

                def inboxes() -> bool:
                    text = "".join(h.log_path.read_text(errors="replace") for h in self.hosts)
                    return all(f"worker {wid} opened its inbox" in text for wid in ids.values())

                wait_until(inboxes, max(1.0, deadline - time.monotonic()), "every worker to open its inbox")
            return self
        client = redis_client(self.hosts[0].redis_url)
        contacts = {wid: f"htag-sse:b:{wid}" for wid in ids.values()}
        try:
            last, since = None, time.monotonic()

            def settled() -> bool:
                nonlocal last, since
                names = sorted(client.zrange(LEASES, 0, -1))
                if names != last:
                    last, since = names, time.monotonic()
                listening = subscribers(client, list(contacts.values()))
                known = all(f"w:{wid}".encode() in names and listening.get(key) for wid, key in contacts.items())
                return known and time.monotonic() - since > LIVENESS_CACHE_S

            wait_until(settled, max(1.0, deadline - time.monotonic()), "every worker to hold a lease")
            # Each renewal of a lease (every lease_s / 3) moves its score in the registry, and is followed by
            # a look around: after two, each worker has looked around since the registry was complete.
            scores = {wid: [client.zscore(LEASES, f"w:{wid}")] for wid in contacts if len(contacts) > 1}

            def renewed_twice() -> bool:
                for wid, history in scores.items():
                    score = client.zscore(LEASES, f"w:{wid}")
                    if score != history[-1]:
                        history.append(score)
                return all(len(history) > 2 for history in scores.values())

            wait_until(renewed_twice, max(1.0, deadline - time.monotonic()), "every worker to see the others")
        finally:
            client.close()
        return self

    def of(self, pid: int | str | None) -> Host | None:
        """The host whose worker has this os pid (an ``X-Htag-Worker`` value)."""
        found = worker_of(pid)
        for host in self.hosts:
            if found in host.pids:
                return host
        return None

    @property
    def ports(self) -> list[int]:
        return [h.port for h in self.hosts]

    def kill(self) -> None:
        for host in self.hosts:
            host.kill()

    def output(self) -> str:
        return "\n".join(f"--- {h.name} ---\n{h.output()}" for h in self.hosts)


def subscribers(client: Any, channels: list[str]) -> dict[str, int]:
    """How many listen on each channel (on a Cluster: on any node)."""
    import redis

    if isinstance(client, redis.RedisCluster):
        counts: dict[str, int] = {}
        for node in client.get_nodes():
            for channel, n in client.pubsub_numsub(*channels, target_nodes=node):
                name = channel.decode() if isinstance(channel, bytes) else channel
                counts[name] = counts.get(name, 0) + int(n)
        return counts
    return {(c.decode() if isinstance(c, bytes) else c): int(n) for c, n in client.pubsub_numsub(*channels)}


def redis_client(url: str) -> Any:
    """A plain redis-py client (a Cluster one for ``redis+cluster://``), for looking at what the hosts wrote."""
    import redis

    if url.startswith("redis+cluster://"):
        return redis.RedisCluster.from_url(url.replace("+cluster", ""))
    return redis.Redis.from_url(url)


@contextmanager
def hosts(redis_url: str | None, tmp: Path, *, warm: bool = True, **kwargs: Any) -> Iterator[Hosts]:
    """Started hosts (``warm``: every worker holding its lease, known to every other), killed (process
    groups, SIGKILL) when done."""
    group = Hosts(redis_url, tmp, **kwargs)
    try:
        group.start()
        if warm:
            group.warm()
        yield group
    finally:
        group.kill()


@contextmanager
def round_robin(ports: list[int], tmp: Path, addresses: list[str] | None = None,
                port: int | None = None) -> Iterator[int]:  # fmt: skip
    """nginx spreading requests over 127.0.0.1:``ports``, one after the other (round-robin): no
    stickiness, no upstream keep-alive (each request its own connection, which any worker of the
    host may accept), bodies up to 16 MB (uploads, as docs/deploy.md configures it). A host that
    refuses connections is skipped (``proxy_next_upstream``'s default) and tried again 1 s later.
    Yields nginx's port (``port``, or a free one); its access log is ``tmp/access.log``."""
    port = port or free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir(exist_ok=True)
    where = addresses or ["127.0.0.1"] * len(ports)
    servers = "\n".join(f"server {a}:{p} max_fails=1 fail_timeout=1s;" for a, p in zip(where, ports, strict=True))
    conf = tmp / "nginx.conf"
    conf.write_text(
        textwrap.dedent(f"""
        daemon off;
        master_process off;
        worker_processes 1;
        pid {tmp}/nginx.pid;
        error_log {tmp}/error.log info;
        events {{ worker_connections 1024; }}
        http {{
            log_format hosts '$request_method $uri $status $upstream_addr $request_time';
            access_log {tmp}/access.log hosts;
            client_body_temp_path {tmp}/body;
            proxy_temp_path {tmp}/proxy;
            fastcgi_temp_path {tmp}/fastcgi;
            uwsgi_temp_path {tmp}/uwsgi;
            scgi_temp_path {tmp}/scgi;
            upstream hosts {{
                {servers}
            }}
            server {{
                listen 127.0.0.1:{port};
                client_max_body_size 16m;  # uploads, up to max_interaction_bytes (docs/deploy.md)
                location / {{
                    proxy_pass http://hosts;
                    proxy_http_version 1.1;
                    proxy_set_header Host $http_host;
                    proxy_set_header Connection close;
                    proxy_read_timeout 120s;
                }}
            }}
        }}
    """)
    )
    with running_nginx(conf, tmp, port):
        yield port
