"""HAProxy (Debian's ``haproxy``) in front of several hosts, with its own sticky cookie: the load-balancer
affinity docs/redis.md recommends, as tests and benchmarks run it.

The configuration is the one docs/redis.md shows (:func:`config`): ``balance roundrobin`` for a
browser's first request, then ``cookie SERVERID insert indirect nocache`` pins it to the host that
answered; a host that is down (health check on ``/_htag/health``, or a refused connection) is
skipped and its users are sent to another (``option redispatch``), where their pages rerun. The
timeouts leave a Server-Sent Events stream open as long as it lasts (htag-sse sends a keep-alive
comment every 15 s; ``timeout server`` and ``timeout tunnel`` are far longer).
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import marks
from .processes import DIE_WITH_PARENT, free_port, listening, wait_until

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
#: The cookie HAProxy adds to the first answer a browser gets: which host it sticks to.
COOKIE = "SERVERID"


def config(port: int, servers: list[tuple[str, str, int]], *, check_interval: str = "1s") -> str:
    """The configuration: HAProxy listening on 127.0.0.1:``port``, sticky to ``servers`` (name, address,
    port), each checked every ``check_interval``; an access log line per request on its stdout."""
    lines = "\n".join(
        f"    server {name} {address}:{p} cookie {name} check inter {check_interval} fall 1 rise 1"
        for name, address, p in servers
    )
    return (
        textwrap.dedent(f"""\
        global
            maxconn 4096

        defaults
            mode http
            log stdout format raw local0
            option httplog
            option forwardfor
            # a refused connection (a host gone) is tried again, on another host
            retries 2
            option redispatch 1
            timeout connect 2s
            timeout client 1h
            timeout server 1h
            timeout tunnel 1h
            timeout http-request 10s
            timeout http-keep-alive 60s
            timeout queue 10s

        frontend web
            bind 127.0.0.1:{port}
            default_backend hosts

        backend hosts
            balance roundrobin
            cookie {COOKIE} insert indirect nocache
            option httpchk GET /_htag/health
            http-check expect status 200
        """)
        + lines
        + "\n"
    )


@contextmanager
def sticky(ports: list[int], tmp: Path, addresses: list[str] | None = None) -> Iterator[int]:
    """HAProxy spreading browsers over ``addresses``:``ports`` (127.0.0.1 by default), each browser then
    kept on its host by HAProxy's cookie; yields HAProxy's port. Its log (a line per request, with the
    host that served it) is ``tmp/haproxy.log``. Stopped (SIGTERM, then SIGKILL) at the end."""
    marks.starting("haproxy")
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    where = addresses or ["127.0.0.1"] * len(ports)
    servers = [(f"host{i}", a, p) for i, (a, p) in enumerate(zip(where, ports, strict=True))]
    conf = tmp / "haproxy.cfg"
    conf.write_text(config(port, servers))
    check = subprocess.run([HAPROXY, "-c", "-f", str(conf)], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise AssertionError(f"haproxy refused its configuration: {check.stdout}{check.stderr}")
    with open(tmp / "haproxy.log", "ab") as log:
        # -db: in the foreground, no daemon; -W is not needed (one process, no reloads)
        proc = subprocess.Popen([*DIE_WITH_PARENT, HAPROXY, "-db", "-f", str(conf)], stdout=log,
                                stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_until(lambda: listening(port) or proc.poll() is not None, 10, "haproxy to listen")
        assert proc.poll() is None, (tmp / "haproxy.log").read_text(errors="replace")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
