"""Serving an :class:`~htag_sse.HtagSSE` app with hypercorn (``app.run()``), in one
process or in several worker processes kept alive by a small supervisor."""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import multiprocessing
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import wait
from multiprocessing.synchronize import Event as ProcessEvent
from typing import TYPE_CHECKING, Any

from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets
from hypercorn.utils import wrap_app

from .errors import ConfigError

if TYPE_CHECKING:
    from .app import HtagSSE

log = logging.getLogger("htag_sse")

LOOPS = ("asyncio", "uvloop")
#: A worker that dies sooner than this after its start counts as crashing at startup.
EARLY_DEATH_S = 2.0
#: The supervisor gives up after this many startup crashes in a row.
MAX_EARLY_DEATHS = 5
#: Garbage collection thresholds ``run()`` sets (Python's defaults: 700, 10, 10), see :func:`tune_gc`.
GC_THRESHOLDS = (10_000, 20, 20)


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


def run(app: HtagSSE, host: str = "127.0.0.1", port: int = 8000, *, workers: int = 1, loop: str = "asyncio",
        **options: Any) -> None:  # fmt: skip
    """Serve ``app`` until Ctrl-C or SIGTERM.

    On a stop signal every page's stream is ended first (hypercorn would
    otherwise wait for them), then hypercorn shuts down gracefully. With
    ``workers > 1`` the app is imported by each worker process (it must be a
    module-level variable) and a worker that dies is replaced.
    """
    cfg = config(host, port, **options)
    run_with(app, cfg, cfg.create_sockets(), workers=workers, loop=loop)


def run_with(app: Any, cfg: Config, sockets: Sockets, *, workers: int = 1, loop: str = "asyncio",
             import_path: str | None = None) -> None:  # fmt: skip
    """Serve on already bound ``sockets``; worker processes import ``import_path`` (default: found)."""
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be an integer >= 1, got {workers!r}")
    if loop not in LOOPS:
        raise ConfigError(f"loop must be one of {LOOPS}, got {loop!r}")
    if loop == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            raise ConfigError("loop='uvloop' needs uvloop: pip install 'htag-sse[uvloop]'") from None
    cfg.worker_class = loop
    if workers == 1:
        _run_loop(loop, _serve(app, cfg, sockets=sockets))
        return
    cfg.application_path = import_path or globals()["import_path"](app)
    cfg.workers = workers
    supervise(cfg, sockets, workers)


def import_path(app: object) -> str:
    """``module:variable`` naming ``app``, so that worker processes can import it.

    A real module is preferred to ``__main__`` (a ``python -c`` or a REPL has
    no file a worker could run again).
    """
    modules = sorted(sys.modules.items(), key=lambda item: item[0] in ("__main__", "__mp_main__"))
    for name, module in modules:
        for var, value in list(getattr(module, "__dict__", {}).items()):
            if value is app and not var.startswith("_"):
                return f"{name}:{var}"
    raise ConfigError(
        "run(workers=N) starts processes that import the app: assign it to a module-level variable "
        "(app = HtagSSE(App)) and call app.run(workers=N) under `if __name__ == '__main__':`"
    )


def supervise(cfg: Config, sockets: Sockets, workers: int) -> None:
    """Run ``workers`` worker processes on shared sockets; replace any that dies; stop on a signal."""
    ctx = multiprocessing.get_context("spawn")  # the portable way: Windows and macOS spawn too
    stop = ctx.Event()
    procs: list[tuple[Any, float]] = []
    early_deaths = 0
    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: stop.set())
    try:
        while not stop.is_set():
            while len(procs) < workers:
                proc = ctx.Process(target=worker_process, kwargs={"cfg": cfg, "sockets": sockets, "stop": stop})
                proc.start()
                procs.append((proc, time.monotonic()))
            wait([p.sentinel for p, _ in procs], timeout=0.5)
            for proc, started in [item for item in procs if not item[0].is_alive()]:
                procs.remove((proc, started))
                if stop.is_set():
                    continue
                early_deaths = early_deaths + 1 if time.monotonic() - started < EARLY_DEATH_S else 0
                log.warning("worker pid %s exited with code %s: starting another", proc.pid, proc.exitcode)
                if early_deaths >= MAX_EARLY_DEATHS:
                    log.error("workers keep dying at startup: giving up")
                    stop.set()
    finally:
        stop.set()
        for proc, _ in procs:
            proc.join(cfg.graceful_timeout + 5)
            if proc.is_alive():
                proc.terminate()
        for sock in [*sockets.secure_sockets, *sockets.insecure_sockets]:
            sock.close()


def worker_process(cfg: Config, sockets: Sockets, stop: ProcessEvent) -> None:
    """One worker process: import the app, serve until the supervisor says stop."""
    module, _, name = cfg.application_path.partition(":")
    app = getattr(importlib.import_module(module), name)  # spawn gave us the parent's sys.path
    _run_loop(cfg.worker_class, _serve(app, cfg, sockets=sockets, stop=stop))


def tune_gc() -> None:
    """Fewer, cheaper garbage collections for an htag server (run in each worker).

    htag allocates many short-lived objects per click (a class per event);
    Python's default thresholds then run a full collection — a pause of the
    whole worker that grows with the number of open pages — every second or
    so under load. Freezing what is loaded at startup takes it out of every
    collection; a larger first-generation threshold makes full collections rare.
    Measured in docs/performance.md. Applied by ``run()`` and the CLI only:
    with another server, call it from your ``server.py``.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _run_loop(loop: str, main: Awaitable[None]) -> None:
    tune_gc()
    if loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main)  # type: ignore[arg-type]
    else:
        asyncio.run(main)  # type: ignore[arg-type]


async def _serve(app: Any, cfg: Config, sockets: Sockets | None = None, stop: ProcessEvent | None = None) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(*_: Any) -> None:
        if not stopping.is_set():
            pages = getattr(app, "pages", None)
            if pages is not None:
                log.info("stopping: closing %d page(s)", len(pages))
                pages.close_all()
            stopping.set()

    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            loop.add_signal_handler(sig, on_signal)
        except NotImplementedError:  # Windows: no loop signal handlers
            signal.signal(sig, lambda *a: loop.call_soon_threadsafe(on_signal))
    watcher = loop.create_task(_watch(stop, on_signal)) if stop is not None else None
    try:
        await worker_serve(wrap_app(app, cfg.wsgi_max_body_size, "asgi"), cfg, sockets=sockets,
                           shutdown_trigger=stopping.wait)  # fmt: skip
    finally:
        if watcher is not None:
            watcher.cancel()


async def _watch(stop: ProcessEvent, on_stop: Callable[[], None]) -> None:
    """Relay the supervisor's stop event (a process-shared flag) to this worker's loop."""
    while not stop.is_set():
        await asyncio.sleep(0.2)
    on_stop()
