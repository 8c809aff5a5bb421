"""Several worker processes on shared sockets, kept alive: a worker that dies is replaced, one
that keeps dying at startup stops the server. Spawned, not forked: the portable way (Windows and
macOS spawn too)."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from multiprocessing.connection import wait
from typing import Any

from hypercorn.config import Config, Sockets

from .hypercorn import serve
from .logs import setup_logging
from .process import STOP_SIGNALS, Flag, import_app, run_loop

log = logging.getLogger("htag_sse")

#: A worker that dies sooner than this after its start counts as crashing at startup.
EARLY_DEATH_S = 2.0
#: The supervisor gives up after this many startup crashes in a row.
MAX_EARLY_DEATHS = 5


def supervise(cfg: Config, sockets: Sockets, log_level: str | None = None) -> None:
    """Run ``cfg.workers`` worker processes serving ``cfg.application_path``; replace any that dies;
    stop on a signal."""
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    procs: list[tuple[Any, float]] = []
    early_deaths = 0
    for name in STOP_SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: stop.set())
    try:
        while not stop.is_set():
            while len(procs) < cfg.workers:
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
    run_loop(cfg.worker_class, serve(import_app(cfg.application_path), cfg, sockets=sockets, stop=stop))
