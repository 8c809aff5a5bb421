"""Serving with hypercorn (the default server): its configuration from a
:class:`~htag_sse.server.config.RunConfig`, binding, and one process's serving, which ends
every page's stream first on a stop signal (hypercorn would otherwise wait for them)."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
from collections.abc import Callable
from typing import Any

from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets
from hypercorn.utils import wrap_app

from ..errors import ConfigError
from .config import RunConfig
from .logs import handler_target
from .process import STOP_SIGNALS, Flag, close_pages

log = logging.getLogger("htag_sse")


def hypercorn_config(run: RunConfig) -> Config:
    """Hypercorn's configuration: bind address, optional TLS (HTTP/2 by ALPN), logs, timeouts."""
    cfg = Config()
    cfg.bind = [f"[{run.host}]:{run.port}" if ":" in run.host else f"{run.host}:{run.port}"]
    cfg.loglevel = run.log_level.upper()
    cfg.accesslog = handler_target("hypercorn.access") if run.access_log else None
    cfg.errorlog = handler_target("hypercorn.error")
    cfg.graceful_timeout = run.graceful_timeout_s
    cfg.read_timeout = int(run.read_timeout_s)
    cfg.worker_class = run.loop
    cfg.workers = run.workers
    if run.certfile:
        cfg.certfile, cfg.keyfile = run.certfile, run.keyfile
    return cfg


def bind(cfg: Config) -> Sockets:
    """Bind ``cfg``'s address now; a port in use (or refused) is a :class:`ConfigError` that says so."""
    try:
        return cfg.create_sockets()
    except OSError as e:
        host, _, port = cfg.bind[0].rpartition(":")
        if e.errno == errno.EADDRINUSE or getattr(e, "winerror", None) == 10048:  # WSAEADDRINUSE
            raise ConfigError(f"port {port} is in use on {host.strip('[]')}: {e.strerror}") from e
        raise ConfigError(f"cannot listen on {host.strip('[]')} port {port}: {e.strerror or e}") from e


async def serve(app: Any, cfg: Config, sockets: Sockets | None = None, stop: Flag | None = None,
                served: Any = None, signals: tuple[str, ...] = STOP_SIGNALS) -> None:  # fmt: skip
    """Serve ``served`` (default: ``app``) until a signal or ``stop``; ``app``'s pages are closed first."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    closing: list[asyncio.Task[None]] = []

    async def shut_down() -> None:
        try:
            await close_pages(app)
        finally:
            stopping.set()

    def on_signal(*_: Any) -> None:
        if not closing:
            closing.append(loop.create_task(shut_down()))

    for name in signals:
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            loop.add_signal_handler(sig, on_signal)
        except NotImplementedError:  # Windows: no loop signal handlers
            signal.signal(sig, lambda *a: loop.call_soon_threadsafe(on_signal))
    watcher = loop.create_task(_watch(stop, on_signal)) if stop is not None else None
    try:
        await worker_serve(wrap_app(served or app, cfg.wsgi_max_body_size, "asgi"), cfg, sockets=sockets,
                           shutdown_trigger=stopping.wait)  # fmt: skip
    finally:
        if watcher is not None:
            watcher.cancel()


async def _watch(stop: Flag, on_stop: Callable[[], None]) -> None:
    """Relay the supervisor's stop flag (process-shared, or a thread's) to this worker's loop."""
    while not stop.is_set():
        await asyncio.sleep(0.2)
    on_stop()
