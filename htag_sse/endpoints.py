"""The HTTP endpoints under ``<prefix>/``: interact, events, poll, rerun, alive, static.

A request may land on any worker. For a page of this worker it is served
here; for a page of another live worker it is relayed to that owner over the
bus (the same checks run there); a page whose owner is gone answers 410 and
the client reruns it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope

from . import parano, transport
from .assets import Assets
from .errors import RequestError
from .page import Page
from .pages import Pages
from .relay import Relay
from .security import check_origin, check_token
from .session import Session
from .settings import Settings
from .stream import EventStream, Heartbeats
from .transport import Follow
from .wire import dumps, parse_count, parse_event_id

log = logging.getLogger("htag_sse")

Endpoint = Callable[[Request], Awaitable[Response]]
NO_STORE = {"Cache-Control": "no-store"}
GONE = "this page is gone (server restarted or page expired): rerun it"


def media_type(body: bytes) -> str:
    """JSON, or base64 text for a sealed answer (parano mode)."""
    return "application/json" if body[:1] in (b"{", b"[") else "text/plain"


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status, NO_STORE, media_type(body))


class Endpoints:
    def __init__(self, settings: Settings, pages: Pages, assets: Assets) -> None:
        self.settings = settings
        self.pages = pages
        self.assets = assets
        self.workers = pages.workers
        self.heartbeats = Heartbeats(settings.heartbeat_s)
        self.relay = Relay(self.workers, {"interact": self.on_interact, "poll": self.on_poll, "alive": self.on_alive,
                                           "release": self.on_release})

    def routes(self) -> list[BaseRoute]:
        p, refusing = self.settings.prefix, self.refusing
        routes = [
            Route(f"{p}/static/{{name}}", self.assets.serve, methods=["GET"]),
            Route(f"{p}/health", self.health, methods=["GET"]),
            Route(f"{p}/events", refusing(self.shared_events), methods=["GET"]),
            Route(f"{p}/poll", refusing(self.shared_poll), methods=["GET"]),
            Route(f"{p}/{{pid}}/interact", refusing(self.interact), methods=["POST"]),
            Route(f"{p}/{{pid}}/events", refusing(self.events), methods=["GET"]),
            Route(f"{p}/{{pid}}/poll", refusing(self.poll), methods=["GET"]),
            Route(f"{p}/{{pid}}/rerun", refusing(self.rerun), methods=["POST"]),
            Route(f"{p}/{{pid}}/alive", refusing(self.alive), methods=["GET"]),
            Route(f"{p}/{{pid}}/release", refusing(self.release), methods=["POST"]),
        ]
        if self.settings.metrics:
            routes.insert(2, Route(f"{p}/metrics", self.metrics, methods=["GET"]))
        return routes

    def refusing(self, endpoint: Endpoint) -> Endpoint:
        """Turn a :class:`RequestError` into its clear JSON 4xx answer."""
        counts = self.pages.metrics.counts

        async def guarded(request: Request) -> Response:
            try:
                return await endpoint(request)
            except RequestError as e:
                counts[f"refused.{e.status}"] += 1
                log.debug("%s %s refused: %s %s", request.method, request.url.path, e.status, e.message)
                return _json(e.body(), e.status)

        return guarded

    async def health(self, request: Request) -> Response:
        """For load balancers: 200 while this worker can serve (its store answers), 503 otherwise."""
        facts = {"worker": self.workers.me, "pid": os.getpid(), "pages": len(self.pages)}
        try:
            self.pages.store.get("w:" + self.workers.me)
        except Exception as e:
            log.error("health check: the store does not answer: %s", e)
            return _json(dumps({"status": "error", "error": f"store: {e}"[:200], **facts}).encode(), 503)
        return _json(dumps({"status": "ok", **facts}).encode())

    async def metrics(self, request: Request) -> Response:
        return Response(self.pages.metrics.prometheus(), headers=NO_STORE, media_type="text/plain; version=0.0.4")

    # ---------------------------------------------------------------- where a page lives

    def owner(self, pid: str) -> str | None:
        """The live worker holding page ``pid`` if it is not this one."""
        owner = self.workers.owner_of(pid)
        if owner == self.workers.me or self.workers.contact(owner) is None:
            return None
        return owner

    def local(self, pid: str, sid: str | None) -> Page:
        """A page of this worker, checked to belong to session ``sid``."""
        page = self.pages.get(pid)
        if page is None or page.closed:
            raise RequestError(410, "page_gone", GONE)
        if page.session.sid != sid:
            log.warning("request for page %s from another session refused", pid)
            raise RequestError(403, "foreign_page", "this page belongs to another session")
        page.seen_at = time.monotonic()
        page.released_at = None  # its tab is still there (back from the back/forward cache)
        return page

    def follow(self, pid: str, sid: str | None, cursor: int | None) -> Follow:
        page = self.pages.get(pid)
        if page is not None and not page.closed:
            self.local(pid, sid)
            if not page.settings.push:
                raise RequestError(404, "no_push", "this page has no push channel (transport 'none')")
            return Follow(pid, page, cursor)
        return Follow(pid, None, cursor, None if page is not None else self.owner(pid))

    def follows(self, request: Request) -> list[Follow]:
        """Pages named by ``p=<page id>:<last event id>`` parameters, all of the request's session."""
        wanted = request.query_params.getlist("p")
        if not wanted or len(wanted) > transport.MAX_FOLLOWS:
            raise RequestError(400, "bad_pages", f"name 1 to {transport.MAX_FOLLOWS} pages as p=<page id>:<last event id>")
        sid = session_of(request).sid
        return [self.follow(pid[:64], sid, parse_event_id(last)) for pid, _, last in (p.partition(":") for p in wanted)]

    # ---------------------------------------------------------------- HTTP endpoints

    def check_origin(self, request: Request) -> None:
        check_origin(request.scope, self.settings.allowed_origins, self.settings.forwarded_allow_ips)

    async def interact(self, request: Request) -> Response:
        status, body = await self.interact_asgi(request.scope, request.receive, request.path_params["pid"],
                                                session_of(request))  # fmt: skip
        return _json(body, status)

    async def interact_asgi(self, scope: Scope, receive: Receive, pid: str, session: Session) -> tuple[int, bytes]:
        """One interaction from raw ASGI parts: (status, body). The hot path, so no Request object."""
        try:
            check_origin(scope, self.settings.allowed_origins, self.settings.forwarded_allow_ips)
            token = seq = declared = None
            for key, value in scope["headers"]:
                if key == b"x-htag-token":
                    token = value.decode("latin-1")
                elif key == b"x-htag-seq":
                    seq = _seq(value.decode("latin-1"))
                elif key == b"content-length":
                    declared = parse_count(value.decode("latin-1"))
            if self.pages.get(pid) is not None:  # this worker's: what the head tells is checked before the body is read
                page = self.local(pid, session.sid)
                check_token(page.token, token)
                try:
                    body: bytes | RequestError = await receive_body(receive, self.settings.max_body_bytes, declared)
                except RequestError as e:
                    if e.status != 413:
                        raise
                    body = e  # the page was reached: the refusal uses up its number
                return await page.answer(body, seq)
            call = {"pid": pid, "sid": session.sid, "token": token, "seq": seq,
                    "body": await receive_body(receive, self.settings.max_body_bytes, declared)}  # fmt: skip
            owner = self.owner(pid)
            if owner is None:
                return await self.run_interaction(call)
            answer = await self.relay.call(owner, "interact", call, self.settings.timeout_interaction + 10)
            return answer["status"], answer["body"]
        except RequestError as e:
            self.pages.metrics.counts[f"refused.{e.status}"] += 1
            return e.status, e.body()

    async def events(self, request: Request) -> EventStream:
        """One page's stream (a plain ``EventSource`` can read it)."""
        after = parse_event_id(request.headers.get("last-event-id") or request.query_params.get("last"))
        follows = [self.follow(request.path_params["pid"], session_of(request).sid, after)]
        return self.stream(request, follows, named=False)

    async def shared_events(self, request: Request) -> EventStream:
        """One stream for several pages of a session (``?p=<page>:<last>&p=...``): the tabs of a browser share it."""
        return self.stream(request, self.follows(request), named=True)

    async def poll(self, request: Request) -> Response:
        follows = [self.follow(request.path_params["pid"], session_of(request).sid, parse_event_id(request.query_params.get("after")))]
        if not follows[0].live:
            raise RequestError(410, "page_gone", GONE)
        return await transport.poll(follows, self.settings.poll_timeout_s, multi=False, remote=self.remote(request))

    async def shared_poll(self, request: Request) -> Response:
        return await transport.poll(self.follows(request), self.settings.poll_timeout_s, multi=True, remote=self.remote(request))

    async def rerun(self, request: Request) -> Response:
        self.check_origin(request)
        await self.start_worker()
        root = request.scope.get("root_path", "")
        page, old_key = self.pages.rerun(
            request.path_params["pid"], session_of(request), request.headers.get("x-htag-token"),
            self.assets.head(root), self.assets.boot(root, self.settings),
        )  # fmt: skip
        fresh = {"page": page.pid, "token": page.token, "last": page.log.last, **page.refresh()}
        if page.cipher is not None:
            fresh["key"] = parano.b64(page.cipher.key)
        if old_key is not None:  # sealed with the key the browser has: the old page's
            return _json(parano.Cipher(old_key).seal(parano.RERUN, fresh).encode())
        return _json(dumps(fresh).encode())

    async def alive(self, request: Request) -> Response:
        pid, sid = request.path_params["pid"], session_of(request).sid
        owner = self.owner(pid) if self.pages.get(pid) is None else None
        if owner is None:
            self.local(pid, sid)
        else:
            answer = await self.relay.call(owner, "alive", {"pid": pid, "sid": sid}, 10)
            if answer.get("status", 204) != 204:
                return _json(answer["body"], answer["status"])
        return Response(status_code=204, headers=NO_STORE)

    async def release(self, request: Request) -> Response:
        """The tab unloads (``sendBeacon``: the token comes as the body): a GET of the same app
        from the same session may take this page over within the grace period."""
        self.check_origin(request)
        pid, sid = request.path_params["pid"], session_of(request).sid
        token = request.headers.get("x-htag-token") or (await receive_body(request.receive, 200, None)).decode(
            "latin-1"
        )
        owner = self.owner(pid) if self.pages.get(pid) is None else None
        if owner is None:
            page = self.local(pid, sid)
            check_token(page.token, token)
            page.released_at = time.monotonic()
        else:
            answer = await self.relay.call(owner, "release", {"pid": pid, "sid": sid, "token": token}, 10)
            if answer.get("status", 204) != 204:
                return _json(answer["body"], answer["status"])
        return Response(status_code=204, headers=NO_STORE)

    async def on_release(self, call: dict[str, Any]) -> dict[str, Any]:
        page = self.local(call["pid"], call["sid"])
        check_token(page.token, call["token"])
        page.released_at = time.monotonic()
        return {"status": 204}

    def stream(self, request: Request, follows: list[Follow], named: bool) -> EventStream:
        return transport.sse_response(follows, self.heartbeats, named=named, remote=self.remote(request))

    def remote(self, request: Request) -> transport.Remote:
        sid = session_of(request).sid

        async def from_owner(owner: str, follows: list[Follow], timeout_s: float) -> tuple[transport.Events, list[str]]:
            payload = {"pages": [(f.pid, f.cursor) for f in follows], "sid": sid, "timeout_s": timeout_s}
            answer = await self.relay.call(owner, "poll", payload, timeout_s + 10)
            if "status" in answer:
                raise RequestError(answer["status"], "remote", answer["body"].decode())
            return answer["events"], answer["gone"]

        return from_owner

    async def start_worker(self) -> None:
        """Take this worker's lease and open its inbox (before it creates pages others may ask for)."""
        await self.workers.start(self.relay.deliver)

    # ---------------------------------------------------------------- the owner's side

    async def run_interaction(self, call: dict[str, Any], forwarded: bool = False) -> tuple[int, bytes]:
        page = self.local(call["pid"], call["sid"])
        check_token(page.token, call["token"])
        if forwarded:  # the session may have been written by the worker that relayed this
            self.pages.sessions.refresh(page.session)
        return await page.answer(call["body"], call["seq"])

    async def on_interact(self, call: dict[str, Any]) -> dict[str, Any]:
        status, body = await self.run_interaction(call, forwarded=True)
        return {"status": status, "body": body}

    async def on_poll(self, call: dict[str, Any]) -> dict[str, Any]:
        follows = []
        for pid, cursor in call["pages"]:
            page = self.pages.get(pid)
            if page is not None and page.session.sid != call["sid"]:
                raise RequestError(403, "foreign_page", "a page named belongs to another session")
            follows.append(Follow(pid, page, cursor))
        events, gone = await transport.collect(follows, call["timeout_s"])
        return {"events": events, "gone": gone}

    async def on_alive(self, call: dict[str, Any]) -> dict[str, Any]:
        self.local(call["pid"], call["sid"])
        return {"status": 204}


def session_of(request: Request) -> Session:
    session = request.scope.get("session")
    if not isinstance(session, Session):
        raise RuntimeError("htag-sse's SessionMiddleware is missing from this application")
    return session


def _seq(raw: str) -> int:
    seq = parse_count(raw, 12)
    if seq is None:
        raise RequestError(400, "bad_seq", "X-Htag-Seq must be a positive integer")
    return seq


async def receive_body(receive: Receive, limit: int, declared: int | None) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    too_large = RequestError(413, "too_large", f"body over the {limit} bytes limit")
    if declared is not None and declared > limit:
        raise too_large
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestError(400, "disconnected", "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
