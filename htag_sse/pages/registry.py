"""The pages of this worker: creation (the one rendering), takeover on reload, lookup,
limits, expiry, and reruns of pages whose live instance is gone."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import sys
import time
from collections.abc import Callable
from typing import Any

from ..adapter import Adapter, AppClass, Init
from ..errors import RequestError
from ..eventlog import Feed
from ..metrics import Metrics
from ..security import check_token
from ..session import Session, Sessions
from ..settings import Route, Settings
from ..stores import Store
from .page import Page, current_page, track_tasks
from .record import RECORD_TTL_S, PageRecord, record_key

log = logging.getLogger("htag_sse")

#: At most this many released pages of a session are listed for a GET on another worker to take over.
MAX_RELEASED = 4
#: Builds the page's boot script from (page id, page token, parano key or None, last event id).
Boot = Callable[[str, str, "bytes | None", int], str]
#: A reload names the page its tab held: (page id, page token).
Reload = tuple[str, str]
#: Renders a page's whole document for a request under a root path (the scripts' URLs and boot call).
Render = Callable[[Page, str], str]


def released_key(sid: str) -> str:
    return "rel:" + sid


def app_ref(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


class Pages:
    """Every live page of this worker, by id.

    Page ids start with the worker id (``me()``), so any worker can tell a
    page's owner. Each page also leaves a small record in the store (session,
    app, init arguments, route options; JSON) so that, once its live instance
    is gone, the app can be rerun.
    """

    def __init__(self, settings: Settings, adapter: Adapter, sessions: Sessions, store: Store, metrics: Metrics,
                 me: Callable[[], str], feed: Feed | None = None) -> None:  # fmt: skip
        self.settings = settings
        self.adapter = adapter
        self.feed = feed
        self.sessions = sessions
        self.store = store
        self.metrics = metrics
        self.me = me
        self._pages: dict[str, Page] = {}
        self._by_sid: dict[str, list[Page]] = {}
        self._classes: dict[str, AppClass] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._hinted = False
        metrics.gauges.update(pages_open=lambda: len(self._pages),
                              streams_open=lambda: sum(p.streams for p in self._pages.values()))  # fmt: skip

    def __len__(self) -> int:
        return len(self._pages)

    def __iter__(self) -> Any:
        return iter(list(self._pages.values()))

    def get(self, pid: str) -> Page | None:
        return self._pages.get(pid)

    def register(self, cls: AppClass) -> str:
        """Remember an app class, so pages of it can be rerun."""
        if not self.adapter.is_app(cls):
            raise TypeError(f"an htag app must be a subclass of htag.Tag, got {cls!r}")
        ref = app_ref(cls)
        self._classes[ref] = cls
        return ref

    async def create(self, cls: AppClass, session: Session, init: Init, route: Route) -> Page:
        """A new page of ``cls`` (render it with :meth:`render`: the one and only full rendering)."""
        return await self._new(cls, session, init, route)

    def render(self, page: Page, head: str, boot: Boot) -> str:
        """The page's whole HTML document (a new page's, or one taken over by a reload)."""
        key = page.cipher.key if page.cipher else None
        token = current_page.set(page)
        try:
            return page.live().document(head, boot(page.pid, page.token, key, page.log.last))
        finally:
            current_page.reset(token)

    async def _new(self, cls: AppClass, session: Session, init: Init, route: Route) -> Page:
        """A new page; a new visitor's session and the page's record are stored in one write."""
        fresh = session.sid is None
        if fresh:
            self.sessions.admit(session)  # 429 before any of the app's code runs
        else:
            await self.sessions.ensure(session)
        pid = f"{self.me()}.{secrets.token_urlsafe(12)}"
        page = Page(pid, session, self.settings, route, self.register(cls), init, self.sessions, self.metrics,
                    self.feed)  # fmt: skip
        track_tasks(asyncio.get_running_loop())
        token = current_page.set(page)
        try:
            page.instance = self.adapter.start(cls, init, session, page.push if route.push else None,
                                               debug=route.debug)  # fmt: skip
        finally:
            current_page.reset(token)
        if fresh:
            try:
                await self.sessions.create_with(session, lambda sid: {record_key(pid): self._record_of(page, sid)})
            except BaseException:
                page.close()
                session.discard()
                raise
        else:
            await self._record(page)
        self._add(page, session.sid or "")
        self.sessions.save(session)  # what the app's code wrote meanwhile (nothing, usually)
        await self.sessions.settle(session)
        self.metrics.event("page.created", page=pid, app=page.app_ref)
        return page

    async def _record(self, page: Page) -> None:
        """What other workers and a rerun need (data only: JSON)."""
        await self.store.set(record_key(page.pid), *self._record_of(page, page.session.sid))

    @staticmethod
    def _record_of(page: Page, sid: str | None) -> tuple[bytes, float]:
        record = PageRecord(sid, page.app_ref, page.init, page.token, page.route,
                            page.cipher.key if page.cipher else None, page.tokens_before)  # fmt: skip
        return record.encode(), RECORD_TTL_S

    async def take_over(self, sid: str, app: str, init: Init, pid: str | None, token: str | None) -> Page | None:
        """The page of session ``sid`` a GET of ``app`` with ``init`` takes over, here: page ``pid`` if
        ``token`` is its token (a reloading tab names it); else, its tab having released it, page ``pid``
        (``None``: the last one released). It gets a new token; its tab's old token says "taken over"."""
        same = [p for p in self._by_sid.get(sid, ()) if not p.closed and p.app_ref == app and p.init == init]
        if token is not None:
            chosen = next((p for p in same if p.pid == pid and _same(p.token, token)), None)
        else:
            released = [p for p in same if p.released_at is not None and pid in (None, p.pid)]
            chosen = max(released, key=lambda p: p.released_at or 0) if released else None
        if chosen is not None:
            chosen.renew()
            await self._record(chosen)
            self.metrics.event("page.taken_over", page=chosen.pid, app=app)
        return chosen

    async def release(self, page: Page) -> None:
        """Its tab unloads: a GET of the same app from the same session, on any worker, may take the page
        over within the grace period (the session's released pages are listed in the store)."""
        page.released_at = time.monotonic()
        sid = page.session.sid
        if sid is None:
            return
        listed = [entry for entry in await self.released_pages(sid) if entry[0] != page.pid]
        listed = [*listed[-(MAX_RELEASED - 1) :], (page.pid, page.app_ref, page.init)]
        data = [[pid, app, [list(init[0]), init[1]]] for pid, app, init in listed]
        await self.store.set(released_key(sid), json.dumps(data).encode(), self.settings.grace_s)
        log.debug("page %s released by its tab", page.pid)

    async def released_pages(self, sid: str) -> list[tuple[str, str, Init]]:
        """The session's pages released lately (on any worker), oldest first: (page id, app, init)."""
        raw = await self.store.get(released_key(sid))
        try:
            return [
                (str(pid), str(app), (tuple(init[0]), dict(init[1]))) for pid, app, init in json.loads(raw or b"[]")
            ]
        except (ValueError, TypeError, IndexError):
            return []

    async def rerun(
        self, old_pid: str, session: Session, token: str | None
    ) -> tuple[Page, dict[str, Any], bytes | None]:
        """Recreate a page whose live instance is gone, from its record and the session.

        Returns the new page, its body (rendered once), and in parano mode the
        old page's key (the browser reads the answer with it).
        """
        record = PageRecord.decode(await self.store.get(record_key(old_pid)))
        if record is None or record.sid != session.sid:
            raise RequestError(410, "page_gone", f"page {old_pid} is gone and cannot be rerun: reload")
        check_token(record.token, token)
        page = await self._new(self._resolve(record.app), session, record.init, record.route)
        await self.store.delete(record_key(old_pid))
        self.metrics.event("page.rerun", page=page.pid, old=old_pid, app=page.app_ref)
        return page, page.refresh(), record.key

    def drop(self, page: Page, reason: str, stopping: bool = False) -> None:
        page.close(stopping)
        self._pages.pop(page.pid, None)
        sid = page.session.sid or ""
        same = self._by_sid.get(sid)
        if same and page in same:
            same.remove(page)
            if not same:
                del self._by_sid[sid]
        self.metrics.event("page.dropped", page=page.pid, reason=reason)
        if not page.connected and not stopping and not self._hinted:
            self._hinted = True  # once per worker: a hint, not an alarm (bots fetch pages without scripts)
            log.info(
                "page %s was never connected by its browser: if the app is behind a proxy with a path prefix, "
                "give the server that prefix as root_path (docs/deploy.md)",
                page.pid,
            )

    async def own_session(self, page: Page, sid: str | None, cookie_sid: str | None) -> None:
        """The request's session must be the page's (or what it was rotated to, at a login/logout).
        A request with no live session gets 410 (the tab reloads): its session expired."""
        if page.session.sid == sid:
            return
        if sid is not None and page.session.sid and await self.sessions.rotated_to(page.session.sid) == sid:
            self.drop(page, "its session changed hands (a login or a logout)")  # never handed on
            raise RequestError(410, "session_changed", "you logged in or out since this page opened: reload")
        if sid is None:
            if page.session.sid and not await self.sessions.exists(page.session.sid):
                self.drop(page, "its session expired")
            raise RequestError(410, "session_expired", "this page's session expired: reload")
        log.info("request for page %s from another session refused", page.pid)
        raise RequestError(403, "foreign_page", "this page belongs to another session")

    async def drop_taken(self) -> set[str]:
        """Back from a stall: drop the pages another worker took meanwhile (their record is gone: they
        were rerun there). The sessions of those pages, whose writes must not land."""
        sessions: set[str] = set()
        taken = [p for p in list(self._pages.values()) if not p.closed and not await self.store.get(record_key(p.pid))]
        for page in taken:
            sessions.add(page.session.sid or "")
            self.drop(page, "another worker took it while this one was stalled")
        if taken:
            log.warning("%d page(s) of this worker were taken by another worker while it was stalled: dropped here, "
                        "%d kept", len(taken), len(self._pages))  # fmt: skip
        return sessions

    def end_session(self, sid: str, reason: str) -> int:
        """A session ended (logout, a login, its id rotated): its pages go, never handed on. How many went."""
        pages = [p for p in self._by_sid.get(sid, ()) if not p.closed]
        for page in pages:
            self.drop(page, reason)
        return len(pages)

    def drop_all(self, reason: str, stopping: bool = False) -> None:
        for page in list(self._pages.values()):
            self.drop(page, reason, stopping)

    async def close_all(self) -> None:
        """Server shutdown: end every stream and task (records stay, for reruns), write pending sessions."""
        if self._reaper:
            self._reaper.cancel()
            self._reaper = None
        self.drop_all("server stopping", stopping=True)
        await self.sessions.flush()

    def expire(self, now: float) -> None:
        """Drop pages disconnected longer than ``grace_s`` or idle past ``timeout_inactivity``."""
        grace = self.settings.grace_s
        for page in list(self._pages.values()):
            idle = page.route.timeout_inactivity
            if page.streams == 0 and now - page.seen_at > grace:
                self.drop(page, f"disconnected for {grace:g} s")
            elif idle and now - page.acted_at > idle:
                self.drop(page, f"no interaction for {idle:g} s")

    def _add(self, page: Page, sid: str) -> None:
        limit = self.settings.max_pages_per_session
        while len(self._by_sid.get(sid, ())) >= limit:
            oldest = self._by_sid[sid][0]
            self.drop(oldest, f"session has more than {limit} pages")
            asyncio.get_running_loop().create_task(self.store.delete(record_key(oldest.pid)))  # no rerun of it
        self._by_sid.setdefault(sid, []).append(page)
        self._pages[page.pid] = page
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap(), name="htag-sse reaper")

    async def _reap(self) -> None:
        tick = min(self.settings.grace_s / 4, 5.0)
        while self._pages:
            await asyncio.sleep(tick)
            self.expire(time.monotonic())

    def _resolve(self, ref: str) -> AppClass:
        cls = self._classes.get(ref)
        if cls is None:  # an app defined in an already imported module (never import new code)
            module, _, qualname = ref.partition(":")
            obj: Any = sys.modules.get(module)
            for part in qualname.split("."):
                obj = getattr(obj, part, None)
            if not self.adapter.is_app(obj):
                raise RequestError(410, "page_gone", f"app {ref} is not loaded here: reload")
            cls = obj
        return cls


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
