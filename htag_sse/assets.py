"""The browser client (``static/``): served with long-lived caching, and wired
into each page's ``<head>`` with the page's boot script."""

from __future__ import annotations

import hashlib
import html
import json
import mimetypes
from pathlib import Path
from typing import Any

from starlette.responses import Response

from .errors import HtagSSEError
from .head import Head
from .pages.registry import Boot
from .parano import b64
from .settings import Route, Settings

CLIENT = "htag-sse.js"
#: The cookie a reloading tab sets (``<page id>~<token>``, a few seconds) so that its next GET takes its page over.
RELOAD_COOKIE = "htag_reload"
#: Loaded in every page's <head>, in this order.
HEAD_SCRIPTS = ("morph.js", CLIENT)


def static_dir() -> Path:
    """``htag_sse/static`` in an installed wheel, ``static/`` in a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "static", here.parent / "static"):
        if (candidate / CLIENT).is_file():
            return candidate
    raise HtagSSEError(f"the browser client {CLIENT} is missing (looked in {here}/static and {here.parent}/static)")


class Assets:
    """Files of ``static/``, read once; URLs carry a content hash, so browsers may cache them for good."""

    def __init__(self, settings: Settings) -> None:
        self.prefix = settings.prefix
        self._files: dict[str, tuple[bytes, str, str]] = {}
        for path in sorted(static_dir().iterdir()):
            if path.is_file() and not path.name.startswith("."):
                data = path.read_bytes()
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                self._files[path.name] = (data, hashlib.sha256(data).hexdigest()[:12], kind)
        self._heads: dict[str, str] = {}

    def url(self, root_path: str, name: str) -> str:
        return f"{root_path}{self.prefix}/static/{name}?v={self._files[name][1]}"

    def head(self, root_path: str) -> str:
        """HTML for the page's ``<head>``: the client scripts (shared by all pages), and an empty icon
        (no ``/favicon.ico`` request answered 404 at every page)."""
        tags = self._heads.get(root_path)
        if tags is None:
            scripts = [f'<script src="{html.escape(self.url(root_path, name))}"></script>' for name in HEAD_SCRIPTS]
            tags = self._heads[root_path] = "".join(scripts) + '<link rel="icon" href="data:,"></link>'
        return tags

    def boot(self, root_path: str, settings: Settings, route: Route) -> Boot:
        """The page's boot call, appended by htag to its own page script. Every setting the client
        uses comes from here: it has no defaults of its own."""
        common = {
            "base": root_path + self.prefix,
            "transport": route.transport,
            "grace_s": settings.grace_s,
            "heartbeat_s": settings.heartbeat_s,
            "probe_s": settings.sse_probe_s,
            "reload_cookie": RELOAD_COOKIE,
            "cookie_path": settings.session_path,
        }
        missing = js_literal(
            f"htag-sse: the browser client did not load from {self.url(root_path, CLIENT)}: behind a proxy "
            "with a path prefix, give the server that prefix as root_path (see docs/deploy.md)"
        )

        def boot(pid: str, token: str, key: bytes | None = None, last: int = 0) -> str:
            keyed = {"parano": True, "key": b64(key)} if key else {}
            config = js_literal({**common, **keyed, "page": pid, "token": token, "last": last})
            return f"if (window.htagSSE) htagSSE({config}); else console.error({missing});"

        return boot

    def serve(self, name: str, head: Head) -> Response:
        found = self._files.get(name)
        if found is None:
            return Response(b"not found", 404, media_type="text/plain")
        data, digest, kind = found
        etag = f'"{digest}"'
        headers = {"ETag": etag, "X-Content-Type-Options": "nosniff"}
        cached = f"v={digest}" in head.query.split("&")
        headers["Cache-Control"] = "public, max-age=31536000, immutable" if cached else "no-cache"
        if head.if_none_match == etag:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type=kind, headers=headers)


def js_literal(value: Any) -> str:
    """JSON safe to embed in an inline ``<script>``."""
    return json.dumps(value).replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
