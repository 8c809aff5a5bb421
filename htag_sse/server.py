"""Serving an :class:`~htag_sse.HtagSSE` app with hypercorn (``app.run()``), in one
process or in several worker processes kept alive by a small supervisor; the
server processes of ``--reload``."""

from __future__ import annotations

import asyncio
import errno
import gc
import importlib
import inspect
import logging
import multiprocessing
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import wait
from typing import TYPE_CHECKING, Any, Protocol

from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets
from hypercorn.utils import wrap_app

from .errors import ConfigError

if TYPE_CHECKING:
    from .app import HtagSSE

log = logging.getLogger("htag_sse")

#: Hypercorn closes a connection whose client sent nothing for this long (it has none by default).
READ_TIMEOUT_S = 300

LOOPS = ("asyncio", "uvloop")
#: A worker that dies sooner than this after its start counts as crashing at startup.
EARLY_DEATH_S = 2.0
#: The supervisor gives up after this many startup crashes in a row.
MAX_EARLY_DEATHS = 5
#: Garbage collection thresholds ``run()`` sets (Python's defaults: 700, 10, 10), see :func:`tune_gc`.
GC_THRESHOLDS = (10_000, 20, 20)
#: The signals that stop a server process.
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGBREAK")


class Flag(Protocol):
    """A stop flag: a process-shared event, or a thread's."""

    def is_set(self) -> bool: ...


def config(host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info", access_log: bool = False,
           certfile: str | None = None, keyfile: str | None = None, graceful_timeout_s: float = 5.0,
           read_timeout_s: int = READ_TIMEOUT_S) -> Config:  # fmt: skip
    """A hypercorn configuration: bind address, optional TLS (HTTP/2 by ALPN), logs, and a read
    timeout (``read_timeout_s``): a connection whose client sent nothing for that long is closed —
    a stream's client then reconnects and resumes by event id, nothing lost."""
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"port must be an integer in 0..65535, got {port!r}")
    if (certfile is None) != (keyfile is None):
        raise ConfigError("certfile and keyfile go together (TLS needs both)")
    cfg = Config()
    cfg.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    cfg.loglevel = log_level.upper()
    cfg.accesslog = _log_target("hypercorn.access") if access_log else None
    cfg.errorlog = _log_target("hypercorn.error")
    cfg.graceful_timeout = graceful_timeout_s
    cfg.read_timeout = int(read_timeout_s)
    if certfile:
        cfg.certfile, cfg.keyfile = certfile, keyfile
    return cfg


def _log_target(name: str) -> logging.Logger | str:
    """Hypercorn's logger ``name`` through the logging configuration if there is one, else
    printed by hypercorn's own handler (which then does not propagate: each line once)."""
    return logging.getLogger(name) if logging.getLogger().handlers else "-"


def setup_logging(level: str) -> None:
    """The command line's logging (set up again in each of its server processes: spawn starts them blank)."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s")
    if level != "debug":  # htag tells every tag creation at INFO, watchfiles every change it sees
        for name in ("htag", "watchfiles"):
            logging.getLogger(name).setLevel(logging.WARNING)


def bind(cfg: Config) -> Sockets:
    """Bind ``cfg``'s address now; a port in use (or refused) is a :class:`ConfigError` that says so."""
    try:
        return cfg.create_sockets()
    except OSError as e:
        host, _, port = cfg.bind[0].rpartition(":")
        if e.errno == errno.EADDRINUSE or getattr(e, "winerror", None) == 10048:  # WSAEADDRINUSE
            raise ConfigError(f"port {port} is in use on {host.strip('[]')}: {e.strerror}") from e
        raise ConfigError(f"cannot listen on {host.strip('[]')} port {port}: {e.strerror or e}") from e


def check(workers: int, loop: str) -> None:
    """:class:`ConfigError` unless ``workers`` and ``loop`` can be used here."""
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ConfigError(f"workers must be an integer >= 1, got {workers!r}")
    if loop not in LOOPS:
        raise ConfigError(f"loop must be one of {LOOPS}, got {loop!r}")
    if loop == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            raise ConfigError("loop='uvloop' needs uvloop: pip install 'htag-sse[uvloop]'") from None


def run(app: HtagSSE, host: str = "127.0.0.1", port: int = 8000, *, workers: int = 1, loop: str = "asyncio",
        **options: Any) -> None:  # fmt: skip
    """Serve ``app`` until Ctrl-C or SIGTERM.

    Options: ``log_level`` (``"info"``), ``access_log`` (``False``: no line
    per request; ``True``: logged to the ``hypercorn.access`` logger, through
    your logging configuration if you set one, else printed on stdout),
    ``certfile``/``keyfile`` (https, HTTP/2 by ALPN), ``graceful_timeout_s``.
    A port in use raises :class:`ConfigError`.

    On a stop signal every page's stream is ended first (hypercorn would
    otherwise wait for them), then hypercorn shuts down gracefully. With
    ``workers > 1`` the app is imported by each worker process (it must be a
    module-level variable) and a worker that dies is replaced; a logging
    configuration made under ``if __name__ == "__main__":`` is not theirs.
    """
    check(workers, loop)
    cfg = config(host, port, **options)
    run_with(app, cfg, bind(cfg), workers=workers, loop=loop)


def run_with(app: Any, cfg: Config, sockets: Sockets, *, workers: int = 1, loop: str = "asyncio",
             import_path: str | None = None, log_level: str | None = None) -> None:  # fmt: skip
    """Serve on already bound ``sockets``; worker processes import ``import_path`` (default: found)
    and, given a ``log_level``, set up :func:`setup_logging` first."""
    check(workers, loop)
    cfg.worker_class = loop
    if workers == 1:
        _run_loop(loop, _serve(app, cfg, sockets=sockets))
        return
    cfg.application_path = import_path or globals()["import_path"](app)
    cfg.workers = workers
    supervise(cfg, sockets, workers, log_level)


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


def supervise(cfg: Config, sockets: Sockets, workers: int, log_level: str | None = None) -> None:
    """Run ``workers`` worker processes on shared sockets; replace any that dies; stop on a signal."""
    ctx = multiprocessing.get_context("spawn")  # the portable way: Windows and macOS spawn too
    stop = ctx.Event()
    procs: list[tuple[Any, float]] = []
    early_deaths = 0
    for name in STOP_SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: stop.set())
    try:
        while not stop.is_set():
            while len(procs) < workers:
                kwargs = {"cfg": cfg, "sockets": sockets, "stop": stop, "log_level": log_level}
                proc = ctx.Process(target=worker_process, kwargs=kwargs)
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


def worker_process(cfg: Config, sockets: Sockets, stop: Flag, log_level: str | None = None) -> None:
    """One worker process: import the app, serve until the supervisor says stop."""
    if log_level is not None:
        setup_logging(log_level)
    _run_loop(cfg.worker_class, _serve(_import(cfg.application_path), cfg, sockets=sockets, stop=stop))


def _import(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)  # spawn gave us the parent's sys.path


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


async def close_pages(app: Any) -> None:
    """End every page's stream of an htag-sse app (a stopping hypercorn waits for open requests)."""
    pages = getattr(app, "pages", None)
    if pages is not None:
        log.info("stopping: closing %d page(s)", len(pages))
        closed = pages.close_all()
        if inspect.isawaitable(closed):  # close_all() may be a coroutine function
            await closed


async def _serve(app: Any, cfg: Config, sockets: Sockets | None = None, stop: Flag | None = None,
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
