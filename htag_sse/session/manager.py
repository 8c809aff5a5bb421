"""Finding, creating, refreshing and rotating the users' sessions in a :class:`Store` (their
writes: :mod:`htag_sse.session.writes`)."""

from __future__ import annotations

import logging
import secrets
import time
import weakref
from collections.abc import Awaitable, Callable, Collection

from ..errors import RequestError, StoreError
from ..head import network_of
from ..limits import PerMinute
from ..stores import MapWrite, MemoryStore, Store, Watched
from .mapping import Session, key_of
from .writes import Writes, nothing

log = logging.getLogger("htag_sse")

TOO_MANY = "too many new sessions from your address: try again in a minute"


class Sessions:
    """Finds, creates, saves and rotates sessions in a :class:`Store`.

    Live sessions are shared in-process (every page of a user holds the same
    object). With a store other workers share, a request first asks the
    store for the session's version and re-reads it only if it changed —
    unless ``alone()`` says no other worker is alive, or the store tells of
    every change (:class:`Watched`) and told of none since, and the request
    saw no newer version written (``at_least``: its browser's version
    cookie). ``fence()`` is this worker's lease deadline: a worker whose
    lease passed may not write.
    """

    def __init__(
        self, store: Store, *, max_age_s: float, new_per_minute: int,
        alone: Callable[[], bool] = lambda: False, fence: Callable[[], float | None] = lambda: None,
        recover: Callable[[], Awaitable[None]] = nothing,
    ) -> None:  # fmt: skip
        self.store = store
        self.max_age_s = max_age_s
        self.shared = not isinstance(store, MemoryStore)
        self.alone = alone
        self.new_sessions = PerMinute(new_per_minute)
        self.writes = Writes(store, max_age_s=max_age_s, fence=fence, recover=recover, gone=self._gone)
        self._live: weakref.WeakValueDictionary[str, Session] = weakref.WeakValueDictionary()
        self._watch = store if isinstance(store, Watched) else None
        self._watching = False
        self._enders: list[Callable[[str], None]] = []

    def __len__(self) -> int:
        """Sessions alive in this process (held by a page or a request)."""
        return len(self._live)

    @property
    def failing(self) -> StoreError | None:
        """Why the last write failed, while it has not been written (health says so)."""
        return self.writes.failing

    def save(self, session: Session) -> None:
        """Queue the session's changes for the next write (at the end of this turn of the loop)."""
        self.writes.save(session)

    async def settle(self, session: Session) -> None:
        """Return once the session's changes are written (raise :class:`StoreError` if they cannot be).
        A cleared session (a logout) gets its new id here."""
        if session.ended and session.sid is not None:
            session.ended = False
            await self.rotate(session)
            return
        await self.writes.settle(session)

    async def flush(self) -> None:
        """Write every pending change now (server stopping)."""
        await self.writes.flush()

    def forget(self, sids: Collection[str] | None = None) -> None:
        """Forget what this worker knew of sessions ``sids`` (``None``: all): their cached copies and
        their writes not made yet (another worker took their pages, or this one lost its lease)."""
        self.writes.forget(sids)
        if sids is None:
            self._live.clear()
        else:
            for sid in sids:
                self._live.pop(sid, None)

    def _gone(self, session: Session) -> None:
        if self._live.get(session.sid or "") is session:
            del self._live[session.sid or ""]

    @property
    def versioned(self) -> bool:
        """Whether answers tell the browser the version of its session they saw (copies are kept)."""
        return self._watch is not None

    @staticmethod
    def newest(session: Session) -> int:
        """The newest version of ``session`` this worker knows was written (its copy may be older)."""
        return max(session.version, session.told)

    async def resolve(self, sid: str | None, address: str = "", at_least: int = 0) -> Session:
        """The session named by a cookie value, or a fresh unsaved one; a copy kept here is used if it
        is known current and not older than version ``at_least`` (the request saw it written).

        An id the store does not know is never adopted (no session fixation).
        """
        if not sid:
            return Session(address=address)
        session = self._live.get(sid)
        fresh = session is not None and time.monotonic() - session.touched_at < self.max_age_s
        if (
            session is not None
            and fresh
            and ((self.writes.pending(sid) and session.version >= at_least) or await self._current(session, at_least))
        ):
            await self._slide(session)  # a lone worker's copy, or one no change was told of since
            return session
        watched = await self._watched()
        if session is not None:
            version = await self.store.version(key_of(sid))
            if version == session.version:
                session.seen = watched
                await self._slide(session)
                return session
        stored = None if session is not None and version is None else await self.store.load(key_of(sid))
        if stored is None:
            self._live.pop(sid, None)  # expired or deleted elsewhere
            return Session(address=address)
        if session is None:
            session = self._live[sid] = Session(sid, stored, address)
        else:
            session.merge(stored)
        session.seen = watched
        await self._slide(session)
        return session

    async def identify(self, sid: str | None, address: str = "", at_least: int = 0) -> Session:
        """The session a page's request names, to check the page is its own: where the store tells of
        every change (a deleted session is dropped here), a copy kept here not older than ``at_least``
        serves as it is — the page's code refreshes it before use (:meth:`refresh`); else :meth:`resolve`."""
        session = self._live.get(sid) if sid else None
        fresh = session is not None and time.monotonic() - session.touched_at < self.max_age_s
        if session is not None and fresh and session.version >= at_least and await self._watched():
            await self._slide(session)
            return session
        return await self.resolve(sid, address, at_least)

    async def _current(self, session: Session, at_least: int = 0) -> bool:
        """Whether this worker's copy of ``session`` is known current without asking the store: no other
        worker is alive, or the store tells of every change, told of none since it was checked, and the
        copy is not older than version ``at_least`` (one the request saw written, maybe elsewhere)."""
        if session.version < at_least:
            return False
        if self.shared and self.alone():
            return True
        watched = await self._watched()
        return watched != 0 and session.seen == watched

    async def _watched(self) -> int:
        """The store's listening number (0: it tells of no change); it starts listening at the first call."""
        store = self._watch
        if store is None:
            return 0
        if not self._watching:
            self._watching = True
            try:
                await store.watch(self._told)
            except StoreError as e:  # it listens once it can: until then, every copy is checked
                log.info("session changes are not told yet (%s): copies are checked at each request", e)
                self._watching = False
                return 0
        return store.watched()

    def _told(self, key: str, version: int) -> None:
        """Another process wrote (or deleted: 0) session map ``key``: our copy is checked before its next use."""
        sid = key[2:] if key.startswith("s:") else ""
        session = self._live.get(sid)
        if session is not None and session.version != version:
            session.seen = 0
            session.told = max(session.told, version)
            if version == 0:  # deleted (a rotation, a logout): its next request finds no session
                self._live.pop(sid, None)

    async def _slide(self, session: Session) -> None:
        """Restart the expiry now and then (not at every request); the cookie follows."""
        if session.sid and time.monotonic() - session.touched_at > self.max_age_s / 14:
            session.touched_at = time.monotonic()
            if await self.store.touch(key_of(session.sid), self.max_age_s):
                session.cookie_due = True

    async def exists(self, sid: str) -> bool:
        """Whether session ``sid`` is still in the store."""
        return await self.store.version(key_of(sid)) is not None

    async def refresh(self, session: Session, at_least: int = 0) -> None:
        """Adopt what other workers wrote to this session since we last read it (nothing to ask when no
        change was told and the copy is not older than ``at_least``; else its version first: one small
        read when nothing changed)."""
        if session.sid and not self.writes.pending(session.sid) and not await self._current(session, at_least):
            watched = await self._watched()
            if await self.store.version(key_of(session.sid)) != session.version:
                stored = await self.store.load(key_of(session.sid))
                if stored is not None:
                    session.merge(stored)
            session.seen = watched

    async def ensure(self, session: Session) -> str:
        """Give a fresh session its id (storing it, counted by :meth:`admit`); return the id."""
        if session.sid is None:
            self.admit(session)
            sid = secrets.token_urlsafe(24)
            await self.store.create(key_of(sid), self.max_age_s)
            session.sid, session.version, session.cookie_due = sid, 1, True
            self._live[sid] = session
            log.debug("session %s… created", sid[:6])
            return sid
        return session.sid

    def admit(self, session: Session) -> None:
        """Count a new session for its client's address (``max_new_sessions_per_minute``): past it, 429."""
        network = network_of(session.address or "unknown")
        if not self.new_sessions.allow(network):
            log.info("new session refused: %s opened %d this minute", network, self.new_sessions.limit)
            raise RequestError(429, "too_many_sessions", TOO_MANY)

    async def create_with(self, session: Session, values: Callable[[str], dict[str, tuple[bytes, float]]]) -> str:
        """Store a fresh session (:meth:`admit`-ted) and the values ``values(its id)``, in one store write."""
        sid = session.sid = secrets.token_urlsafe(24)
        write = session.changes()
        try:
            if not await self.store.create_with(
                key_of(sid), write.changed if write else {}, self.max_age_s, values(sid)
            ):
                raise StoreError("a new session's id is taken")  # 24 random bytes: never seen
        except BaseException:
            session.sid = None
            if write is not None:
                session.unsaved(write)
            raise
        session.version, session.cookie_due = 1, True
        self._live[sid] = session
        return sid

    def on_end(self, hook: Callable[[str], None]) -> None:
        """``hook(sid)`` runs when session ``sid`` ends (rotated at a login, cleared at a logout): the
        pages of that identity must go, never handed on."""
        self._enders.append(hook)

    async def rotate(self, session: Session) -> str:
        """Give the session a new id, keeping its data (after a login): the old identity ends, and its
        pages with it (``on_end``), on every worker — never handed on to the new one. The old id leads
        to the new one for a while, so a tab of the old identity learns it must reload. A session
        without an id gets one only if it holds something (counted like any new session)."""
        old = session.sid
        if old is None:
            session.ended = False
            return await self.ensure(session) if len(session) else ""
        for hook in self._enders:
            hook(old)
        session.ended = False
        self.save(session)
        await self.settle(session)
        sid = secrets.token_urlsafe(24)
        await self.store.create(key_of(sid), self.max_age_s)
        await self.store.save([MapWrite(key_of(sid), dict(session._saved))], self.max_age_s, self.writes.fence())
        await self.store.set("rot:" + old, sid.encode(), self.max_age_s)
        await self.store.delete_map(key_of(old))
        self._live.pop(old, None)
        session.sid, session.cookie_due, session.version, session.told = sid, True, 0, 0
        self._live[sid] = session
        log.info("session %s… rotated to %s…", old[:6], sid[:6])
        return sid

    async def rotated_to(self, old: str) -> str | None:
        """The id a rotated session got (another worker rotated it)."""
        raw = await self.store.get("rot:" + old)
        return raw.decode() if raw else None
