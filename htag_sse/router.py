"""The one router of ``<prefix>/``: a pure ASGI app that reads each request's head once
(:class:`~htag_sse.head.Head`) and hands that data to security, limits, sessions and
the endpoint. Refusals become clear JSON answers; a store that cannot answer, a 503.

======================  ======  ============================================
``static/<name>``       GET     the browser client (hashed URLs, cached)
``health``, ``metrics`` GET     for load balancers and Prometheus
``events?p=…``          GET     one SSE stream for several pages of a session
``poll?p=…``            GET     one long-poll for several pages of a session
``<page>/interact``     POST    one interaction, or a batch
``<page>/events``       GET     one page's SSE stream (a plain EventSource can read it)
``<page>/poll``         GET     one page's long-poll
``<page>/rerun``        POST    recreate a page whose live instance is gone
``<page>/alive``        GET     keep a page without push channel from expiring
``<page>/release``      POST    the tab unloads: a reload may take the page over
======================  ======  ============================================
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import QueryParams
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from . import delivery, parano
from .adapter import InitError
from .assets import Assets
from .cookie import session_headers
from .deadline import bounded
from .delivery import MAX_FOLLOWS, Follow
from .errors import RequestError, StoreError
from .head import Head, head_of, parse_count
from .metrics import Metrics
from .pages.locator import Locator
from .pages.registry import Pages
from .security import check_origin
from .session import Session, Sessions
from .settings import Settings
from .sse import EventStream, Heartbeats
from .wire import dumps
from .workers import Workers

log = logging.getLogger("htag_sse")

NO_STORE = [(b"cache-control", b"no-store")]
#: Bodies larger than ``max_body_bytes`` (uploads) are read by at most this many requests at once.
BIG_BODY_READS = 16


class Router:
    def __init__(self, settings: Settings, pages: Pages, sessions: Sessions, locator: Locator, workers: Workers,
                 assets: Assets, heartbeats: Heartbeats, metrics: Metrics) -> None:  # fmt: skip
        self.settings, self.pages, self.sessions, self.locator = settings, pages, sessions, locator
        self.workers, self.assets, self.heartbeats, self.metrics = workers, assets, heartbeats, metrics
        self.prefix = settings.prefix + "/"
        self._big_reads = asyncio.Semaphore(BIG_BODY_READS)
        # a tab holds one stream, and may open its next before the server saw the last one end
        self._max_streams = 2 * settings.max_pages_per_session
        self._streams: Counter[str] = Counter()  # open streams by session id (by address without one)
        self._worker_header = [(b"x-htag-worker", str(os.getpid()).encode())] if settings.route.debug else []
        self._pid_routes: dict[tuple[str, str], Callable[..., Awaitable[Any]]] = {
            ("POST", "interact"): self.interact, ("GET", "events"): self.events, ("GET", "poll"): self.poll,
            ("POST", "rerun"): self.rerun, ("GET", "alive"): self.alive, ("POST", "release"): self.release,
        }  # fmt: skip

    def handles(self, path: str) -> bool:
        return path.startswith(self.prefix)

    def not_found_text(self, root: str, path: str) -> str:
        """What a 404 page says: nothing here, and where htag-sse answers."""
        at = root + self.prefix
        return (f"404 Not Found: nothing at {path[:200]}\n\nhtag-sse answers its pages' requests under {at} "
                f"(interactions, streams, static files; {at}health for load balancers); the pages themselves are "
                "at the application's routes.\n")  # fmt: skip

    def page_not_found(self, fallback: ASGIApp) -> ASGIApp:
        """The application's 404 (Starlette's router default): the same plain page; ``fallback`` for websockets."""

        async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await fallback(scope, receive, send)
                return
            text = self.not_found_text(scope.get("root_path", ""), scope.get("path", ""))
            await Response(text, 404, {"Cache-Control": "no-store"}, "text/plain")(scope, receive, send)

        return not_found

    def is_health(self, path: str) -> bool:
        """The health check: answered (a JSON 503) even when this worker cannot take its lease."""
        return path == self.prefix + "health"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = scope.get("htag_sse.root")
        if root is not None and root != scope.get("root_path", ""):
            scope = {**scope, "root_path": root}  # reached through Starlette's Mount of <prefix>
        head = head_of(scope, self.settings)
        rest = head.path[len(self.prefix) :]
        method = "GET" if head.method == "HEAD" else head.method
        try:
            pid, _, action = rest.partition("/")
            endpoint = self._pid_routes.get((method, action)) if pid and action and "/" not in action else None
            if endpoint is not None:
                response = await endpoint(head, receive, pid, await self._session(scope, head))
            elif method == "GET" and rest.startswith("static/"):
                response = self.assets.serve(rest[len("static/") :], head)
            elif method == "GET" and rest == "health":
                response = await self.health()
            elif method == "GET" and rest == "metrics" and self.settings.metrics:
                response = Response(self.metrics.prometheus(), headers={"Cache-Control": "no-store"},
                                    media_type="text/plain; version=0.0.4")  # fmt: skip
            elif method == "GET" and rest in ("events", "poll"):
                follows = await self._follows(head, await self._session(scope, head))
                if rest == "events":
                    response = delivery.sse_response(follows, self.heartbeats, named=True)
                else:
                    response = await delivery.poll(follows, self.settings.poll_timeout_s, multi=True)
            elif method == "GET":  # a person or a misconfigured proxy: a plain page that says what is here
                response = (404, self.not_found_text(scope.get("root_path", ""), head.path).encode())
            else:
                raise RequestError(404, "not_found", f"nothing at {head.path[:80]}")
        except RequestError as e:
            self.metrics.counts[f"refused.{e.status}"] += 1
            log.debug("%s %s refused: %s %s", head.method, head.path, e.status, e.message)
            response = _error(e)
        except StoreError as e:
            self.metrics.counts["refused.503"] += 1
            log.warning("%s %s: the session store cannot answer: %s", head.method, head.path, e)
            response = _error(RequestError(503, "store_unavailable", "the server cannot reach its storage: try again"))
        if isinstance(response, EventStream):
            await self._stream(response, scope, receive, send, head)
        else:
            await self._send(response, scope, receive, send, head)

    async def _stream(self, response: EventStream, scope: Scope, receive: Receive, send: Send, head: Head) -> None:
        """An event stream, within the session's bound on this worker (as its pages are)."""
        session = scope.get("session")
        key = (session.sid if isinstance(session, Session) else None) or f"@{head.address}"
        if self._streams[key] >= self._max_streams:
            self.metrics.counts["refused.429"] += 1
            log.info("%s %s refused: %d event streams open for one session", head.method, head.path, self._max_streams)
            refused = RequestError(429, "too_many_streams", f"this session already holds {self._max_streams} event "
                                   "streams here (twice max_pages_per_session): close some tabs")  # fmt: skip
            await self._send(_error(refused), scope, receive, send, head)
            return
        self._streams[key] += 1
        try:
            await self._send(response, scope, receive, send, head)
        finally:
            self._streams[key] -= 1
            if not self._streams[key]:
                del self._streams[key]

    async def _send(self, response: Any, scope: Scope, receive: Receive, send: Send, head: Head) -> None:
        session = scope.get("session")
        extra = list(self._worker_header) if scope.get("htag_sse.direct") else []  # else WorkerHeader adds it
        if isinstance(session, Session):
            extra += session_headers(self.sessions, session, head, self.settings)
            scope["htag_sse.cookies"] = True  # not again by the session middleware around
        if isinstance(response, tuple):  # the hot path: (status, JSON body)
            status, body = response
            headers = [(b"content-type", b"application/json" if body[:1] in (b"{", b"[") else b"text/plain"),
                       (b"content-length", str(len(body)).encode()), *NO_STORE, *extra]  # fmt: skip
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if extra and isinstance(response, Response):
            response.raw_headers.extend(extra)
        await response(scope, receive, send)

    async def _session(self, scope: Scope, head: Head) -> Session:
        session = scope.get("session")
        if not isinstance(session, Session):
            sid, seen = head.sid(self.settings), head.seen_version(self.settings)
            session = scope["session"] = await self.sessions.identify(sid, head.address, seen)
        return session

    # ---------------------------------------------------------------- one page

    async def interact(self, head: Head, receive: Receive, pid: str, session: Session) -> tuple[int, bytes]:
        """The hot path: everything the head tells is checked before the body is read."""
        check_origin(head, self.settings)
        seq = head.checked_seq()
        ref = await self.locator.find(pid, session, head.sid(self.settings), head.token, check=True)
        try:
            body: bytes | RequestError = await self._body(receive, head.content_length)
        except RequestError as e:
            if e.status != 413:
                raise
            body = e  # the page was reached: the refusal uses up its number
        return await ref.interact(body, seq)

    async def _body(self, receive: Receive, declared: int | None) -> bytes:
        small, limit = self.settings.max_body_bytes, self.settings.max_interaction_bytes
        if declared is not None and declared > limit:
            raise _too_large(limit)
        if declared is not None and declared <= small:
            return await read_body(receive, small, self.settings.body_timeout_s)
        try:
            async with asyncio.timeout(self.settings.body_timeout_s):
                await self._big_reads.acquire()
        except TimeoutError:
            raise RequestError(503, "busy", "too many large bodies are being received: try again") from None
        try:
            return await read_body(receive, limit, self.settings.body_timeout_s)
        finally:
            self._big_reads.release()

    async def events(self, head: Head, receive: Receive, pid: str, session: Session) -> Any:
        query = QueryParams(head.query)
        after = head.last_event_id if head.last_event_id is not None else _count(query.get("last"))
        try:
            follow = await self._follow(pid, after, session, head)
        except RequestError as e:
            if e.status != 410:
                raise
            follow = Follow(None, after, pid)  # the stream says "gone": an EventSource client learns it too
        return delivery.sse_response([follow], self.heartbeats, named=False)

    async def poll(self, head: Head, receive: Receive, pid: str, session: Session) -> Response:
        follow = await self._follow(pid, _count(QueryParams(head.query).get("after")), session, head)
        return await delivery.poll([follow], self.settings.poll_timeout_s, multi=False)

    async def rerun(self, head: Head, receive: Receive, pid: str, session: Session) -> Response:
        check_origin(head, self.settings)
        await self.workers.start(self.locator.relay.deliver)
        try:
            page, fresh, old_key = await self.pages.rerun(pid, session, head.token)
        except InitError as e:
            return JSONResponse({"error": "init_error", "message": str(e)[:200]}, 500, {"Cache-Control": "no-store"})
        answer = {"page": page.pid, "token": page.token, "last": page.log.last, **fresh}
        if page.cipher is not None:
            answer["key"] = parano.b64(page.cipher.key)
        if old_key is not None:  # sealed with the key the browser has: the old page's
            return Response(parano.Cipher(old_key).seal(parano.RERUN, answer).encode(), 200,
                            {"Cache-Control": "no-store"}, "text/plain")  # fmt: skip
        return Response(dumps(answer).encode(), 200, {"Cache-Control": "no-store"}, "application/json")

    async def alive(self, head: Head, receive: Receive, pid: str, session: Session) -> Response:
        ref = await self.locator.find(pid, session, head.sid(self.settings))
        await ref.alive()
        return Response(status_code=204, headers={"Cache-Control": "no-store"})

    async def release(self, head: Head, receive: Receive, pid: str, session: Session) -> Response:
        """The tab unloads (``sendBeacon``: the token comes as the body): a GET of the same app
        from the same session may take this page over within the grace period."""
        check_origin(head, self.settings)
        token = head.token or (await read_body(receive, 200, self.settings.body_timeout_s)).decode("latin-1")
        ref = await self.locator.find(pid, session, head.sid(self.settings), token, check=True)
        await ref.release()
        return Response(status_code=204, headers={"Cache-Control": "no-store"})

    # ---------------------------------------------------------------- several pages

    async def _follow(self, pid: str, after: int | None, session: Session, head: Head) -> Follow:
        ref = await self.locator.find(pid[:64], session, head.sid(self.settings))
        if not ref.route.push:
            raise RequestError(404, "no_push", "this page has no push channel (transport 'none')")
        return Follow(ref, after, ref.pid)

    async def _follows(self, head: Head, session: Session) -> list[Follow]:
        """Pages named by ``p=<page id>:<last event id>`` (each once), all of the request's session."""
        wanted: dict[str, int | None] = {}
        for p in QueryParams(head.query).getlist("p"):
            pid, _, cursor = p.partition(":")
            wanted.setdefault(pid[:64], _count(cursor))
        if not wanted or len(wanted) > MAX_FOLLOWS:
            raise RequestError(400, "bad_pages", f"name 1 to {MAX_FOLLOWS} pages as p=<page id>:<last event id>")
        follows = []
        for pid, last in wanted.items():
            try:
                follows.append(await self._follow(pid, last, session, head))
            except RequestError as e:
                if e.status != 410:
                    raise
                follows.append(Follow(None, last, pid))  # gone: the stream or poll says so
        return follows

    async def health(self) -> Response:
        """For load balancers: 200 while this worker can serve (its store takes writes), 503 otherwise."""
        facts = {"worker": self.workers.me, "pid": os.getpid(), "pages": len(self.pages)}
        try:
            await self.sessions.store.check()
            if self.sessions.failing is not None:
                raise self.sessions.failing
        except StoreError as e:
            log.warning("health check: the store cannot take writes: %s", e)
            return JSONResponse(
                {"status": "error", "error": f"store: {e}"[:200], **facts}, 503, {"Cache-Control": "no-store"}
            )
        return JSONResponse({"status": "ok", **facts}, 200, {"Cache-Control": "no-store"})


def _count(raw: str | None) -> int | None:
    return parse_count(raw)


def _too_large(limit: int) -> RequestError:
    return RequestError(
        413, "too_large", f"body over the {limit} bytes limit (raise max_interaction_bytes to allow more)"
    )


def _error(e: RequestError) -> tuple[int, bytes]:
    return e.status, e.body()


async def read_body(receive: Receive, limit: int, timeout_s: float) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes, and with 408
    if it does not arrive within ``timeout_s`` (a slow client holds no worker resource for ever).
    A body already received (the usual small POST) costs no timer."""
    try:
        return await bounded(_read_body(receive, limit), timeout_s)
    except TimeoutError:
        raise RequestError(408, "body_timeout", f"the body did not arrive within {timeout_s:g} s") from None


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestError(400, "disconnected", "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        if not message.get("more_body", False):
            return chunk if not chunks else b"".join([*chunks, chunk])
        chunks.append(chunk)
