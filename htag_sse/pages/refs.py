"""Where a page lives, behind one seam: a :class:`PageRef` to a page of this worker
(:class:`LocalRef`) or of another worker or host (:class:`RemoteRef`), offering the
same interact / events / alive / release. :mod:`~htag_sse.pages.locator` finds them;
:mod:`~htag_sse.pages.owner` answers what other workers relay to this one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from ..errors import RequestError
from ..eventlog import Events, Feed
from ..relay import Relay
from ..session import Session, Sessions
from ..settings import Route
from .call import PageCall, events_reply, interact_reply
from .page import Page
from .registry import Pages

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
    __slots__ = ("page", "pages", "pid", "route")

    def __init__(self, page: Page, pages: Pages) -> None:
        self.page: Page | None = page
        self.pages = pages
        self.pid = page.pid
        self.route = page.route

    async def interact(self, body: bytes | RequestError, seq: int | None) -> tuple[int, bytes]:
        assert self.page is not None
        await self.pages.sessions.refresh(self.page.session)  # what another worker wrote meanwhile
        return await self.page.answer(body, seq)

    async def events(self, cursor: int | None, timeout_s: float) -> Events | None:
        page = self.page
        assert page is not None
        if cursor is not None and not page.closed:
            await page.log.wait(cursor, timeout_s)
        return None if page.closed else page.news(cursor)

    async def alive(self) -> None:
        return None

    async def release(self) -> None:
        assert self.page is not None
        await self.pages.release(self.page)


class RemoteRef:
    """A page held by another worker: calls relayed to its owner; events from the feed, or relayed."""

    __slots__ = ("feed", "owner", "page", "pid", "relay", "route", "session", "sid", "token")

    def __init__(self, pid: str, owner: str, session: Session, token: str | None, route: Route,
                 relay: Relay, feed: Feed | None) -> None:  # fmt: skip
        self.pid, self.owner, self.session, self.sid, self.token = pid, owner, session, session.sid, token
        self.route = route
        self.relay, self.feed = relay, feed  # the relay's workers tell whether the owner lives
        self.page: Page | None = None

    async def _call(self, kind: str, call: PageCall, timeout_s: float) -> dict[str, Any]:
        return await self.relay.call(self.owner, kind, call.to_payload(), timeout_s)

    async def interact(self, body: bytes | RequestError, seq: int | None) -> tuple[int, bytes]:
        session = self.session
        call = PageCall(self.pid, self.sid, self.token, seq, body, seen=Sessions.newest(session))
        answer = await self._call("interact", call, self.route.timeout_interaction + RELAY_MARGIN_S)
        status, reply, version = interact_reply(answer)
        if session.sid == self.sid and version > session.told:
            session.told = version  # what the click wrote: this answer tells the browser (its version cookie)
        return status, reply

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
            call = PageCall(self.pid, self.sid, cursor=cursor, timeout_s=timeout_s)
            answer = await self._call("events", call, timeout_s + RELAY_MARGIN_S)
        except RequestError as e:
            if e.status == 410:
                return None
            raise
        return events_reply(answer)

    async def alive(self) -> None:
        await self._call("alive", PageCall(self.pid, self.sid), RELAY_MARGIN_S)

    async def release(self) -> None:
        await self._call("release", PageCall(self.pid, self.sid, self.token), RELAY_MARGIN_S)
