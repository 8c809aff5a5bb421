"""The development server's own app when there is no ``index.py``: it lists
the .py files of the directory (and below) that define htag Tag classes, and
opens any of them at ``/apps/<file>:<Class>``."""

from __future__ import annotations

import html
import logging
import traceback
from pathlib import Path

from htag import Tag
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .errors import AppLoadError
from .loader import Target, load, scan

log = logging.getLogger("htag_sse")


def explorer(root: Path) -> type[Tag]:
    """The listing app for directory ``root``."""

    class Explorer(Tag.div):
        statics = [Tag.style("body{font:15px/1.5 system-ui,sans-serif;margin:2em} li{margin:.3em 0} code{color:#555}")]

        def init(self) -> None:
            self.listing = Tag.ul(_class="apps")
            self += Tag.h1(f"htag apps in {html.escape(str(root))}")
            self += Tag.button("rescan", _onclick=self.rescan, _class="rescan")
            self += self.listing
            self.rescan()

        def rescan(self, ev: object = None) -> None:
            self.listing.clear()
            found = scan(root)
            for rel, classes in found:
                for name in classes:
                    link = Tag.a(f"{rel} : {name}", _href=f"/apps/{rel}:{name}", _class="app")
                    self.listing += Tag.li(link)
            if not found:
                self.listing += Tag.li("no .py file here defines an htag Tag class", _class="none")

    Explorer.__qualname__ = Explorer.__name__ = "Explorer"
    return Explorer


def open_route(root: Path, debug: bool) -> Route:
    """``/apps/<relative path>.py:<Class>``: serve that class (the query string gives its init arguments)."""

    async def open_app(request: Request) -> Response:
        spec = request.path_params["target"]
        where, _, name = spec.rpartition(":")
        path = (root / where).resolve()
        if not where.endswith(".py") or not path.is_relative_to(root):
            return _error(404, f"not an app of this directory: {spec}")
        try:
            cls = load(Target(path, None, name))
        except AppLoadError as e:
            return _error(404, str(e), traceback.format_exc() if debug else "")
        except Exception as e:  # the user's module failed while importing
            log.exception("cannot import %s", path)
            return _error(500, f"{type(e).__name__} while importing {where}: {e}", traceback.format_exc() if debug else "")
        return await request.app.handle(request, cls)

    return Route("/apps/{target:path}", open_app)


def _error(status: int, message: str, trace: str = "") -> HTMLResponse:
    body = f"<!DOCTYPE html><title>htag-sse</title><h1>Cannot open this app</h1><p>{html.escape(message)}</p>"
    if trace:
        body += f"<pre>{html.escape(trace)}</pre>"
    return HTMLResponse(body + '<p><a href="/">back to the list</a></p>', status)
