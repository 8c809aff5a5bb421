"""Who may do what: an interaction reaches only its own page's tags and their
event dispatchers, ``@expose``d and bound methods; POSTs carry the page's token
and come from the page's own origin."""

from __future__ import annotations

import hmac
import logging
import types
from collections.abc import Iterable

from htag import Tag
from htag.render import HRenderer
from htag.tag import TAG_KEYWORDS
from starlette.types import Scope

from .errors import RequestError
from .limits import from_trusted_proxy
from .wire import Interaction

log = logging.getLogger("htag_sse")

#: htag's own event dispatchers, the targets of ``_onclick=self.method`` handlers.
DISPATCHERS = frozenset({"__on_event__", "__on__"})


def check_interaction(hr: HRenderer, inter: Interaction) -> None:
    """Refuse (with a :class:`RequestError`) anything but a call this page allows."""
    obj = Tag.find_tag(inter.id)
    if obj is None:
        if inter.id in hr._loop:  # a generator this page started: htag pulls its next item
            return
        raise RequestError(404, "unknown_id", f"no tag or generator {inter.id} on this page (removed meanwhile?)")
    root = obj.root
    if root is not hr.tag:
        if root._hr is not None:  # the root of another live page
            log.info("interaction refused: tag %s belongs to another page", inter.id)
        else:
            log.debug("interaction refused: tag %s was removed from its page", inter.id)
        raise RequestError(404, "unknown_id", f"no tag or generator {inter.id} on this page (removed meanwhile?)")
    check_method(obj, inter)


def check_method(obj: Tag, inter: Interaction) -> None:
    name = inter.method
    if name is None:
        raise RequestError(400, "bad_interaction", "'method' is required to call a tag")
    if name in DISPATCHERS:
        key = inter.args[0] if inter.args else None
        if not isinstance(key, str) or key not in obj._callbacks_:
            raise RequestError(400, "unknown_event", f"{type(obj).__name__} has no handler {str(key)[:60]!r}")
        return
    if name.startswith("_") or name in TAG_KEYWORDS or not _is_user_method(type(obj), name):
        log.warning("interaction refused: method %r of %s is not callable from the page", name, type(obj).__name__)
        raise RequestError(403, "forbidden_method", f"{name[:60]!r} is not an exposed or bound method")


def _is_user_method(cls: type, name: str) -> bool:
    """A plain (sync or async) function defined on a subclass of htag's Tag."""
    for klass in cls.__mro__:
        if klass is Tag or klass is object:
            return False
        attr = klass.__dict__.get(name)
        if attr is not None:
            return isinstance(attr, types.FunctionType)
    return False


def check_token(expected: str, given: str | None) -> None:
    if not given or not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise RequestError(403, "bad_token", "missing or wrong page token (X-Htag-Token)")


def check_origin(scope: Scope, allowed: Iterable[str] = (), trusted: Iterable[str] = ()) -> None:
    """A browser's ``Origin`` (or ``Referer``) must be this server or an allowed origin.

    "This server" is the ``Host`` header, or ``X-Forwarded-Host`` from a trusted proxy.
    """
    headers = dict(scope["headers"])
    origin = headers.get(b"origin") or _origin_of(headers.get(b"referer"))
    if not origin:
        return
    origin_s = origin.decode("latin-1").lower()
    scheme = scope.get("scheme", "http")
    forwarded = headers.get(b"x-forwarded-host") if from_trusted_proxy(scope, trusted) else None
    hosts = [h for h in (headers.get(b"host"), forwarded) if h]
    ok = {f"{s}://{h.decode('latin-1').lower()}" for h in hosts for s in (scheme, "http", "https")}
    if origin_s in ok or origin_s in allowed:
        return
    log.warning("POST refused: origin %s is not this server (%s)", origin_s, ", ".join(sorted(ok)))
    raise RequestError(403, "bad_origin", f"origin {origin_s[:80]} is not allowed")


def _origin_of(referer: bytes | None) -> bytes | None:
    if not referer:
        return None
    parts = referer.split(b"/", 3)
    return b"/".join(parts[:3]) if len(parts) >= 3 else None
