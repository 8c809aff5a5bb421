"""Where a page lives, behind one seam: a :class:`PageRef` to a page of this worker
(:class:`LocalRef`) or of another worker or host (:class:`RemoteRef`), offering the
same interact / events / alive / release. The :class:`Locator` finds a page and
checks, from the request's head, that the request may touch it; the :class:`Owner`
answers the calls other workers relay to this one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Protocol

from .errors import RequestError
from .eventlog import Events, Feed
from .page import Page
from .pages import Pages
from .relay import Relay
from .security import check_token
from .session import Session
from .settings import Route
from .stores import Store
from .workers import Workers

log = logging.getLogger("htag_sse")

GONE = "this page is gone (server restarted or page expired): rerun it"
#: A stream of a page held by another host asks whether its owner still lives this often.
FEED_SLICE_S = 2.0
#: Extra time a relayed interaction may take beyond its route's ``timeout_interaction``.
RELAY_MARGIN_S = 10.0


class PageRef(Protocol):
    pid: str
    route: Route
    page: Page | None  # the live page when it is this worker's (streams listen to it directly)

    async def interact(self, body: bytes | RequestError, seq: int | None) -> tuple[int, bytes]: ...

    async def events(self, cursor: int | None, timeout_s: float) -> Events | None:
        """Events after ``cursor`` (``None``: a full refresh), waiting up to ``timeout_s`` for one;
        ``None`` once the page is gone."""
        ...

    async def alive(self) -> None: ...

    async def release(self) -> None: ...


class LocalRef:
    __slots__ = ("page", "pid", "route")

    def __init__(self, page: Page) -> None:
        self.page: Page | None = page
        self.pid = page.pid
        self.route = page.route

    async def interact(self, body: bytes | RequestError, seq: int | None) -> tuple[int, bytes]:
        assert self.page is not None
        return await self.page.answer(body, seq)

    async def events(self, cursor: int | None, timeout_s: float) -> Events | None:
        page = self.page
        assert page is not None
        if cursor is not None and not page.closed:
            await page.log.wait(cursor, timeout_s)
        return None if page.closed else news(page, cursor)

    async def alive(self) -> None:
        return None

    async def release(self) -> None:
        assert self.page is not None
        self.page.released_at = time.monotonic()


def news(page: Page, cursor: int | None) -> Events:
    """A page's events after ``cursor``, or one full refresh when they are not all kept."""
    batch = page.log.since(cursor) if cursor is not None else None
    if batch is None:
        last = page.log.last
        batch = [(last, page.event_data(last, page.refresh()))]
    return batch


class RemoteRef:
    """A page held by another worker: calls relayed to its owner; events from the feed, or relayed."""

    __slots__ = ("feed", "owner", "page", "pid", "relay", "route", "sid", "token")

    def __init__(self, pid: str, owner: str, sid: str | None, token: str | None, route: Route,
                 relay: Relay, feed: Feed | None) -> None:  # fmt: skip
        self.pid, self.owner, self.sid, self.token, self.route = pid, owner, sid, token, route
        self.relay, self.feed = relay, feed  # the relay's workers tell whether the owner lives
        self.page: Page | None = None

    def _call(self, **payload: Any) -> dict[str, Any]:
        return {"pid": self.pid, "sid": self.sid, **payload}

    async def interact(self, body: bytes | RequestError, seq: int | None) -> tuple[int, bytes]:
        if isinstance(body, RequestError):
            body_text: Any = {"refused": [body.status, body.code, body.message]}
        else:
            body_text = body
        answer = await self.relay.call(self.owner, "interact", self._call(token=self.token, seq=seq, body=body_text),
                                       self.route.timeout_interaction + RELAY_MARGIN_S)  # fmt: skip
        return int(answer["status"]), answer["body"]

    async def events(self, cursor: int | None, timeout_s: float) -> Events | None:
        if self.feed is not None and cursor is not None:
            loop = asyncio.get_running_loop()
            end = loop.time() + timeout_s
            while True:  # in slices: a dead owner (no more events) is noticed within a slice
                found = await self.feed.read(self.pid, cursor, min(FEED_SLICE_S, max(0.0, end - loop.time())))
                if found is None:
                    break
                if found:
                    return found
                if not await self.relay.workers.alive(self.owner):
                    return None  # its owner died: the page is gone (the client reruns it)
                if loop.time() >= end:
                    return found
            # Not in the feed (trimmed, expired, or the store lost its data): the owner's own
            # backlog decides — the events after the cursor, or a full refresh.
        try:
            answer = await self.relay.call(self.owner, "events", self._call(cursor=cursor, timeout_s=timeout_s),
                                           timeout_s + RELAY_MARGIN_S)  # fmt: skip
        except RequestError as e:
            if e.status == 410:
                return None
            raise
        return [(int(i), str(d)) for i, d in answer["events"]]

    async def alive(self) -> None:
        await self.relay.call(self.owner, "alive", self._call(), RELAY_MARGIN_S)

    async def release(self) -> None:
        await self.relay.call(self.owner, "release", self._call(token=self.token), RELAY_MARGIN_S)


class Locator:
    """Finds the page a request names and checks the request may touch it: its session
    (following a rotated session id), and for POSTs its token — all from the head."""

    def __init__(self, pages: Pages, store: Store, workers: Workers, relay: Relay, feed: Feed | None) -> None:
        self.pages, self.store, self.workers, self.relay, self.feed = pages, store, workers, relay, feed
        self._records: dict[str, dict[str, Any]] = {}

    async def find(self, pid: str, session: Session, cookie_sid: str | None, token: str | None = None,
                   check: bool = False) -> PageRef:  # fmt: skip
        """The page ``pid`` for this request; with ``check``, ``token`` must be the page's."""
        page = self.pages.get(pid)
        if page is not None and not page.closed:
            await self.workers.ensure_valid()
        page = self.pages.get(pid)
        if page is not None and not page.closed:
            await self.pages.own_session(page, session.sid, cookie_sid)
            if check:
                if token is not None and token in page.tokens_before:  # a tab back from the back/forward cache
                    raise RequestError(410, "page_taken", "this page was taken over by a reload of its tab: reload")
                check_token(page.token, token)
            page.seen_at = time.monotonic()
            page.released_at = None  # its tab is still there (back from the back/forward cache)
            page.connected = True
            return LocalRef(page)
        owner = Workers.owner_of(pid)
        if owner == self.workers.me or not owner or not await self.workers.alive(owner):
            raise RequestError(410, "page_gone", GONE)
        record = await self._record(pid, refresh=False)
        if check and record is not None and record.get("token") != token:
            record = await self._record(pid, refresh=True)  # taken over by a reload since: a new token
        if record is None:
            raise RequestError(410, "page_gone", GONE)
        if session.sid is None and record["sid"] is not None:
            raise RequestError(410, "session_expired", "this page's session expired: reload")
        rotated = session.sid and await self.pages.sessions.rotated_to(record["sid"]) == session.sid
        if record["sid"] != session.sid and not rotated:
            log.info("request for page %s from another session refused", pid)
            raise RequestError(403, "foreign_page", "this page belongs to another session")
        if check:
            check_token(str(record["token"]), token)
        return RemoteRef(pid, owner, session.sid, token, Route.from_dict(record["route"]), self.relay, self.feed)

    async def _record(self, pid: str, refresh: bool) -> dict[str, Any] | None:
        record = None if refresh else self._records.get(pid)
        if record is None:
            raw = await self.store.get("p:" + pid)
            record = json.loads(raw) if raw else None
            if record is not None:
                if len(self._records) > 4096:
                    self._records.clear()
                self._records[pid] = record
        return record


class Owner:
    """This worker's side of the calls other workers relay for its pages (the same checks)."""

    def __init__(self, pages: Pages, workers: Workers) -> None:
        self.pages, self.workers = pages, workers

    def handlers(self) -> dict[str, Any]:
        return {"interact": self.interact, "events": self.events, "alive": self.alive, "release": self.release}

    async def _page(self, call: dict[str, Any]) -> Page:
        await self.workers.ensure_valid()
        page = self.pages.get(str(call.get("pid")))
        if page is None or page.closed:
            raise RequestError(410, "page_gone", GONE)
        await self.pages.own_session(page, call.get("sid"), None)
        page.seen_at = time.monotonic()
        page.connected = True
        return page

    async def interact(self, call: dict[str, Any]) -> dict[str, Any]:
        page = await self._page(call)
        check_token(page.token, call.get("token"))
        await self.pages.sessions.refresh(page.session)  # the relaying worker may have written it
        body = call.get("body")
        if isinstance(body, dict) and "refused" in body:
            status, code, text = body["refused"]
            body = RequestError(int(status), str(code), str(text))
        status, reply = await page.answer(body if isinstance(body, (bytes, RequestError)) else b"", call.get("seq"))
        return {"status": status, "body": reply}

    async def events(self, call: dict[str, Any]) -> dict[str, Any]:
        page = await self._page(call)
        cursor = call.get("cursor")
        found = await LocalRef(page).events(cursor if isinstance(cursor, int) else None, float(call["timeout_s"]))
        if found is None:
            raise RequestError(410, "page_gone", GONE)
        return {"events": found}

    async def alive(self, call: dict[str, Any]) -> dict[str, Any]:
        await self._page(call)
        return {}

    async def release(self, call: dict[str, Any]) -> dict[str, Any]:
        page = await self._page(call)
        check_token(page.token, call.get("token"))
        page.released_at = time.monotonic()
        return {}
