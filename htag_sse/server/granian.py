"""Serving with Granian (``server="granian"``; ``pip install 'htag-sse[granian]'``), a Rust HTTP/1.1
and HTTP/2 server: h2 over TLS by ALPN, h2c with prior knowledge. Its worker processes (spawned, one
or more) import the app by name, as hypercorn's do with ``workers > 1``; a worker that dies is
replaced. Granian waits for every open request before an application's lifespan shutdown, and a
page's SSE stream stays open: on a stop signal each worker ends its pages' streams first."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import functools
import math
import multiprocessing
import signal
import socket
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import ConfigError
from .config import RunConfig
from .logs import FORMAT, setup_logging
from .process import STOP_SIGNALS, close_pages, import_app, import_path, tune_gc


def serve(app: Any, config: RunConfig, import_as: str | None = None) -> None:
    """Serve ``app`` (imported by each worker as ``import_as``, default: found) until a stop signal."""
    from granian import Granian

    target = import_as or import_path(app, "run(server='granian')")
    multiprocessing.set_start_method("spawn", force=True)  # never fork a process holding the store's files
    tls = {"ssl_cert": Path(config.certfile), "ssl_key": Path(str(config.keyfile))} if config.certfile else {}
    server = Granian(
        target, address=config.host, port=config.port, interface="asgi", http="auto", workers=config.workers,  # type: ignore[arg-type]
        loop=config.loop, log_level=config.log_level, log_access=config.access_log,  # type: ignore[arg-type]
        log_dictconfig=_log_config(), respawn_failed_workers=True,
        workers_kill_timeout=max(1, math.ceil(config.graceful_timeout_s)), **tls,  # type: ignore[arg-type]
    )  # fmt: skip
    server.serve(target_loader=functools.partial(load, log_level=config.log_level))


def reserved(config: RunConfig) -> RunConfig:
    """``config`` with a port that was free a moment ago (``port=0``: a free one); a port in use (or
    refused) is a :class:`ConfigError` that says so, before any process starts."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((config.host, config.port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE or getattr(e, "winerror", None) == 10048:  # WSAEADDRINUSE
                raise ConfigError(f"port {config.port} is in use on {config.host}: {e.strerror}") from e
            raise ConfigError(f"cannot listen on {config.host} port {config.port}: {e.strerror or e}") from e
        port = probe.getsockname()[1]
    return config if port == config.port else dataclasses.replace(config, port=port)


def load(target: str, log_level: str = "info") -> ASGIApp:
    """In each Granian worker: logs, the GC tuned, the app imported, its streams ended first on a stop signal."""
    setup_logging(log_level)
    app = import_app(target)
    tune_gc()
    return StreamsFirst(app)


class StreamsFirst:
    """The app, whose pages' streams end first when the worker gets a stop signal: at the lifespan's
    startup (Granian installed its own signal handlers already) each handler is wrapped."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.closing: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            self.chain_signals(asyncio.get_running_loop())
        await self.app(scope, receive, send)

    def chain_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        for name in STOP_SIGNALS:
            sig = getattr(signal, name, None)
            previous = signal.getsignal(sig) if sig is not None else None
            if callable(previous) and not getattr(previous, "htag_sse", False):
                signal.signal(sig, _chained(previous, lambda: loop.call_soon_threadsafe(self.close)))  # type: ignore[arg-type]

    def close(self) -> None:
        if self.closing is None:
            self.closing = asyncio.get_running_loop().create_task(close_pages(self.app))


def _chained(previous: Any, first: Any) -> Any:
    def handler(signum: int, frame: Any) -> None:
        first()
        previous(signum, frame)

    handler.htag_sse = True  # type: ignore[attr-defined]
    return handler


def _log_config() -> dict[str, Any]:
    """Granian's log lines in htag-sse's format, on stderr."""
    return {
        "formatters": {
            "generic": {"()": "logging.Formatter", "fmt": FORMAT},
            "access": {"()": "logging.Formatter", "fmt": FORMAT},
        },
        "handlers": {
            "console": {"formatter": "generic", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
            "access": {"formatter": "access", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
        },
    }
