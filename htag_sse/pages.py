"""The pages of this process: creation (the one rendering), lookup, limits, expiry and reruns."""

from __future__ import annotations

import asyncio
import hmac
import logging
import pickle
import secrets
import sys
import time
from collections.abc import Callable
from typing import Any

from htag import Tag
from htag.render import HRenderer

from . import adapter
from .errors import RequestError
from .metrics import Metrics
from .page import Page, current_page, track_tasks
from .session import Session, Sessions
from .settings import Settings
from .stores import Store
from .workers import Workers

log = logging.getLogger("htag_sse")

Init = tuple[tuple[Any, ...], dict[str, Any]]
#: How long a page's record (for a rerun) outlives its creation: a tab left
#: longer than this reloads instead of rerunning.
RECORD_TTL_S = 86400.0
#: Builds the page's boot script from (page id, page token, parano key or None, last event id).
Boot = Callable[[str, str, "bytes | None", int], str]
#: A reload names the page its tab held: (page id, page token).
Reload = tuple[str, str]


def app_ref(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


class Pages:
    """Every live page of this worker, by id.

    Page ids start with the worker id, so any worker can tell a page's owner.
    Each page also leaves a small record in the store (session, app, init
    args) so that, once its live instance is gone, the app can be rerun.
    """

    def __init__(self, settings: Settings, sessions: Sessions, store: Store, workers: Workers) -> None:
        self.settings = settings
        self.sessions = sessions
        self.store = store
        self.workers = workers
        self.metrics = Metrics()
        self.metrics.gauges.update(pages_open=lambda: len(self._pages), sessions_live=lambda: len(self.sessions),
                                   streams_open=lambda: sum(p.streams for p in self._pages.values()))  # fmt: skip
        self._pages: dict[str, Page] = {}
        self._by_sid: dict[str, list[Page]] = {}
        self._classes: dict[str, type[Tag]] = {}
        self._statics: dict[type[Tag], tuple[type[Tag], list[Tag]]] = {}
        self._reaper: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, pid: str) -> Page | None:
        return self._pages.get(pid)

    def register(self, cls: type[Tag]) -> str:
        """Remember an app class, so pages of it can be rerun."""
        if not (isinstance(cls, type) and issubclass(cls, Tag)):
            raise TypeError(f"an htag app must be a subclass of htag.Tag, got {cls!r}")
        ref = app_ref(cls)
        self._classes[ref] = cls
        return ref

    def create(
        self, cls: type[Tag], session: Session, init: Init, settings: Settings, head: list[Tag], boot: Boot,
        reload: Reload | None = None,
    ) -> tuple[Page, str]:
        """Create a page and render it: the one and only full rendering.

        A reload of a tab (``reload``), or a GET of a page its tab released, takes
        that page over instead: the same live instance, rendered again.
        """  # fmt: skip
        taken = self._takeover(cls, session, init, reload)
        if taken is not None:
            return taken, self._render_again(taken, head, boot)
        sid = self.sessions.ensure(session)
        pid = f"{self.workers.me}.{secrets.token_urlsafe(12)}"
        page = Page(pid, secrets.token_urlsafe(16), session, settings, self.register(cls), init, self.sessions, self.metrics)
        track_tasks(asyncio.get_running_loop())
        token = current_page.set(page)
        try:
            page.hr = self._renderer(cls, page, head, boot(pid, page.token, page.cipher.key if page.cipher else None, 0))
            html = str(page.hr)
        finally:
            current_page.reset(token)
        page.hr._statics = []  # only needed for this first rendering: saves ~35 KB per page
        self._add(page, sid)
        self._record(page)
        self.sessions.save(session)
        self.metrics.event("page.created", page=pid, app=page.app_ref)
        return page, html

    def _record(self, page: Page) -> None:
        """What a rerun needs, once the live instance is gone."""
        record = {"sid": page.session.sid, "app": page.app_ref, "init": page.init, "token": page.token,
                  "route": _route(page.settings), "key": page.cipher.key if page.cipher else None}  # fmt: skip
        self.store.set("p:" + page.pid, pickle.dumps(record), RECORD_TTL_S)

    def _takeover(self, cls: type[Tag], session: Session, init: Init, reload: Reload | None) -> Page | None:
        """The page this GET may take over: the one the reloading tab names (with its token),
        else the last one its tab released — of the same session, app and init arguments."""
        if session.sid is None:
            return None
        ref = app_ref(cls)
        same = [p for p in self._by_sid.get(session.sid, ()) if not p.closed and p.app_ref == ref and p.init == init]
        named = [p for p in same if reload and p.pid == reload[0] and hmac.compare_digest(p.token, reload[1])]
        released = sorted((p for p in same if p.released_at is not None), key=lambda p: p.released_at or 0)
        chosen = named[0] if named else released[-1] if released else None
        if chosen is not None:
            chosen.renew()
            self._record(chosen)
            self.metrics.event("page.taken_over", page=chosen.pid, app=ref)
        return chosen

    def _render_again(self, page: Page, head: list[Tag], boot: Boot) -> str:
        hr = page._live()
        cls = self._classes[page.app_ref]
        statics = [*head, *self._statics[cls][1]]
        script = boot(page.pid, page.token, page.cipher.key if page.cipher else None, page.log.last)
        token = current_page.set(page)
        try:
            return adapter.document(hr, statics, script)
        finally:
            current_page.reset(token)

    def rerun(self, old_pid: str, session: Session, token: str | None, head: list[Tag], boot: Boot) -> tuple[Page, bytes | None]:
        """Recreate a page whose live instance is gone, from its record and the session.

        Returns the new page and, in parano mode, the old page's key (the
        browser reads the answer with it).
        """
        blob = self.store.get("p:" + old_pid)
        record = pickle.loads(blob) if blob else None
        if not record or record["sid"] != session.sid:
            raise RequestError(410, "page_gone", f"page {old_pid} is gone and cannot be rerun: reload")
        if not token or not hmac.compare_digest(record["token"], token):
            raise RequestError(403, "bad_token", "missing or wrong page token (X-Htag-Token)")
        cls = self._resolve(record["app"])
        settings = self.settings.for_route(**record["route"])
        page, _ = self.create(cls, session, record["init"], settings, head, boot)
        self.store.delete("p:" + old_pid)
        self.metrics.event("page.rerun", page=page.pid, old=old_pid, app=page.app_ref)
        return page, record.get("key")

    def drop(self, page: Page, reason: str, stopping: bool = False) -> None:
        page.close(stopping)
        self._pages.pop(page.pid, None)
        same = self._by_sid.get(page.session.sid or "")
        if same and page in same:
            same.remove(page)
            if not same:
                del self._by_sid[page.session.sid or ""]
        self.metrics.event("page.dropped", page=page.pid, reason=reason)

    def close_all(self) -> None:
        """Server shutdown: end every stream and task (records stay, for reruns), write pending sessions."""
        if self._reaper:
            self._reaper.cancel()
            self._reaper = None
        for page in list(self._pages.values()):
            self.drop(page, "server stopping", stopping=True)
        self.sessions.flush()

    def expire(self, now: float) -> None:
        """Drop pages disconnected longer than ``grace_s`` or idle past ``timeout_inactivity``."""
        for page in list(self._pages.values()):
            s = page.settings
            if page.streams == 0 and now - page.seen_at > s.grace_s:
                self.drop(page, f"disconnected for {s.grace_s:g} s")
            elif s.timeout_inactivity and now - page.acted_at > s.timeout_inactivity:
                self.drop(page, f"no interaction for {s.timeout_inactivity:g} s")

    def _renderer(self, cls: type[Tag], page: Page, head: list[Tag], js: str) -> HRenderer:
        prepared = self._statics.get(cls)
        if prepared is None:
            # First page of this class: htag discovers its statics (scanning every
            # Tag subclass alive, slower as pages grow); later pages reuse them.
            hr = HRenderer(cls, js, init=page.init, fullerror=page.settings.debug, statics=head, session=page.session)
            twin = type(cls)(cls.__name__, (cls,), {"imports": [], "__module__": cls.__module__, "__qualname__": cls.__qualname__})
            self._statics[cls] = (twin, hr._statics[len(head) : -1])
        else:
            twin, statics = prepared
            hr = HRenderer(twin, js, init=page.init, fullerror=page.settings.debug, statics=[*head, *statics], session=page.session)
        if page.settings.push:
            hr.sendactions = page.push
        return hr

    def _add(self, page: Page, sid: str) -> None:
        same = self._by_sid.setdefault(sid, [])
        while len(same) >= self.settings.max_pages_per_session:
            oldest = same[0]
            self.drop(oldest, f"session has more than {self.settings.max_pages_per_session} pages")
            self.store.delete("p:" + oldest.pid)  # newer pages replaced it: no rerun, and no record piling up
        same.append(page)
        self._pages[page.pid] = page
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap(), name="htag-sse reaper")

    async def _reap(self) -> None:
        tick = min(self.settings.grace_s / 4, 5.0)
        while self._pages:
            await asyncio.sleep(tick)
            self.expire(time.monotonic())

    def _resolve(self, ref: str) -> type[Tag]:
        cls = self._classes.get(ref)
        if cls is None:  # an app defined in an already imported module (never import new code)
            module, _, qualname = ref.partition(":")
            obj: Any = sys.modules.get(module)
            for part in qualname.split("."):
                obj = getattr(obj, part, None)
            if not (isinstance(obj, type) and issubclass(obj, Tag)):
                raise RequestError(410, "page_gone", f"app {ref} is not loaded here: reload")
            cls = obj
        return cls


def _route(settings: Settings) -> dict[str, Any]:
    return {"transport": settings.transport, "parano": settings.parano, "debug": settings.debug,
            "timeout_interaction": settings.timeout_interaction, "timeout_inactivity": settings.timeout_inactivity}  # fmt: skip
