"""``HtagSSE``: a Starlette application that serves htag apps over POST + SSE."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import traceback
import webbrowser
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, Unpack

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .adapter import AppClass, InitError
from .assets import RELOAD_COOKIE, Assets
from .bus import Bus, LoopbackBus, bus_secret
from .cookie import STORE_UNAVAILABLE, SessionMiddleware, storage_unavailable
from .errors import ConfigError, RequestError, StoreError
from .eventlog import Feed
from .head import head_of
from .htag1 import Htag1
from .metrics import Metrics
from .pages.locator import Locator
from .pages.owner import Owner
from .pages.page import Page
from .pages.registry import Pages
from .relay import Relay
from .router import Router
from .session import Session, Sessions
from .settings import Options, Settings
from .sse import Heartbeats, Shutdown
from .stores import DiskStore, MemoryStore, Store
from .workers import Workers

log = logging.getLogger("htag_sse")

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
    ``App`` may also be named as a string (``"main:App"``, htagweb's ``"main.App"``).

    Options (keywords, durations in seconds) are listed with their defaults in
    :class:`~htag_sse.settings.Settings` and in the README. ``host`` and
    ``port`` are htagweb's: defaults for :meth:`run`. htagweb's ``ssl`` is
    accepted and not needed: cookies get ``Secure`` by themselves under https
    (directly, or behind a trusted proxy's ``X-Forwarded-Proto``).
    """

    def __init__(
        self,
        app: AppClass | str | None = None,
        *,
        session_store: Store | None = None,
        bus: Bus | None = None,
        routes: Sequence[BaseRoute] | None = None,
        middleware: Sequence[Middleware] | None = None,
        lifespan: Callable[[Any], contextlib.AbstractAsyncContextManager[Any]] | None = None,
        page_headers: dict[str, str] | None = None,
        host: str | None = None,
        port: int | None = None,
        ssl: bool = False,
        **options: Unpack[Options],
    ) -> None:
        self.settings = settings = Settings.build(**options)
        self.run_options: dict[str, Any] = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
        self.page_headers = {**PAGE_HEADERS, **(page_headers or {})}
        if ssl:
            log.debug("ssl=True (htagweb's) is not needed: cookies are Secure under https by themselves")
        store, bus, feed, epoch = _backend(settings, session_store, bus)
        self.store = store
        self.shutdown = Shutdown()
        self._tasks: set[asyncio.Task[None]] = set()
        self.metrics = Metrics()
        self.workers = Workers(store, bus, lease_s=settings.lease_s, epoch=epoch)
        self.sessions = Sessions(store, max_age_s=settings.session_max_age_s,
                                 new_per_minute=settings.max_new_sessions_per_minute,
                                 alone=lambda: self.workers.alone, fence=self.workers.fence,
                                 recover=self.workers.ensure_valid)  # fmt: skip
        self.pages = Pages(
            settings, Htag1(lean=settings.lean), self.sessions, store, self.metrics, self.workers.my_id, feed
        )
        self.workers.on_lost(self._lost)
        self.workers.on_recovered(self._recovered)
        self.assets = Assets(settings)
        self.relay = Relay(self.workers, Owner(self.pages, self.workers, self._render).handlers())
        self.locator = Locator(self.pages, store, self.workers, self.relay, feed, self._render)
        self.sessions.on_end(self._ended)
        self.heartbeats = Heartbeats(settings.heartbeat_s, self.shutdown, settings.max_stream_s)
        self.endpoints = Router(settings, self.pages, self.sessions, self.locator, self.workers, self.assets,
                                self.heartbeats, self.metrics)  # fmt: skip
        self.metrics.gauges["sessions_live"] = lambda: len(self.sessions)
        self.session_middleware = Middleware(SessionMiddleware, sessions=self.sessions, settings=settings)
        ours = [self.session_middleware] + ([Middleware(WorkerHeader)] if settings.route.debug else [])
        self._own_middleware = len(ours)
        super().__init__(  # <prefix>/ first: through Starlette's stack only when the app adds middleware
            debug=settings.route.debug, routes=[Mount(settings.prefix, app=self.endpoints), *(routes or ())],
            middleware=[*ours, *(middleware or [])], lifespan=self._lifespan(lifespan),
        )  # fmt: skip
        self.router.default = self.endpoints.page_not_found(self.router.default)  # a 404 that says what is here
        if app is not None:
            cls = _load(app)
            self.pages.register(cls)

            async def home(request: Request) -> Response:
                return await self.handle(request, cls)

            self.add_route("/", home, methods=["GET", "HEAD"], name="htag_home")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``<prefix>/`` goes to the router: straight, unless the application added middleware of
        its own (which must then see those requests too: they go through Starlette's stack)."""
        scope["htag_sse.root"] = scope.get("root_path", "")  # this app's own mount point
        if scope["type"] == "http" and not self.workers.running:  # seen by the others from the first request
            try:
                await self.workers.start(self.relay.deliver)
            except StoreError as e:  # no lease, no page: the next request tries again
                log.warning("this worker cannot take its lease: %s", e)
                if not self.endpoints.is_health(head_of(scope, self.settings).path):  # health: its own JSON 503
                    await storage_unavailable(send)
                    return
        if (
            scope["type"] == "http"
            and len(self.user_middleware) == self._own_middleware
            and self.endpoints.handles(head_of(scope, self.settings).path)
        ):
            scope["htag_sse.direct"] = True
            await self.endpoints(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def _render(self, page: Page, root: str) -> str:
        """A page's whole document for a request under ``root`` (a new page, or one taken over)."""
        return self.pages.render(page, self.assets.head(root), self.assets.boot(root, self.settings, page.route))

    def _ended(self, sid: str) -> None:
        """Session ``sid`` ended (a login or a logout): its pages go, here and on every other worker."""
        self.pages.end_session(sid, "its session ended (a login or a logout)")
        task = asyncio.get_running_loop().create_task(self.relay.broadcast("end_session", {"sid": sid}))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _recovered(self) -> None:
        """Back from a stall past the lease: only the pages another worker took meanwhile go."""
        taken = await self.pages.drop_taken()
        if taken:
            self.sessions.forget(taken)

    def _lost(self, reason: str) -> None:
        """This worker lost its lease: its pages go (they rerun elsewhere), and what it knew of sessions
        (cached copies, writes not yet made) is forgotten: another worker may have changed them since."""
        self.pages.drop_all(reason)
        self.sessions.forget()

    async def handle(self, request: Request, App: AppClass, **overrides: Any) -> Response:
        """Answer ``request`` with a page of ``App`` (htagweb's ``handle``).

        The query string gives the app's init arguments (htag's rules). Keyword
        arguments override this app's route options (``transport``, ``http_only``,
        ``parano``, ``timeout_interaction``, ``timeout_inactivity``, ``debug``).
        A reload of the same tab takes its live page over (F5 keeps the state).
        """
        route = self.settings.route.but(**overrides)
        if request.method == "HEAD":
            return HTMLResponse(b"", headers=self.page_headers)
        session = session_of(request)
        try:
            await self.workers.start(self.relay.deliver)
            root = request.scope.get("root_path", "")
            reload = _reload_of(request.cookies.get(RELOAD_COOKIE))
            init = self.pages.adapter.init_of(str(request.url))
            html = await self.locator.take_over(session, self.pages.register(App), init, reload, root)
            if html is None:
                html = self._render(await self.pages.create(App, session, init, route), root)
        except RequestError as e:
            return Response(e.message + "\n", e.status, {"Retry-After": "60"} if e.status == 429 else {}, "text/plain")
        except StoreError as e:  # nothing was made: the browser may ask again (as clicks get it)
            log.warning("a page of %s could not be made: %s", App.__name__, e)
            return Response(STORE_UNAVAILABLE, 503, {"Retry-After": "1", "Cache-Control": "no-store"}, "text/plain")
        except InitError as e:  # logged as a handler's error is: ERROR, with the traceback
            log.error("%s could not start: its init failed\n%s", App.__name__, e.trace.rstrip())
            return HTMLResponse(e.page(route.debug), 500, headers=self.page_headers)
        response = HTMLResponse(html, headers=self.page_headers)
        if reload is not None:
            response.delete_cookie(RELOAD_COOKIE, path=self.settings.session_path)
        return response

    async def rotate_session(self, request: Request) -> str:
        """Give the user's session a new id, keeping its data (call it after a login: ``OAuthLogin``
        does). The pages of the old id end, on every worker: a page belongs to who was logged in when
        it opened, and is never handed on (their tabs reload). ``request.session.clear()`` (a logout)
        does the same, with no data kept."""
        return await self.sessions.rotate(session_of(request))

    def run(self, host: str | None = None, port: int | None = None, **options: Any) -> None:
        """Serve (with hypercorn, or Granian) until Ctrl-C/SIGTERM. Options: those of
        :class:`~htag_sse.server.RunConfig` (``workers``, ``loop``, ``log_level``, ``access_log``,
        ``certfile``/``keyfile``, ``graceful_timeout_s``, ``read_timeout_s``, ``server``: ``"hypercorn"`` or
        ``"granian"``).

        The address: the arguments, else the constructor's ``host``/``port``, else the environment
        (``HTAG_SSE_HOST``; ``PORT``, as platforms like Cloud Run or Heroku set it, or ``HTAG_SSE_PORT``),
        else ``127.0.0.1:8000`` (only this machine: give ``host="0.0.0.0"`` to serve the network).
        htagweb's ``openBrowser=True`` (or ``open_browser=True``) opens a browser tab.
        A port in use or a bad option is one line on stderr and exit status 2 (``SystemExit``).
        """
        from .server import RunConfig, run

        opens = bool(options.pop("openBrowser", False)) | bool(options.pop("open_browser", False))
        given = {
            "host": host or self.run_options.get("host"),
            "port": self.run_options.get("port") if port is None else port,
        }
        try:
            config = RunConfig.from_environment({**given, **options})
            if opens:
                webbrowser.open(
                    f"http://{'localhost' if config.host in ('0.0.0.0', '::') else config.host}:{config.port}"
                )
            run(self, config)
        except ConfigError as e:  # a port in use, a bad option: one line, as the command line says it
            if self.settings.route.debug:
                traceback.print_exc()
            print(f"htag-sse: {e}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None

    def _lifespan(
        self, user: Callable[[Any], contextlib.AbstractAsyncContextManager[Any]] | None
    ) -> Callable[[Any], contextlib.AbstractAsyncContextManager[Any]]:
        @contextlib.asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[Any]:
            checking = asyncio.ensure_future(self._check_store())  # beside the start: a slow store delays nothing
            try:
                if user is None:
                    yield None
                else:
                    async with user(app) as state:
                        yield state
            finally:
                checking.cancel()
                await self.stop()

        return lifespan

    async def _check_store(self) -> None:
        """Say at start when the store cannot be reached (Redis down): every request would get a 503."""
        try:
            await self.store.check()
        except StoreError as e:
            log.error("the session store cannot be reached at start: %s; pages answer 503 until it can "
                      "(%s/health says so too)", e, self.settings.prefix)  # fmt: skip

    async def stop(self) -> None:
        """End every stream and page (their records stay, for reruns), write pending sessions,
        leave the workers' registry. Run by the lifespan's shutdown, and by ``run()`` on a signal."""
        self.shutdown.begin()
        await self.pages.close_all()
        await self.workers.stop()
        for part in (self.store, self.locator.feed):
            close = getattr(part, "close", None)
            if close is not None:
                await close()


def session_of(request: Request) -> Session:
    session = request.scope.get("session")
    if not isinstance(session, Session):
        raise RuntimeError("htag-sse's SessionMiddleware is missing from this application")  # noqa: TRY004
    return session


def _load(app: AppClass | str) -> AppClass:
    """The app class, from a class or a name (``main:App``, htagweb's ``main.App``)."""
    if not isinstance(app, str):
        return app
    from .loader import load, parse_target

    spec = app if ":" in app or app.endswith(".py") else ":".join(app.rsplit(".", 1))
    return load(parse_target(spec, Path.cwd()))


def _reload_of(cookie: str | None) -> tuple[str, str] | None:
    """``<page id>~<token>`` from the cookie a reloading tab sets."""
    pid, sep, token = (cookie or "").partition("~")
    return (pid, token) if sep and 0 < len(pid) <= 64 and 0 < len(token) <= 64 else None


def _backend(settings: Settings, store: Store | None, bus: Bus | None) -> tuple[Store, Bus | None, Feed | None, Any]:
    """The store, bus and feed the options describe: Redis, or the embedded defaults."""
    if settings.redis:
        if store is not None or bus is not None:
            raise ConfigError("give redis=... or session_store/bus, not both")
        from .redis import redis_backend

        assert settings.secret is not None
        store, bus, feed = redis_backend(settings.redis, secret=settings.secret, backlog=settings.backlog_events)
        return store, bus, feed, feed.epoch
    if store is None:
        store = DiskStore(settings.session_dir)
    if bus is None and isinstance(store, DiskStore):  # workers sharing a directory talk over loopback TCP
        frame = 2 * settings.max_interaction_bytes + 65536  # a body, base64'd in JSON
        bus = LoopbackBus(bus_secret(settings.secret, store.directory), max_frame=frame)
    elif bus is None and not isinstance(store, MemoryStore):
        log.info("%r has no bus: several workers cannot relay requests to each other", store)
    return store, bus, None, None


class WorkerHeader:
    """Debug mode: every response says which worker process answered (``X-Htag-Worker: <os pid>``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_pid(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-htag-worker", str(os.getpid()).encode())]
            await send(message)

        await self.app(scope, receive, send_with_pid)


#: htagweb's names, so a migration is a one-line import change.
AppServer = HtagSSE
Runner = HtagSSE
