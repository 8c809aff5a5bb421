"""The development server's pages: the list of a directory's htag apps (when
there is no ``index.py``), ``/apps/<file>:<Class>`` that opens one of them —
only one the list shows, only for this site — and the error pages.

The files of a directory that count (listed, opened, watched by ``--reload``)
are the ``.py`` files :func:`walk` yields: hidden files and folders, caches,
virtualenvs (by name or by their ``pyvenv.cfg``), ``node_modules``,
``site-packages``, ``build`` and ``dist`` are skipped, symbolic links too.
"""

from __future__ import annotations

import html
import logging
import os
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote, urlsplit

from htag import Tag
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import AppLoadError
from .loader import apps_in, explain, load_private

log = logging.getLogger("htag_sse")

#: Folders never listed, opened nor watched (besides hidden ones and virtualenvs).
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", "env", "build", "dist"})
#: The list stops at this many files.
MAX_FILES = 500
STYLE = "body{font:15px/1.5 system-ui,sans-serif;margin:2em} li{margin:.3em 0} pre{background:#f4f4f4;padding:1em}"


def skipped_dir(path: Path) -> bool:
    name = path.name
    return name.startswith(".") or name in SKIPPED_DIRS or path.is_symlink() or (path / "pyvenv.cfg").exists()


def counted_file(path: Path) -> bool:
    return path.suffix == ".py" and not path.name.startswith(".") and not path.is_symlink()


def walk(root: Path) -> Iterator[Path]:
    """The .py files under ``root`` that count, in a stable order; skipped folders are not entered."""
    for here, dirs, files in os.walk(root):
        base = Path(here)
        dirs[:] = sorted(d for d in dirs if not skipped_dir(base / d))
        yield from (base / f for f in sorted(files) if counted_file(base / f))


def app_file(root: Path, rel: str) -> Path | None:
    """The file ``rel`` (a path relative to ``root``, with /) names, if :func:`walk` yields it."""
    parts = rel.split("/")
    if any(p in ("", ".", "..") or "\\" in p or ":" in p for p in parts):
        return None
    here = root
    for part in parts[:-1]:
        here = here / part
        if skipped_dir(here) or not here.is_dir():
            return None
    path = here / parts[-1]
    return path if counted_file(path) and path.is_file() else None


@dataclass(frozen=True)
class Listed:
    """A file of the list: its path relative to the root (with /), its apps, or why it cannot be read."""

    rel: str
    apps: tuple[str, ...] = ()
    error: str = ""


def scan(root: Path) -> list[Listed]:
    """The files with apps (see :func:`~htag_sse.loader.apps_in`), and those with a syntax error."""
    found = []
    for path in walk(root):
        rel = path.relative_to(root).as_posix()
        try:
            apps = apps_in(path.read_text(encoding="utf-8"), path)
        except SyntaxError as e:
            found.append(Listed(rel, error=f"syntax error, line {e.lineno}: {e.msg}"))
        except (OSError, UnicodeDecodeError, ValueError) as e:  # ValueError: a null byte
            found.append(Listed(rel, error=f"unreadable: {e}"))
        else:
            if apps:
                found.append(Listed(rel, tuple(apps)))
        if len(found) >= MAX_FILES:
            break
    return found


def explorer(root: Path) -> type[Tag]:
    """The listing app for directory ``root``."""

    class Explorer(Tag.div):  # type: ignore[misc]
        statics: ClassVar[list[Tag]] = [Tag.style(STYLE)]

        def init(self) -> None:
            self.listing = Tag.ul(_class="apps")
            self += Tag.h1(f"htag apps in {html.escape(str(root))}")
            self += Tag.button("rescan", _onclick=self.rescan, _class="rescan")
            self += self.listing
            self += Tag.p("Not listed: hidden folders, virtualenvs, node_modules, site-packages, build, dist.")
            self.rescan()

        def rescan(self, ev: object = None) -> None:
            self.listing.clear()
            found = scan(root)
            for item in found:
                rel = html.escape(item.rel)
                if item.error:
                    self.listing += Tag.li(f"{rel}: {html.escape(item.error)}", _class="broken")
                for name in item.apps:
                    href = f"/apps/{quote(item.rel)}:{quote(name)}"
                    self.listing += Tag.li(Tag.a(f"{rel} : {html.escape(name)}", _href=href, _class="app"))
            if not found:
                self.listing += Tag.li("no .py file here defines an htag Tag class", _class="none")
            elif len(found) >= MAX_FILES:
                self.listing += Tag.li(f"(the first {MAX_FILES} files only)", _class="more")

    Explorer.__qualname__ = Explorer.__name__ = "Explorer"
    return Explorer


def local_hosts(bind: str) -> frozenset[str] | None:
    """The host names ``/apps`` answers to when the server listens on ``bind`` (None: any, for 0.0.0.0)."""
    if bind in ("", "0.0.0.0", "::"):
        return None
    return frozenset({"localhost", "127.0.0.1", "::1", bind.lower().strip("[]")})


def foreign_host(host: str, hosts: frozenset[str] | None) -> str | None:
    """Why a request with this ``Host`` header is refused (None: it names this machine). A web page
    whose name was made to lead here (DNS rebinding) must not read the development server."""
    host = host.lower()
    try:
        name = urlsplit("//" + host).hostname or ""
    except ValueError:
        name = ""
    if hosts is not None and name not in hosts:
        return f"this server does not answer to the host name {host!r}: open it as http://127.0.0.1 or localhost"
    return None


class LocalOnly:
    """The development server's own pages (the app list, the error page of ``--reload``) for this
    machine's names only (see :func:`foreign_host`): a foreign ``Host`` gets a 403 that says why."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str] | None) -> None:
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"host"), "")
            refused = foreign_host(host, self.hosts)
            if refused:
                log.info("refused %s: %s", scope.get("path", ""), refused)
                await error_page(403, "Refused", refused, back=False)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def refusal(request: Request, hosts: frozenset[str] | None) -> str | None:
    """Why ``request`` may not open an app (None: it may): another site's link or script, a foreign Host."""
    host = request.headers.get("host", "").lower()
    refused = foreign_host(host, hosts)
    if refused:
        return refused
    site = request.headers.get("sec-fetch-site", "none")
    if site not in ("same-origin", "none"):
        return f"another site's page ({site}) cannot open an app of this directory: open it from the list"
    for header in ("origin", "referer"):
        value = request.headers.get(header)
        if value is not None and urlsplit(value).netloc.lower() != host:
            return f"another site's page ({value}) cannot open an app of this directory: open it from the list"
    return None


def open_route(
    root: Path, debug: bool, hosts: frozenset[str] | None = frozenset({"localhost", "127.0.0.1", "::1"})
) -> Route:
    """``/apps/<relative path>.py:<Class>``: serve an app the list shows (the query string gives its init arguments)."""
    root = root.resolve()

    async def open_app(request: Request) -> Response:
        refused = refusal(request, hosts)
        if refused:
            log.info("refused %s: %s", request.url.path, refused)
            return error_page(403, "Refused", refused)
        where, _, name = request.path_params["target"].rpartition(":")
        path = app_file(root, where)
        if path is None:
            return error_page(404, "Not in the list", f"{where!r} is not a file of the list of {root}")
        try:
            apps = apps_in(path.read_text(encoding="utf-8"), path)
        except (SyntaxError, OSError, UnicodeDecodeError, ValueError) as e:
            return error_page(404, "Cannot open this app", f"{where}: {e}")
        if name not in apps:
            return error_page(
                404, "Not in the list", f"{where} has no app {name!r} (its apps: {', '.join(apps) or 'none'})"
            )
        try:
            cls = load_private(path, name)
        except AppLoadError as e:
            log.info("cannot open %s: %s", where, e)
            return error_page(500, "Cannot open this app", str(e), traceback.format_exc() if debug else explain(e))
        page: Response = await request.app.handle(request, cls)
        return page

    return Route("/apps/{target:path}", open_app, methods=["GET", "HEAD"])


def error_page(status: int, title: str, message: str, detail: str = "", *, refresh_s: int = 0,
               back: bool = True) -> HTMLResponse:  # fmt: skip
    """A small page that says what went wrong (every text escaped); it reloads itself every ``refresh_s``."""
    title, message = html.escape(title), html.escape(message)
    refresh = f'<meta http-equiv="refresh" content="{refresh_s}">' if refresh_s else ""
    body = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>htag-sse: {title}</title>{refresh}'
            f"<style>{STYLE}</style></head><body><h1>{title}</h1><p class='message'>{message}</p>")  # fmt: skip
    if detail:
        body += f"<pre class='detail'>{html.escape(detail)}</pre>"
    body += '<p><a href="/">back to the list</a></p>' if back else ""
    return HTMLResponse(body + "</body></html>", status, {"Cache-Control": "no-store"})
