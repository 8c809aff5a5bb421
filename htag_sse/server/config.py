"""How a server runs an app (:class:`RunConfig`): the one place for each run option's default,
read by ``app.run()``, the command line and the servers. The app's own options (sessions,
timeouts, transports) are :class:`~htag_sse.settings.Settings`."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

LOOPS = ("asyncio", "uvloop")
#: The servers ``run()`` can serve with: hypercorn (the default), Granian (``pip install 'htag-sse[granian]'``).
SERVERS = ("hypercorn", "granian")
LOG_LEVELS = ("debug", "info", "warning", "error")
#: A connection whose client sent nothing for this long is closed (hypercorn has no such limit by default);
#: a stream's client then reconnects and resumes by event id, nothing lost.
READ_TIMEOUT_S = 300.0


@dataclass(frozen=True, slots=True)
class RunConfig:
    """Where and how to serve: address, processes, event loop, logs, TLS, timeouts."""

    host: str = "127.0.0.1"  # only this machine: "0.0.0.0" serves the network
    port: int = 8000  # 0: a free one
    workers: int = 1
    loop: str = "asyncio"  # or "uvloop" (pip install 'htag-sse[uvloop]')
    log_level: str = "info"
    access_log: bool = False  # a line per request (every click is one)
    certfile: str | None = None  # with keyfile: https, HTTP/2 by ALPN
    keyfile: str | None = None
    graceful_timeout_s: float = 5.0
    read_timeout_s: float = READ_TIMEOUT_S
    server: str = "hypercorn"  # or "granian" (pip install 'htag-sse[granian]'): docs/performance.md

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host:
            raise ConfigError(f"host must be an address like '127.0.0.1' or '0.0.0.0', got {self.host!r}")
        if not isinstance(self.port, int) or isinstance(self.port, bool) or not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be an integer in 0..65535, got {self.port!r}")
        if not isinstance(self.workers, int) or isinstance(self.workers, bool) or self.workers < 1:
            raise ConfigError(f"workers must be an integer >= 1, got {self.workers!r}")
        if self.loop not in LOOPS:
            raise ConfigError(f"loop must be one of {LOOPS}, got {self.loop!r}")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {LOG_LEVELS}, got {self.log_level!r}")
        if not isinstance(self.access_log, bool):
            raise ConfigError(f"access_log must be True or False, got {self.access_log!r}")
        if (self.certfile is None) != (self.keyfile is None):
            raise ConfigError("certfile and keyfile go together (TLS needs both)")
        for name in ("graceful_timeout_s", "read_timeout_s"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
                raise ConfigError(f"{name} must be a number of seconds > 0, got {value!r}")
        if self.loop == "uvloop":
            try:
                import uvloop  # noqa: F401
            except ImportError:
                raise ConfigError("loop='uvloop' needs uvloop: pip install 'htag-sse[uvloop]'") from None
        if self.server not in SERVERS:
            raise ConfigError(f"server must be one of {SERVERS}, got {self.server!r}")
        if self.server == "granian":
            try:
                import granian  # noqa: F401
            except ImportError:
                raise ConfigError("server='granian' needs Granian: pip install 'htag-sse[granian]'") from None

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> RunConfig:
        """From options by name (``None``: the default); an unknown name is a :class:`ConfigError`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise ConfigError(f"unknown run option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**{k: v for k, v in mapping.items() if v is not None})

    @classmethod
    def from_environment(cls, mapping: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> RunConfig:
        """Like :meth:`from_mapping`, with the address taken from the environment when not given:
        ``HTAG_SSE_HOST``; ``PORT`` (as Cloud Run, Heroku... set it) or ``HTAG_SSE_PORT``."""
        options = dict(mapping)
        if options.get("host") is None and environ.get("HTAG_SSE_HOST"):
            options["host"] = environ["HTAG_SSE_HOST"]
        raw = environ.get("PORT") or environ.get("HTAG_SSE_PORT")
        if options.get("port") is None and raw is not None:
            if not raw.isdigit():
                raise ConfigError(f"the port in the environment (PORT/HTAG_SSE_PORT) must be a number, got {raw!r}")
            options["port"] = int(raw)
        return cls.from_mapping(options)

    @property
    def tls(self) -> bool:
        return self.certfile is not None
