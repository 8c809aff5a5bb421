"""Real proxies for the tests: nginx (reverse proxy) and squid (forward proxy),
each started in the foreground with a config written to a temporary directory."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import marks
from .processes import free_port, listening, wait_until

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SQUID = shutil.which("squid") or "/usr/sbin/squid"

#: nginx's defaults for a reverse proxy: buffering on, HTTP/1.1 to the upstream.
DEFAULT_BUFFERING = "proxy_buffering on;"
#: Buffering on, X-Accel-Buffering ignored, and event streams compressed: nginx's
#: gzip filter holds the stream (buffering alone still passes each chunk on).
BUFFER_EVERYTHING = """
    proxy_buffering on;
    proxy_ignore_headers X-Accel-Buffering;
    gzip on;
    gzip_proxied any;
    gzip_min_length 1;
    gzip_types text/event-stream application/json;
"""


@contextmanager
def nginx(upstream_port: int, tmp: Path, location: str = DEFAULT_BUFFERING, http_extra: str = "",
          port: int | None = None) -> Iterator[int]:  # fmt: skip
    """nginx in front of 127.0.0.1:``upstream_port``; yields its port (``port``, or a free one)."""
    port = port or free_port()
    conf = tmp / "nginx.conf"
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir(parents=True, exist_ok=True)
    conf.write_text(
        textwrap.dedent(f"""
        daemon off;
        master_process off;
        worker_processes 1;
        pid {tmp}/nginx.pid;
        error_log {tmp}/error.log info;
        events {{ worker_connections 1024; }}
        http {{
            access_log {tmp}/access.log;
            {http_extra}
            client_body_temp_path {tmp}/body;
            proxy_temp_path {tmp}/proxy;
            fastcgi_temp_path {tmp}/fastcgi;
            uwsgi_temp_path {tmp}/uwsgi;
            scgi_temp_path {tmp}/scgi;
            server {{
                listen 127.0.0.1:{port};
                location / {{
                    proxy_pass http://127.0.0.1:{upstream_port};
                    proxy_http_version 1.1;
                    proxy_set_header Host $http_host;
                    proxy_set_header Connection "";
                    {location}
                }}
            }}
        }}
    """)
    )
    with running_nginx(conf, tmp, port):
        yield port


@contextmanager
def running_nginx(conf: Path, tmp: Path, port: int) -> Iterator[None]:
    """Run nginx with configuration ``conf`` (prefix ``tmp``) until the block ends; it must listen on ``port``."""
    marks.starting("nginx")
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: listening(port) or proc.poll() is not None, 10, "nginx to listen")
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "nginx died"
        yield
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


@contextmanager
def squid(access_log: Path) -> Iterator[int]:
    """squid as an HTTP forward proxy (no caching); yields its port. Its access
    log (written as transactions end) is copied to ``access_log`` when it stops.

    squid drops root for the ``proxy`` user, which cannot enter pytest's
    private temporary directories: it runs in a directory of its own.
    """
    marks.starting("squid")
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="htag-sse-squid-"))
    shutil.chown(tmp, "proxy", "proxy")
    conf = tmp / "squid.conf"
    conf.write_text(
        textwrap.dedent(f"""
        http_port 127.0.0.1:{port}
        http_access allow all
        cache deny all
        access_log stdio:{tmp}/access.log
        cache_log {tmp}/cache.log
        pid_filename {tmp}/squid.pid
        coredump_dir {tmp}
        cache_effective_user proxy
        shutdown_lifetime 1 seconds
    """)
    )
    proc = subprocess.Popen([SQUID, "-N", "-f", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: listening(port) or proc.poll() is not None, 20, "squid to listen")
        assert proc.poll() is None, (tmp / "cache.log").read_text() if (tmp / "cache.log").exists() else "squid died"
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        if (tmp / "access.log").exists():
            shutil.copy(tmp / "access.log", access_log)
        shutil.rmtree(tmp, ignore_errors=True)
