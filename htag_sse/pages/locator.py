"""Finding the page a request names, and checking from the request's head that it may touch it."""

from __future__ import annotations

import logging
import time

from ..adapter import Init
from ..errors import RequestError
from ..eventlog import Feed
from ..relay import Relay
from ..security import check_token
from ..session import Session, Sessions
from ..stores import Store
from ..workers import Workers
from .call import TakeoverCall, html_reply
from .page import TAKEN
from .record import PageRecord, record_key
from .refs import GONE, RELAY_MARGIN_S, LocalRef, PageRef, RemoteRef
from .registry import Pages, Reload, Render

log = logging.getLogger("htag_sse")


class Locator:
    """Finds the page a request names, on whichever worker it lives, and checks the request may touch
    it (its session; for POSTs its token), all from the head; hands a reloading tab its page."""

    def __init__(self, pages: Pages, store: Store, workers: Workers, relay: Relay, feed: Feed | None,
                 render: Render) -> None:  # fmt: skip
        self.pages, self.store, self.workers, self.relay, self.feed = pages, store, workers, relay, feed
        self.render = render
        self._records: dict[str, PageRecord] = {}

    async def take_over(self, session: Session, app: str, init: Init, reload: Reload | None, root: str) -> str | None:
        """The HTML of the page a GET of ``app`` takes over (the same live instance, rendered anew, with a
        new token), wherever it lives: the page its reloading tab names, else the last page of the session
        its tab released. ``None``: nothing to take over (a new page, or the owner is gone: a rerun)."""
        sid = session.sid
        if sid is None:
            return None
        if reload is None:  # a page released here, else one released on another worker
            page = await self.pages.take_over(sid, app, init, None, None)
            if page is not None:
                return self.render(page, root)
            if self.workers.alone:
                return None
            found = [pid for pid, a, i in await self.pages.released_pages(sid) if a == app and i == init]
            wanted: list[tuple[str, str | None]] = [
                (p, None) for p in reversed(found) if Workers.owner_of(p) != self.workers.me
            ]
        else:
            wanted = [(reload[0], reload[1])]
        for pid, token in wanted:
            owner = Workers.owner_of(pid)
            if owner == self.workers.me:
                page = await self.pages.take_over(sid, app, init, pid, token)
                if page is not None:
                    return self.render(page, root)
            elif owner and await self.workers.alive(owner):
                self.pages.metrics.event("page.takeover.relayed", page=pid, owner=owner)
                call = TakeoverCall(pid, sid, app, init, token, root, Sessions.newest(session))
                try:
                    answer = await self.relay.call(owner, "takeover", call.to_payload(), RELAY_MARGIN_S)
                except RequestError as e:
                    log.debug("page %s was not handed over by worker %s: %s", pid, owner, e.message)
                    continue
                return html_reply(answer)
        return None

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
                page.check_token(token)
            page.seen_at = time.monotonic()
            page.released_at = None  # its tab is still there (back from the back/forward cache)
            page.connected = True
            return LocalRef(page, self.pages)
        owner = Workers.owner_of(pid)
        if owner == self.workers.me or not owner or not await self.workers.alive(owner):
            raise RequestError(410, "page_gone", GONE)
        record = await self._record(pid, refresh=False)
        if check and record is not None and record.token != token:
            record = await self._record(pid, refresh=True)  # taken over by a reload since: a new token
        if record is None:
            raise RequestError(410, "page_gone", GONE)
        if session.sid is None and record.sid is not None:
            raise RequestError(410, "session_expired", "this page's session expired: reload")
        if record.sid != session.sid:
            if session.sid and record.sid and await self.pages.sessions.rotated_to(record.sid) == session.sid:
                raise RequestError(410, "session_changed", "you logged in or out since this page opened: reload")
            log.info("request for page %s from another session refused", pid)
            raise RequestError(403, "foreign_page", "this page belongs to another session")
        if check:
            if token is not None and token in record.before:  # a tab back from the back/forward cache
                raise RequestError(410, "page_taken", TAKEN)
            check_token(record.token, token)
        return RemoteRef(pid, owner, session, token, record.route, self.relay, self.feed)

    async def _record(self, pid: str, refresh: bool) -> PageRecord | None:
        record = None if refresh else self._records.get(pid)
        if record is None:
            record = PageRecord.decode(await self.store.get(record_key(pid)))
            if record is not None:
                if len(self._records) > 4096:
                    self._records.clear()
                self._records[pid] = record
        return record
