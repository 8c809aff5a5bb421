"""Who may send what: POSTs carry their page's token and come from the page's own
origin. (Which tags and methods an interaction may reach is htag's business:
see :mod:`htag_sse.adapter`.)"""

from __future__ import annotations

import hmac
import logging

from .errors import RequestError
from .head import Head
from .settings import Settings

log = logging.getLogger("htag_sse")


def check_token(expected: str, given: str | None) -> None:
    if not given or not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise RequestError(403, "bad_token", "missing or wrong page token (X-Htag-Token)")


def same_origin(head: Head, settings: Settings) -> bool:
    """Whether the request's ``Origin`` (or ``Referer``) is this server or an allowed origin.

    "This server" is the ``Host`` header (``X-Forwarded-Host`` from a trusted
    proxy). A request with neither header is not from a browser page: allowed
    (its token or cookie still has to be right).
    """
    origin = head.origin
    if not origin:
        return head.fetch_site != "cross-site"
    if origin in settings.allowed_origins:
        return True
    if head.host is None:
        return False
    return origin in (f"{head.scheme}://{head.host}", f"http://{head.host}", f"https://{head.host}")


def check_origin(head: Head, settings: Settings) -> None:
    if not same_origin(head, settings):
        log.info("%s %s refused: origin %s is not this server (%s)", head.method, head.path, head.origin, head.host)
        raise RequestError(403, "bad_origin", f"origin {(head.origin or 'cross-site')[:80]} is not allowed")
