"""What every server process does, whatever the server: its event loop (with the garbage
collector tuned), the stop signals, and importing the app by name (worker processes start blank)."""

from __future__ import annotations

import asyncio
import gc
import importlib
import inspect
import logging
import sys
from collections.abc import Awaitable
from typing import Any, Protocol

from ..errors import ConfigError

log = logging.getLogger("htag_sse")

#: Garbage collection thresholds ``run()`` sets (Python's defaults: 700, 10, 10), see :func:`tune_gc`.
GC_THRESHOLDS = (10_000, 20, 20)
#: The signals that stop a server process.
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGBREAK")


class Flag(Protocol):
    """A stop flag: a process-shared event, or a thread's."""

    def is_set(self) -> bool: ...


def import_path(app: object, starts: str = "run(workers=N)") -> str:
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
        f"{starts} starts processes that import the app: assign it to a module-level variable "
        f"(app = HtagSSE(App)) and call app.{starts.removeprefix('app.')} under `if __name__ == '__main__':`"
    )


def import_app(path: str) -> Any:
    """The object ``module:variable`` names (spawn gave the process its parent's ``sys.path``)."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


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


async def close_pages(app: Any) -> None:
    """End every page's stream of an htag-sse app (a stopping server waits for open requests)."""
    pages = getattr(app, "pages", None)
    if pages is not None:
        log.info("stopping: closing %d page(s)", len(pages))
        closed = pages.close_all()
        if inspect.isawaitable(closed):  # close_all() may be a coroutine function
            await closed


def run_loop(loop: str, main: Awaitable[None]) -> None:
    """Run ``main`` to its end on a new event loop (``"asyncio"`` or ``"uvloop"``), the GC tuned first."""
    tune_gc()
    if loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main)  # type: ignore[arg-type]
    else:
        asyncio.run(main)  # type: ignore[arg-type]
