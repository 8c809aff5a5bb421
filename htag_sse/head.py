"""A request's head, read once into an immutable value (like hypercorn's protocol events):
what security, limits, sessions and endpoints need, with no second scan of the headers."""

from __future__ import annotations

import ipaddress
from typing import Any, NamedTuple

from starlette.types import Scope

from .errors import RequestError
from .settings import Settings

_WANTED = frozenset(
    {
        b"cookie",
        b"origin",
        b"referer",
        b"host",
        b"x-forwarded-host",
        b"x-forwarded-proto",
        b"x-forwarded-for",
        b"x-htag-token",
        b"x-htag-seq",
        b"content-length",
        b"last-event-id",
        b"sec-fetch-site",
        b"if-none-match",
    }
)


class Head(NamedTuple):
    """One request, as far as htag-sse is concerned. Header values are latin-1 text;
    proxy headers are kept only when the peer is a trusted proxy. (A named tuple: made
    at every request, it costs a tuple.)"""

    method: str
    path: str  # within the application (the mount's root_path removed)
    root_path: str
    query: str
    cookies: dict[str, str]
    origin: str | None  # Origin, else the origin part of Referer; lower-cased
    host: str | None  # Host, or X-Forwarded-Host from a trusted proxy; lower-cased
    scheme: str  # http or https as the browser sees it
    address: str  # the client's IP (X-Forwarded-For's last untrusted hop behind trusted proxies)
    token: str | None
    seq: int | None
    bad_seq: bool
    content_length: int | None
    last_event_id: int | None
    fetch_site: str | None  # Sec-Fetch-Site
    if_none_match: str | None

    @classmethod
    def parse(cls, scope: Scope, settings: Settings) -> Head:
        found: dict[bytes, str] = {}
        cookie_parts: list[str] = []
        for key, value in scope["headers"]:
            if key in _WANTED:
                if key == b"cookie":  # HTTP/2 may split cookies over several headers
                    cookie_parts.append(value.decode("latin-1"))
                elif key not in found:
                    found[key] = value.decode("latin-1")
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        trusted = settings.forwarded_allow_ips
        proxied = peer in trusted or "*" in trusted
        scheme = scope.get("scheme", "http")
        host = found.get(b"host")
        forwarded = None
        if proxied:
            if found.get(b"x-forwarded-proto", "").split(",")[0].strip().lower() == "https":
                scheme = "https"
            host = found.get(b"x-forwarded-host") or host
            forwarded = found.get(b"x-forwarded-for")
        seq_raw = found.get(b"x-htag-seq")
        seq = parse_count(seq_raw, 12)
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root + "/"):
            path = path[len(root) :]
        length = found.get(b"content-length")
        last = found.get(b"last-event-id")
        return cls(
            scope["method"],
            path,
            root,
            scope.get("query_string", b"").decode("latin-1"),
            _cookies(cookie_parts) if cookie_parts else {},
            _origin(found.get(b"origin") or found.get(b"referer")),
            host.lower() if host else None,
            scheme,
            _address(peer, forwarded, trusted) if forwarded else peer,
            found.get(b"x-htag-token"),
            seq,
            seq_raw is not None and seq is None,
            parse_count(length) if length is not None else None,
            parse_count(last) if last is not None else None,
            found.get(b"sec-fetch-site"),
            found.get(b"if-none-match"),
        )

    @property
    def https(self) -> bool:
        return self.scheme == "https"

    def sid(self, settings: Settings) -> str | None:
        sid = self.cookies.get(settings.session_cookie)
        return sid if sid and len(sid) <= 64 else None

    def seen_version(self, settings: Settings) -> int:
        """The version of its session this browser last saw written (0: none told): a request must not
        be answered from an older copy (see :func:`~htag_sse.cookie.version_cookie`)."""
        raw = self.cookies.get(settings.session_cookie + "_v")
        sid = self.sid(settings)
        if not raw or not sid:
            return 0
        tail, _, version = raw.partition(".")
        return (parse_count(version, 12) or 0) if tail == sid[:8] else 0

    def checked_seq(self) -> int | None:
        if self.bad_seq:
            raise RequestError(400, "bad_seq", "X-Htag-Seq must be a positive integer")
        return self.seq


def head_of(scope: Scope, settings: Settings) -> Head:
    """The scope's head, parsed at most once per request (and application: a mount changes the path)."""
    head = scope.get("htag_sse.head")
    if not isinstance(head, Head) or head.root_path != scope.get("root_path", ""):
        head = scope["htag_sse.head"] = Head.parse(scope, settings)
    return head


def parse_count(raw: str | None, max_digits: int = 18) -> int | None:
    """A non-negative integer written in ASCII digits, or None ('²' is a digit to ``str.isdigit``)."""
    if raw is None or not 0 < len(raw) <= max_digits or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)


def _cookies(parts: list[str]) -> dict[str, str]:
    jar: dict[str, str] = {}
    for part in ";".join(parts).split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name not in jar:
            jar[name] = value
    return jar


def _origin(value: str | None) -> str | None:
    """``scheme://host[:port]`` of an Origin or Referer header (``null`` counts as an origin)."""
    if not value:
        return None
    parts = value.split("/", 3)
    return "/".join(parts[:3]).lower() if len(parts) >= 3 else value.lower()


def _address(peer: str, forwarded: str | None, trusted: tuple[str, ...]) -> str:
    """The client's IP: the peer's, or behind trusted proxies the last untrusted X-Forwarded-For hop."""
    if forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if hop not in trusted:
                return hop
        if hops:
            return hops[0]
    return peer


def network_of(address: str) -> str:
    """What one client may be counted as: its IPv4 address, or its IPv6 /64 (one household, one site)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and not (ip.ipv4_mapped or ip.is_loopback):
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    mapped: Any = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)
