"""Finding the page a request names, and checking from the request's head that it may touch it."""

from __future__ import annotations

import logging
import time

from ..errors import RequestError
from ..eventlog import Feed
from ..relay import Relay
from ..security import check_token
from ..session import Session
from ..stores import Store
from ..workers import Workers
from .record import PageRecord, record_key
from .refs import GONE, LocalRef, PageRef, RemoteRef
from .registry import Pages

log = logging.getLogger("htag_sse")


class Locator:
    """Finds the page a request names and checks the request may touch it: its session
    (following a rotated session id), and for POSTs its token — all from the head."""

    def __init__(self, pages: Pages, store: Store, workers: Workers, relay: Relay, feed: Feed | None) -> None:
        self.pages, self.store, self.workers, self.relay, self.feed = pages, store, workers, relay, feed
        self._records: dict[str, PageRecord] = {}

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
        if check and record is not None and record.token != token:
            record = await self._record(pid, refresh=True)  # taken over by a reload since: a new token
        if record is None:
            raise RequestError(410, "page_gone", GONE)
        if session.sid is None and record.sid is not None:
            raise RequestError(410, "session_expired", "this page's session expired: reload")
        rotated = session.sid and record.sid and await self.pages.sessions.rotated_to(record.sid) == session.sid
        if record.sid != session.sid and not rotated:
            log.info("request for page %s from another session refused", pid)
            raise RequestError(403, "foreign_page", "this page belongs to another session")
        if check:
            check_token(record.token, token)
        return RemoteRef(pid, owner, session.sid, token, record.route, self.relay, self.feed)

    async def _record(self, pid: str, refresh: bool) -> PageRecord | None:
        record = None if refresh else self._records.get(pid)
        if record is None:
            record = PageRecord.decode(await self.store.get(record_key(pid)))
            if record is not None:
                if len(self._records) > 4096:
                    self._records.clear()
                self._records[pid] = record
        return record
