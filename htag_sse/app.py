"""``HtagSSE``: a Starlette application that serves htag apps over POST + SSE."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from htag import Tag
from htag.runners.commons import url2ak
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from .assets import RELOAD_COOKIE, Assets
from .bus import Bus, LoopbackBus
from .cookie import SessionMiddleware, finish, read_cookie
from .endpoints import Endpoints, media_type, session_of
from .limits import PerMinute, client_address
from .pages import Pages
from .session import Sessions
from .settings import Settings
from .stores import DiskStore, Store
from .workers import WorkerHeader, Workers

log = logging.getLogger("htag_sse")

#: Where sessions live by default (relative to the working directory); ``HTAG_SSE_DIR`` overrides it.
DEFAULT_SESSION_DIR = ".htag-sse"

#: Headers of every htag page (``page_headers=`` adds or overrides). ``no-store``:
#: a page embeds its own token and id. See docs/security.md for a Content-Security-Policy.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "SAMEORIGIN",
}


class HtagSSE(Starlette):
    """Serve htag app(s) on the web: ``HtagSSE(App)`` is an ASGI application.

    ``HtagSSE(App).run()`` serves it with hypercorn; ``app = HtagSSE(App)`` in
    ``server.py`` serves it with ``hypercorn server:app`` or ``uvicorn server:app``.
    Several apps: ``await app.handle(request, OtherApp)`` from your own routes.

    Durations are in seconds. See ``docs/`` for every option.
    """

    def __init__(
        self,
        app: type[Tag] | None = None,
        *,
        debug: bool = False,
        session_store: Store | None = None,
        session_dir: str | os.PathLike[str] | None = None,
        bus: Bus | None = None,
        transport: str | None = None,
        http_only: bool = False,
        parano: bool = False,
        timeout_interaction: float = 60.0,
        timeout_inactivity: float = 0.0,
        grace_s: float = 60.0,
        heartbeat_s: float = 25.0,
        poll_timeout_s: float = 25.0,
        sse_probe_s: float = 3.0,
        backlog_events: int = 256,
        max_body_bytes: int = 1_048_576,
        max_pages_per_session: int = 16,
        prefix: str = "/_htag",
        session_cookie: str = "htag_sid",
        session_path: str = "/",
        session_max_age_s: float = 14 * 86400.0,
        allowed_origins: Sequence[str] = (),
        forwarded_allow_ips: Sequence[str] = ("127.0.0.1", "::1"),
        max_new_sessions_per_minute: int = 60,
        page_headers: Mapping[str, str] | None = None,
        metrics: bool = False,
        routes: Sequence[BaseRoute] | None = None,
        middleware: Sequence[Middleware] | None = None,
        lifespan: Callable[[Any], contextlib.AbstractAsyncContextManager[Any]] | None = None,
    ) -> None:
        self.settings = Settings.build(
            debug=debug, transport=transport, http_only=http_only, parano=parano,
            timeout_interaction=timeout_interaction, timeout_inactivity=timeout_inactivity,
            grace_s=grace_s, heartbeat_s=heartbeat_s, poll_timeout_s=poll_timeout_s, sse_probe_s=sse_probe_s,
            backlog_events=backlog_events, max_body_bytes=max_body_bytes,
            max_pages_per_session=max_pages_per_session, prefix=prefix, session_cookie=session_cookie,
            session_path=session_path, session_max_age_s=session_max_age_s, allowed_origins=allowed_origins,
            forwarded_allow_ips=forwarded_allow_ips, max_new_sessions_per_minute=max_new_sessions_per_minute,
            metrics=metrics,
        )  # fmt: skip
        self.page_headers = {**PAGE_HEADERS, **(page_headers or {})}
        self.new_sessions = PerMinute(self.settings.max_new_sessions_per_minute)
        if session_store is not None and session_dir is not None:
            raise ValueError("give session_store or session_dir, not both")
        if session_store is None:
            session_store = DiskStore(session_dir or os.environ.get("HTAG_SSE_DIR") or DEFAULT_SESSION_DIR)
        store = session_store
        self.store = store
        self.sessions = Sessions(store, max_age_s=self.settings.session_max_age_s)
        self.workers = Workers(store, bus if bus is not None else _default_bus(store))
        self.sessions.alone = lambda: self.workers.alone
        self.pages = Pages(self.settings, self.sessions, store, self.workers)
        self.assets = Assets(self.settings)
        self.endpoints = Endpoints(self.settings, self.pages, self.assets)
        self.metrics = self.pages.metrics
        ours = [Middleware(SessionMiddleware, sessions=self.sessions, settings=self.settings)]
        if debug:
            ours.insert(0, Middleware(WorkerHeader))
        self._own_middleware = len(ours)
        self._interact_path = (self.settings.prefix + "/", "/interact")
        super().__init__(
            debug=debug,
            routes=[*self.endpoints.routes(), *(routes or [])],
            middleware=[*ours, *(middleware or [])],
            lifespan=self._lifespan(lifespan),
        )
        if app is not None:
            self.pages.register(app)

            async def home(request: Request) -> Response:
                return await self.handle(request, app)

            self.add_route("/", home, methods=["GET"], name="htag_home")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Interactions take a short cut past Starlette's routing and middleware, unless
        the application added middleware of its own (which must then see them)."""
        if scope["type"] == "http" and scope["method"] == "POST" and len(self.user_middleware) == self._own_middleware:
            path = get_route_path(scope)
            start, end = self._interact_path
            if path.startswith(start) and path.endswith(end):
                pid = path[len(start) : -len(end)]
                if pid and "/" not in pid:
                    await self._interact(scope, receive, send, pid)
                    return
        await super().__call__(scope, receive, send)

    async def _interact(self, scope: Scope, receive: Receive, send: Send, pid: str) -> None:
        session = self.sessions.resolve(read_cookie(scope, self.settings.session_cookie))
        status, body = await self.endpoints.interact_asgi(scope, receive, pid, session)
        headers = [(b"content-type", media_type(body).encode()), (b"content-length", str(len(body)).encode()),
                   (b"cache-control", b"no-store"),
                   *finish(self.sessions, self.settings, scope, session)]  # fmt: skip
        if self.settings.debug:
            headers.append((b"x-htag-worker", str(os.getpid()).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def handle(
        self,
        request: Request,
        App: type[Tag],
        *,
        transport: str | None = None,
        http_only: bool | None = None,
        parano: bool | None = None,
        timeout_interaction: float | None = None,
        timeout_inactivity: float | None = None,
    ) -> Response:
        """Answer ``request`` with a new page of ``App`` (htagweb's ``handle``).

        The query string gives the app's init arguments (htag's rules). Keyword
        arguments override this app's defaults for this route.
        """
        settings = self.settings.for_route(
            transport=transport, http_only=http_only, parano=parano,
            timeout_interaction=timeout_interaction, timeout_inactivity=timeout_inactivity,
        )  # fmt: skip
        if request.method == "HEAD":
            return HTMLResponse(b"", headers=self.page_headers)
        session = session_of(request)
        if session.sid is None:  # a new visitor: bounded per client address
            address = client_address(request.scope, self.settings.forwarded_allow_ips)
            if not self.new_sessions.allow(address):
                log.warning("new session refused: %s opened %d this minute", address, self.new_sessions.limit)
                return PlainTextResponse(
                    "Too many new sessions from your address: try again in a minute.", 429, {"Retry-After": "60"}
                )
        await self.endpoints.start_worker()
        root = request.scope.get("root_path", "")
        reload = _reload_of(request.cookies.get(RELOAD_COOKIE))
        _, html = self.pages.create(
            App, session, url2ak(str(request.url)), settings, self.assets.head(root), self.assets.boot(root, settings),
            reload,
        )  # fmt: skip
        response = HTMLResponse(html, headers=self.page_headers)
        if reload is not None:
            response.delete_cookie(RELOAD_COOKIE, path=self.settings.session_path)
        return response

    def rotate_session(self, request: Request) -> str:
        """Give the user's session a new id, keeping its data (call it after a login)."""
        return self.sessions.rotate(session_of(request))

    def run(self, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
        """Serve with hypercorn until Ctrl-C/SIGTERM; see :func:`htag_sse.server.run` for options."""
        from .server import run

        run(self, host=host, port=port, **options)

    def _lifespan(
        self, user: Callable[[Any], contextlib.AbstractAsyncContextManager[Any]] | None
    ) -> Callable[[Any], contextlib.AbstractAsyncContextManager[Any]]:
        @contextlib.asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[Any]:
            try:
                if user is None:
                    yield None
                else:
                    async with user(app) as state:
                        yield state
            finally:
                self.pages.close_all()
                self.workers.stop()

        return lifespan


def _reload_of(cookie: str | None) -> tuple[str, str] | None:
    """``<page id>~<token>`` from the cookie a reloading tab sets."""
    pid, sep, token = (cookie or "").partition("~")
    return (pid, token) if sep and 0 < len(pid) <= 64 and 0 < len(token) <= 64 else None


def _default_bus(store: Store) -> Bus | None:
    """Workers sharing a disk store talk over loopback TCP; a memory store is one process's own."""
    return LoopbackBus(store) if isinstance(store, DiskStore) else None


def get_route_path(scope: Scope) -> str:
    """The path within this application (without the ``root_path`` of a mount)."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root + "/") else path


#: htagweb's names, so a migration is a one-line import change.
AppServer = HtagSSE
Runner = HtagSSE
