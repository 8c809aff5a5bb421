"""Every option of :class:`~htag_sse.HtagSSE`, its default, and its validation: the one place for each.

Durations are in seconds (``*_s`` names, and htagweb's ``timeout_*`` names
kept for compatibility), sizes in bytes (``*_bytes``). A bad value raises
:class:`~htag_sse.errors.ConfigError` naming the option and showing the value.
Per-route options are a :class:`Route`, stored with each page's record.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, TypedDict

from .errors import ConfigError

TRANSPORTS = ("auto", "sse", "poll", "none")
#: Environment variables read when the option is not given.
ENVIRONMENT = {"redis": "HTAG_SSE_REDIS", "secret": "HTAG_SSE_SECRET", "session_dir": "HTAG_SSE_DIR"}


@dataclass(frozen=True, slots=True)
class Route:
    """What ``HtagSSE.handle(request, App, **overrides)`` may change per route; kept with each page."""

    transport: str = "auto"
    parano: bool = False
    debug: bool = False
    timeout_interaction: float = 60.0
    timeout_inactivity: float = 0.0

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise ConfigError(f"transport must be one of {TRANSPORTS}, got {self.transport!r}")
        _flag("parano", self.parano)
        _flag("debug", self.debug)
        _positive("timeout_interaction", self.timeout_interaction)
        _positive("timeout_inactivity", self.timeout_inactivity, zero_ok=True)

    @property
    def push(self) -> bool:
        """Whether pages have a push channel (SSE or long-poll) at all."""
        return self.transport != "none"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Route:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})

    def but(self, **overrides: Any) -> Route:
        """A copy with these options changed (``None``: keep), accepting htagweb's ``http_only``."""
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if not overrides:
            return self
        _check_names(overrides, {f.name for f in dataclasses.fields(Route)} | {"http_only"})
        if overrides.get("http_only") is False and "transport" not in overrides and self.transport == "none":
            overrides["transport"] = "auto"
        _apply_http_only(overrides)
        return dataclasses.replace(self, **overrides)


@dataclass(frozen=True, slots=True)
class Settings:
    """The validated options of one :class:`~htag_sse.HtagSSE` application."""

    route: Route = dataclasses.field(default_factory=Route)
    prefix: str = "/_htag"
    grace_s: float = 60.0
    heartbeat_s: float = 25.0
    poll_timeout_s: float = 25.0
    sse_probe_s: float = 3.0
    max_stream_s: float = 0.0
    backlog_events: int = 256
    max_body_bytes: int = 1_048_576
    max_interaction_bytes: int = 16 * 1_048_576
    body_timeout_s: float = 30.0
    max_event_fields: int = 128
    max_pages_per_session: int = 16
    session_cookie: str = "htag_sid"
    session_path: str = "/"
    session_max_age_s: float = 14 * 86400.0
    allowed_origins: tuple[str, ...] = ()
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1", "::1")
    max_new_sessions_per_minute: int = 60
    lease_s: float = 5.0
    session_dir: str = ".htag-sse"
    redis: str | None = None
    secret: bytes | None = None
    lean: bool = True
    metrics: bool = False

    def __post_init__(self) -> None:
        for name in ("grace_s", "heartbeat_s", "poll_timeout_s", "sse_probe_s", "body_timeout_s", "lease_s",
                     "session_max_age_s"):  # fmt: skip
            _positive(name, getattr(self, name))
        _positive("max_stream_s", self.max_stream_s, zero_ok=True)
        for name in ("backlog_events", "max_body_bytes", "max_interaction_bytes", "max_event_fields",
                     "max_pages_per_session", "max_new_sessions_per_minute"):  # fmt: skip
            _count(name, getattr(self, name))
        _flag("lean", self.lean)
        _flag("metrics", self.metrics)
        if self.max_interaction_bytes < self.max_body_bytes:
            raise ConfigError(
                f"max_interaction_bytes ({self.max_interaction_bytes}) must be >= max_body_bytes ({self.max_body_bytes})"
            )
        if self.max_stream_s and self.max_stream_s < 2 * self.sse_probe_s:
            raise ConfigError(
                f"max_stream_s must be 0 (off) or at least {2 * self.sse_probe_s:g} s, got {self.max_stream_s!r}"
            )
        for origin in self.allowed_origins:
            if not isinstance(origin, str) or not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
                raise ConfigError(f"allowed_origins entries look like 'https://example.com[:port]', got {origin!r}")
        if not all(isinstance(ip, str) and ip for ip in self.forwarded_allow_ips):
            raise ConfigError(f"forwarded_allow_ips must be IP addresses (or '*'), got {self.forwarded_allow_ips!r}")
        if not isinstance(self.prefix, str) or not self.prefix.startswith("/") or self.prefix.endswith("/"):
            raise ConfigError(f"prefix must start with '/' and not end with '/', got {self.prefix!r}")
        if not isinstance(self.session_cookie, str) or not self.session_cookie.isidentifier():
            raise ConfigError(f"session_cookie must be a plain name like 'htag_sid', got {self.session_cookie!r}")
        if not isinstance(self.session_path, str) or not self.session_path.startswith("/"):
            raise ConfigError(f"session_path must start with '/', got {self.session_path!r}")
        if self.redis is not None and not (isinstance(self.redis, str) and "://" in self.redis):
            raise ConfigError(f"redis must be a URL like 'redis://host:6379/0', got {self.redis!r}")
        if self.secret is not None:
            check_secret(self.secret, "secret")
        if self.redis and self.secret is None:
            raise ConfigError(
                "redis needs a secret shared by every host (HtagSSE(secret=...) or HTAG_SSE_SECRET): "
                "what is stored in Redis is signed with it"
            )

    @classmethod
    def build(cls, **options: Any) -> Settings:
        """From keyword options (``None``: the default or the environment), route options included.
        An unknown name is refused, ``None`` or not (htagweb's ``sesprovider=None`` included)."""
        _check_names(options, OPTIONS)
        options = {k: v for k, v in options.items() if v is not None}
        for name, variable in ENVIRONMENT.items():
            if name not in options and os.environ.get(variable):
                options[name] = os.environ[variable]
                if name == "secret":  # a bad one blames the environment, not the code
                    check_secret(options[name], f"{variable} (in the environment)")
                elif name == "redis" and not options.get("secret") and not os.environ.get(ENVIRONMENT["secret"]):
                    raise ConfigError(
                        f"{variable} is set (in the environment): Redis needs a secret shared by every host "
                        f"({ENVIRONMENT['secret']} or HtagSSE(secret=...)): what is stored in Redis is signed with it"
                    )
        for name in ("allowed_origins", "forwarded_allow_ips"):
            if isinstance(options.get(name), str):
                raise ConfigError(f"{name} must be a list of strings, got the string {options[name]!r}")
            if name in options:
                options[name] = tuple(o.lower().rstrip("/") if name == "allowed_origins" else o for o in options[name])
        if isinstance(options.get("secret"), str):
            options["secret"] = options["secret"].encode()
        if "session_dir" in options:
            options["session_dir"] = os.fspath(options["session_dir"])
        route = {k: options.pop(k) for k in list(options) if k in ROUTE_OPTIONS}
        return cls(route=Route().but(**route), **options)

    @property
    def push(self) -> bool:
        return self.route.push


#: The option names a route may override (htagweb's ``http_only`` means ``transport="none"``).
ROUTE_OPTIONS = frozenset({f.name for f in dataclasses.fields(Route)} | {"http_only"})
#: Every option name ``HtagSSE(...)`` accepts.
OPTIONS = frozenset({f.name for f in dataclasses.fields(Settings)} - {"route"} | ROUTE_OPTIONS)


class Options(TypedDict, total=False):
    """The keyword options of ``HtagSSE(App, **options)``, for type checkers (defaults: :class:`Settings`)."""

    debug: bool
    transport: str
    http_only: bool
    parano: bool
    timeout_interaction: float
    timeout_inactivity: float
    prefix: str
    grace_s: float
    heartbeat_s: float
    poll_timeout_s: float
    sse_probe_s: float
    max_stream_s: float
    backlog_events: int
    max_body_bytes: int
    max_interaction_bytes: int
    body_timeout_s: float
    max_event_fields: int
    max_pages_per_session: int
    session_cookie: str
    session_path: str
    session_max_age_s: float
    allowed_origins: tuple[str, ...] | list[str]
    forwarded_allow_ips: tuple[str, ...] | list[str]
    max_new_sessions_per_minute: int
    lease_s: float
    session_dir: str | os.PathLike[str]
    redis: str
    secret: bytes | str
    lean: bool
    metrics: bool


#: htagweb's keywords that htag-sse replaces, and by what.
REPLACED = {"sesprovider": "session_store= (a Store: DiskStore, the default, MemoryStore, or Redis with redis=...)"}


def _check_names(options: dict[str, Any], allowed: set[str] | frozenset[str]) -> None:
    unknown = sorted(set(options) - set(allowed))
    for name in unknown:
        if name in REPLACED:
            raise ConfigError(
                f"{name}= is htagweb's, not an htag-sse option (got {options[name]!r}): use {REPLACED[name]}"
            )
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")


#: The least estimated entropy of a ``secret`` (bits: its length times the Shannon entropy of its
#: bytes). ``"a" * 16`` has 0, ``"ab" * 8`` 16; 16 random hex digits have at least ~32.7 (in 100,000
#: draws), ``secrets.token_urlsafe(32)`` ~170. It catches repeated characters, not words.
SECRET_BITS = 32


def check_secret(secret: Any, name: str) -> None:
    """Refuse a short or guessable secret (``"a" * 16``), naming where it comes from."""
    value = secret.encode() if isinstance(secret, str) else secret
    if not isinstance(value, bytes) or len(value) < 16:
        got = f"{len(value)} bytes" if isinstance(value, bytes) else repr(type(value).__name__)
        raise ConfigError(f"{name} must be at least 16 bytes (or characters) of random data, got {got}")
    n = len(value)
    bits = max(0.0, -sum(c * math.log2(c / n) for c in collections.Counter(value).values()))
    if bits < SECRET_BITS:
        raise ConfigError(
            f"{name} is not random enough (about {bits:.0f} bits of entropy, at least {SECRET_BITS} needed: it repeats "
            "characters): use a random one, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )


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


def _flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False, got {value!r}")
