"""Serving an :class:`~htag_sse.HtagSSE` app: ``app.run()`` and the command line, with hypercorn,
in one process or in several kept alive by a small supervisor.

==============  ==============================================================
``config``      :class:`RunConfig`: every run option and its default
``process``     a server process's loop, GC tuning, stop signals, app import
``hypercorn``   hypercorn's configuration, binding, one process's serving
``granian``     serving with Granian (``server="granian"``)
``supervisor``  several worker processes on shared sockets
``logs``        one log format for every line
``reload``      the development server's ``--reload``
==============  ==============================================================
"""

from __future__ import annotations

from typing import Any

from hypercorn.config import Sockets

from .config import LOG_LEVELS, LOOPS, SERVERS, RunConfig
from .hypercorn import bind, hypercorn_config, serve
from .logs import setup_logging
from .process import import_path, run_loop, tune_gc
from .supervisor import supervise

__all__ = ["LOG_LEVELS", "LOOPS", "SERVERS", "RunConfig", "bind", "hypercorn_config", "run", "run_with", "tune_gc"]


def run(app: Any, config: RunConfig) -> None:
    """Serve ``app`` as ``config`` says until Ctrl-C or SIGTERM (a port in use: :class:`ConfigError`).

    On a stop signal every page's stream is ended first, then the server shuts down gracefully.
    With ``workers > 1`` (and always with Granian) each worker process imports the app (it must be
    a module-level variable) and a worker that dies is replaced."""
    setup_logging(config.log_level)
    if config.server == "granian":
        from .granian import reserved
        from .granian import serve as serve_granian

        serve_granian(app, reserved(config))
        return
    cfg = hypercorn_config(config)
    run_with(app, config, bind(cfg))


def run_with(app: Any, config: RunConfig, sockets: Sockets, *, import_as: str | None = None) -> None:
    """Serve on already bound ``sockets``; worker processes import ``import_as`` (default: found)."""
    cfg = hypercorn_config(config)
    if config.workers == 1:
        run_loop(config.loop, serve(app, cfg, sockets=sockets))
        return
    cfg.application_path = import_as or import_path(app)
    supervise(cfg, sockets, config.log_level)
