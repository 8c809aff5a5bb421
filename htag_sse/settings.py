"""Validated configuration: every option of :class:`~htag_sse.HtagSSE`.

Durations are in seconds (``*_s`` names, and htagweb's ``timeout_*`` names
kept for compatibility), sizes in bytes (``*_bytes``). A bad value raises
:class:`~htag_sse.errors.ConfigError` naming the option and showing the value.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

TRANSPORTS = ("auto", "sse", "poll", "none")

#: Options that ``HtagSSE.handle(request, App, **overrides)`` may change per route.
ROUTE_OPTIONS = frozenset(
    {"transport", "http_only", "parano", "timeout_interaction", "timeout_inactivity", "debug"}
)


@dataclass(frozen=True, slots=True)
class Settings:
    debug: bool = False
    prefix: str = "/_htag"
    transport: str = "auto"
    parano: bool = False
    timeout_interaction: float = 60.0
    timeout_inactivity: float = 0.0
    grace_s: float = 60.0
    heartbeat_s: float = 25.0
    poll_timeout_s: float = 25.0
    sse_probe_s: float = 3.0
    backlog_events: int = 256
    max_body_bytes: int = 1_048_576
    max_pages_per_session: int = 16
    session_cookie: str = "htag_sid"
    session_path: str = "/"
    session_max_age_s: float = 14 * 86400.0
    allowed_origins: tuple[str, ...] = ()
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1", "::1")
    max_new_sessions_per_minute: int = 60
    metrics: bool = False

    def __post_init__(self) -> None:
        _positive("timeout_interaction", self.timeout_interaction)
        _positive("timeout_inactivity", self.timeout_inactivity, zero_ok=True)
        _positive("grace_s", self.grace_s)
        _positive("heartbeat_s", self.heartbeat_s)
        _positive("poll_timeout_s", self.poll_timeout_s)
        _positive("sse_probe_s", self.sse_probe_s)
        _positive("session_max_age_s", self.session_max_age_s)
        _count("backlog_events", self.backlog_events)
        _count("max_body_bytes", self.max_body_bytes)
        _count("max_pages_per_session", self.max_pages_per_session)
        _count("max_new_sessions_per_minute", self.max_new_sessions_per_minute)
        for origin in self.allowed_origins:
            if not isinstance(origin, str) or not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
                raise ConfigError(f"allowed_origins entries look like 'https://example.com[:port]', got {origin!r}")
        if not all(isinstance(ip, str) and ip for ip in self.forwarded_allow_ips):
            raise ConfigError(f"forwarded_allow_ips must be IP addresses (or '*'), got {self.forwarded_allow_ips!r}")
        if self.transport not in TRANSPORTS:
            raise ConfigError(f"transport must be one of {TRANSPORTS}, got {self.transport!r}")
        if not isinstance(self.prefix, str) or not self.prefix.startswith("/") or self.prefix.endswith("/"):
            raise ConfigError(f"prefix must start with '/' and not end with '/', got {self.prefix!r}")
        if not isinstance(self.session_cookie, str) or not self.session_cookie.isidentifier():
            raise ConfigError(f"session_cookie must be a plain name like 'htag_sid', got {self.session_cookie!r}")
        if not isinstance(self.session_path, str) or not self.session_path.startswith("/"):
            raise ConfigError(f"session_path must start with '/', got {self.session_path!r}")

    @classmethod
    def build(cls, **options: Any) -> Settings:
        """Build from keyword options (``None``: the default), accepting htagweb's ``http_only=True``."""
        options = {k: v for k, v in options.items() if v is not None}
        for name in ("allowed_origins", "forwarded_allow_ips"):
            if isinstance(options.get(name), str):
                raise ConfigError(f"{name} must be a list of strings, got the string {options[name]!r}")
            if name in options:
                options[name] = tuple(o.lower().rstrip("/") if name == "allowed_origins" else o for o in options[name])
        _check_names(options, {f.name for f in dataclasses.fields(cls)} | {"http_only"})
        _apply_http_only(options)
        return cls(**options)

    def for_route(self, **overrides: Any) -> Settings:
        """A copy with per-route overrides (``None`` means: keep the default)."""
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if not overrides:
            return self
        _check_names(overrides, ROUTE_OPTIONS)
        if overrides.get("http_only") is False and "transport" not in overrides and self.transport == "none":
            overrides["transport"] = "auto"
        _apply_http_only(overrides)
        return dataclasses.replace(self, **overrides)

    @property
    def push(self) -> bool:
        """Whether pages have a push channel (SSE or long-poll) at all."""
        return self.transport != "none"


def _check_names(options: dict[str, Any], allowed: set[str] | frozenset[str]) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")


def _apply_http_only(options: dict[str, Any]) -> None:
    if options.pop("http_only", False):
        if options.get("transport", "none") != "none":
            raise ConfigError(f"http_only=True contradicts transport={options['transport']!r}")
        options["transport"] = "none"


def _positive(name: str, value: Any, zero_ok: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not zero_ok):
        bound = ">= 0" if zero_ok else "> 0"
        raise ConfigError(f"{name} must be a number of seconds {bound}, got {value!r}")


def _count(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
