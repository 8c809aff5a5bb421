"""Serving an :class:`~htag_sse.HtagSSE` app with hypercorn (``app.run()``)."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING, Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

from .errors import ConfigError

if TYPE_CHECKING:
    from .app import HtagSSE

log = logging.getLogger("htag_sse")


def config(host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info", access_log: bool = False,
           certfile: str | None = None, keyfile: str | None = None, graceful_timeout_s: float = 5.0) -> Config:  # fmt: skip
    """A hypercorn configuration: bind address, optional TLS (HTTP/2 by ALPN), logs."""
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"port must be an integer in 0..65535, got {port!r}")
    if (certfile is None) != (keyfile is None):
        raise ConfigError("certfile and keyfile go together (TLS needs both)")
    cfg = Config()
    cfg.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    cfg.loglevel = log_level.upper()
    cfg.accesslog = "-" if access_log else None
    cfg.errorlog = "-"
    cfg.graceful_timeout = graceful_timeout_s
    if certfile:
        cfg.certfile, cfg.keyfile = certfile, keyfile
    return cfg


def run(app: HtagSSE, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
    """Serve ``app`` until Ctrl-C or SIGTERM.

    On a stop signal, every page's stream is ended first (hypercorn would
    otherwise wait for them), then hypercorn shuts down gracefully.
    """
    cfg = config(host, port, **options)
    asyncio.run(_serve(app, cfg))


async def _serve(app: HtagSSE, cfg: Config) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(*_: Any) -> None:
        log.info("stopping: closing %d page(s)", len(app.pages))
        app.pages.close_all()
        stop.set()

    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            loop.add_signal_handler(sig, on_signal)
        except NotImplementedError:  # Windows: no loop signal handlers
            signal.signal(sig, lambda *a: loop.call_soon_threadsafe(on_signal))
    await serve(app, cfg, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
