"""The browser client (``static/``): served with long-lived caching, and wired
into each page's ``<head>`` with the page's boot script."""

from __future__ import annotations

import hashlib
import json
import mimetypes
from pathlib import Path
from typing import Any

from htag import Tag
from starlette.requests import Request
from starlette.responses import Response

from .errors import HtagSSEError
from .pages import Boot
from .parano import b64
from .settings import Settings

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
        self._heads: dict[str, list[Tag]] = {}

    def url(self, root_path: str, name: str) -> str:
        return f"{root_path}{self.prefix}/static/{name}?v={self._files[name][1]}"

    def head(self, root_path: str) -> list[Tag]:
        """Tags for the page's ``<head>``: the client scripts (shared by all pages)."""
        tags = self._heads.get(root_path)
        if tags is None:
            tags = self._heads[root_path] = [Tag.script(_src=self.url(root_path, name)) for name in HEAD_SCRIPTS]
        return tags

    def boot(self, root_path: str, settings: Settings) -> Boot:
        """The page's boot call, appended by htag to its own page script."""
        common = {
            "base": root_path + self.prefix,
            "transport": settings.transport,
            "grace_s": settings.grace_s,
            "heartbeat_s": settings.heartbeat_s,
            "probe_s": settings.sse_probe_s,
            "reload_cookie": RELOAD_COOKIE,
            "cookie_path": settings.session_path,
        }

        def boot(pid: str, token: str, key: bytes | None = None, last: int = 0) -> str:
            keyed = {"parano": True, "key": b64(key)} if key else {}
            return f"htagSSE({js_literal({**common, **keyed, 'page': pid, 'token': token, 'last': last})});"

        return boot

    async def serve(self, request: Request) -> Response:
        found = self._files.get(request.path_params["name"])
        if found is None:
            return Response(b"not found", 404, media_type="text/plain")
        data, digest, kind = found
        etag = f'"{digest}"'
        headers = {"ETag": etag, "X-Content-Type-Options": "nosniff"}
        headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if request.query_params.get("v") == digest else "no-cache"
        )
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type=kind, headers=headers)


def js_literal(value: Any) -> str:
    """JSON safe to embed in an inline ``<script>``."""
    return json.dumps(value).replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
