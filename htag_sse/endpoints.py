"""The HTTP endpoints under ``<prefix>/``: interact, events, poll, rerun, alive, static."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import transport
from .assets import Assets
from .errors import RequestError
from .page import Page
from .pages import Pages
from .security import check_origin, check_token
from .session import Session
from .settings import Settings
from .wire import dumps, parse_event_id, parse_interaction

log = logging.getLogger("htag_sse")

Endpoint = Callable[[Request], Awaitable[Response]]
NO_STORE = {"Cache-Control": "no-store"}


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status, NO_STORE, "application/json")


def refusing(endpoint: Endpoint) -> Endpoint:
    """Turn a :class:`RequestError` into its clear JSON 4xx answer."""

    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except RequestError as e:
            log.debug("%s %s refused: %s %s", request.method, request.url.path, e.status, e.message)
            return _json(e.body(), e.status)

    return guarded


class Endpoints:
    def __init__(self, settings: Settings, pages: Pages, assets: Assets) -> None:
        self.settings = settings
        self.pages = pages
        self.assets = assets

    def routes(self) -> list[BaseRoute]:
        p = self.settings.prefix
        return [
            Route(f"{p}/static/{{name}}", self.assets.serve, methods=["GET"]),
            Route(f"{p}/events", refusing(self.shared_events), methods=["GET"]),
            Route(f"{p}/poll", refusing(self.shared_poll), methods=["GET"]),
            Route(f"{p}/{{pid}}/interact", refusing(self.interact), methods=["POST"]),
            Route(f"{p}/{{pid}}/events", refusing(self.events), methods=["GET"]),
            Route(f"{p}/{{pid}}/poll", refusing(self.poll), methods=["GET"]),
            Route(f"{p}/{{pid}}/rerun", refusing(self.rerun), methods=["POST"]),
            Route(f"{p}/{{pid}}/alive", refusing(self.alive), methods=["GET"]),
        ]

    def page(self, request: Request, *, gone_ok: bool = False) -> Page | None:
        """The request's page, checked to belong to the request's session."""
        page = self.pages.get(request.path_params["pid"])
        if page is None or page.closed:
            if gone_ok:
                return None
            raise RequestError(410, "page_gone", "this page is gone (server restarted or page expired): rerun it")
        if page.session.sid != _session(request).sid:
            log.warning("request for page %s from another session refused", page.pid)
            raise RequestError(403, "foreign_page", "this page belongs to another session")
        page.seen_at = time.monotonic()
        return page

    async def interact(self, request: Request) -> Response:
        page = self.page(request)
        assert page is not None
        check_origin(request.scope)
        check_token(page.token, request.headers.get("x-htag-token"))
        body = await read_body(request, self.settings.max_body_bytes)
        inter = parse_interaction(body)
        return _json(await page.interact(inter, _seq(request)))

    async def events(self, request: Request) -> Response:
        """One page's stream (a plain ``EventSource`` can read it)."""
        page = self.page(request, gone_ok=True)
        after = parse_event_id(request.headers.get("last-event-id") or request.query_params.get("last"))
        follows = [self.follow(request.path_params["pid"], page, after)]
        return transport.sse_response(request.scope, follows, self.settings.heartbeat_s, named=False)

    async def poll(self, request: Request) -> Response:
        page = self.page(request)
        follows = [self.follow(request.path_params["pid"], page, parse_event_id(request.query_params.get("after")))]
        return await transport.poll(follows, self.settings.poll_timeout_s, multi=False)

    async def shared_events(self, request: Request) -> Response:
        """One stream for several pages of a session (``?p=<page>:<last>&p=...``): the tabs of a browser share it."""
        follows = self.follows(request)
        return transport.sse_response(request.scope, follows, self.settings.heartbeat_s, named=True)

    async def shared_poll(self, request: Request) -> Response:
        return await transport.poll(self.follows(request), self.settings.poll_timeout_s, multi=True)

    def follow(self, pid: str, page: Page | None, after: int | None) -> transport.Follow:
        if page is not None and not page.settings.push:
            raise RequestError(404, "no_push", "this page has no push channel (transport 'none')")
        return transport.Follow(pid, page, after)

    def follows(self, request: Request) -> list[transport.Follow]:
        """Pages named by ``p=<page id>:<last event id>`` parameters, all of the request's session."""
        wanted = request.query_params.getlist("p")
        if not wanted or len(wanted) > transport.MAX_FOLLOWS:
            raise RequestError(400, "bad_pages", f"name 1 to {transport.MAX_FOLLOWS} pages as p=<page id>:<last event id>")
        sid = _session(request).sid
        follows = []
        for item in wanted:
            pid, _, last = item.partition(":")
            page = self.pages.get(pid)
            if page is not None and page.closed:
                page = None
            if page is not None and page.session.sid != sid:
                log.warning("stream for page %s from another session refused", pid)
                raise RequestError(403, "foreign_page", "a page named belongs to another session")
            if page is not None:
                page.seen_at = time.monotonic()
            follows.append(self.follow(pid[:64], page, parse_event_id(last)))
        return follows

    async def rerun(self, request: Request) -> Response:
        check_origin(request.scope)
        root = request.scope.get("root_path", "")
        page = self.pages.rerun(
            request.path_params["pid"],
            _session(request),
            request.headers.get("x-htag-token"),
            self.assets.head(root),
            self.assets.boot(root, self.settings),
        )
        fresh = {"page": page.pid, "token": page.token, "last": page.log.last, **page.refresh()}
        return _json(dumps(fresh).encode())

    async def alive(self, request: Request) -> Response:
        self.page(request)
        return Response(status_code=204, headers=NO_STORE)


def _session(request: Request) -> Session:
    session = request.scope.get("session")
    if not isinstance(session, Session):
        raise RuntimeError("htag-sse's SessionMiddleware is missing from this application")
    return session


def _seq(request: Request) -> int | None:
    raw = request.headers.get("x-htag-seq")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise RequestError(400, "bad_seq", "X-Htag-Seq must be a positive integer")
    return int(raw)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestError(413, "too_large", f"body over the {limit} bytes limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, "too_large", f"body over the {limit} bytes limit")
        chunks.append(chunk)
    return b"".join(chunks)
