"""The logs of ``app.run()`` and the command line: one format for every line (time, process,
level, logger), htag-sse's and the server's alike. A logging configuration of the application's
own (handlers on the root logger) is left as it is."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"
#: The loggers ``run()`` sets the level of: htag-sse's, the servers'.
SERVED = ("htag_sse", "hypercorn.error", "hypercorn.access", "uvicorn", "granian")
#: Loggers that say too much below WARNING unless the level is debug (htag tells every tag
#: creation at INFO, watchfiles every change it sees).
CHATTY = ("htag", "watchfiles")
#: Marks the handler ``setup_logging`` added (so a second call adds no second one).
_MARK = "htag_sse.run"


def setup_logging(level: str) -> None:
    """Log at ``level`` on stderr with :data:`FORMAT` (run again in each server process: spawn starts
    them blank). The handler is the root logger's, so that every line has the format (htag's own
    warnings, asyncio's, a library's); the level is set on :data:`SERVED`, unless the application set
    one. Nothing is changed when the application configured logging itself."""
    root = logging.getLogger()
    if any(h.get_name() != _MARK for h in root.handlers):  # the application's own configuration
        return
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_MARK)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    for name in SERVED:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:  # a level the application set stays
            logger.setLevel(level.upper())
    for name in CHATTY:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.DEBUG if level == "debug" else logging.WARNING)


def handler_target(name: str) -> logging.Logger:
    """Hypercorn's logger ``name``, written through the logging configuration (ours or the application's)."""
    return logging.getLogger(name)
