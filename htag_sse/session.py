"""User sessions: the mapping that is Starlette's ``request.session`` and htag's ``tag.session``.

htag keeps each tag class's ``tag.state`` inside it, under the class's full
name (``"main.Counter"``): see docs/protocol.md. A session is stored as a map
of separately pickled values, so a save writes only the values that changed
and merges key by key with what other workers wrote meanwhile. A click's
changes are written before its answer leaves (the writes of one turn of the
event loop share one store call); a write that fails stays pending and is
tried again, and the request answers 503 meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import secrets
import time
import weakref
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from .errors import RequestError, StoreError
from .head import network_of
from .limits import PerMinute
from .stores import MapWrite, MemoryStore, Store, Stored

log = logging.getLogger("htag_sse")

#: How long a failed write waits before it is tried again on its own.
RETRY_S = 1.0
#: A click's write is made this many turns of the loop later: the writes of those turns share one store call.
WRITE_TURNS = 2
TOO_MANY = "too many new sessions from your address: try again in a minute"


def _key(sid: str) -> str:
    return "s:" + sid


class Session(MutableMapping[str, Any]):
    """A user's server-side session (a ``MutableMapping``).

    ``sid`` is ``None`` until the session is first written or a page is
    created for it: visitors who never need one cost no storage.
    """

    __slots__ = ("__weakref__", "_data", "_saved", "_touched", "address", "cookie_due", "sid", "touched_at", "version")

    def __init__(self, sid: str | None = None, stored: Stored | None = None, address: str = "") -> None:
        self.sid = sid
        self.version = 0
        self._saved: dict[str, bytes] = {}
        self._data: dict[str, Any] = {}
        self._touched: set[str] = set()  # keys read or written since the last save (values may be mutated)
        self.address = address  # the client that brought it: new sessions are counted per address
        self.cookie_due = False
        self.touched_at = time.monotonic()
        if stored is not None:
            self.merge(stored)

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        self._touched.add(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self._touched.add(key)

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._touched.add(key)

    def __iter__(self) -> Iterator[str]:
        self._touched.update(self._data)
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"<Session {self.sid and self.sid[:6]}… {sorted(self._data)}>"

    def changes(self) -> MapWrite | None:
        """The values that differ from the stored ones (pickled), and the deleted keys."""
        if not self._touched or self.sid is None:
            return None
        touched, self._touched = self._touched, set()
        changed: dict[str, bytes] = {}
        deleted: list[str] = []
        for k in touched:
            if k not in self._data:
                if k in self._saved:
                    deleted.append(k)
                continue
            try:
                raw = pickle.dumps(self._data[k], protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as e:  # noqa: BLE001 - any object may refuse pickling: keep it in memory, say why
                log.error("session value %r cannot be stored (%s): kept in this process only", k, e)
                continue
            if self._saved.get(k) != raw:
                changed[k] = raw
        if not changed and not deleted:
            return None
        self._saved.update(changed)
        for k in deleted:
            self._saved.pop(k, None)
        return MapWrite(_key(self.sid), changed, deleted)

    def unsaved(self, write: MapWrite) -> None:
        """A write failed: its keys count as changed again."""
        for k in (*write.changed, *write.deleted):
            self._saved.pop(k, None)
            self._touched.add(k)

    def merge(self, stored: Stored) -> None:
        """Adopt the values that changed in the store since we last read it."""
        version, fields = stored
        if version == self.version:
            return
        for k, raw in fields.items():
            if self._saved.get(k) != raw and k not in self._touched:
                try:
                    self._data[k] = pickle.loads(raw)
                except Exception as e:  # noqa: BLE001 - a class renamed since: drop the value, keep the session
                    log.warning("session value %r can no longer be read (%s): dropped", k, e)
                    self._data.pop(k, None)
                    self._touched.add(k)
                    continue
                self._saved[k] = raw
        for k in set(self._saved) - set(fields):
            if k not in self._touched:
                self._data.pop(k, None)
                self._saved.pop(k, None)
        self.version = version


class Sessions:
    """Finds, creates, saves and rotates sessions in a :class:`Store`.

    Live sessions are shared in-process (every page of a user holds the same
    object). With a store other workers share, a request first asks the
    store for the session's version and re-reads it only if it changed —
    unless ``alone()`` says no other worker is alive. ``fence()`` is this
    worker's lease deadline: a worker whose lease passed may not write.
    """

    def __init__(
        self, store: Store, *, max_age_s: float, new_per_minute: int,
        alone: Callable[[], bool] = lambda: False, fence: Callable[[], float | None] = lambda: None,
    ) -> None:  # fmt: skip
        self.store = store
        self.max_age_s = max_age_s
        self.shared = not isinstance(store, MemoryStore)
        self.alone = alone
        self.fence = fence
        self.new_sessions = PerMinute(new_per_minute)
        self.failing: StoreError | None = None  # the last write failed: health says so
        self._live: weakref.WeakValueDictionary[str, Session] = weakref.WeakValueDictionary()
        self._pending: dict[str, Session] = {}
        self._flushing: asyncio.Future[None] | None = None
        self._claimed = False  # a request settling its session will start the scheduled write
        self._retry: asyncio.TimerHandle | None = None
        self._generation = 0  # bumped by forget(): a write in flight then is not queued again

    def __len__(self) -> int:
        """Sessions alive in this process (held by a page or a request)."""
        return len(self._live)

    async def resolve(self, sid: str | None, address: str = "") -> Session:
        """The session named by a cookie value, or a fresh unsaved one.

        An id the store does not know is never adopted (no session fixation).
        """
        if not sid:
            return Session(address=address)
        session = self._live.get(sid)
        fresh = session is not None and time.monotonic() - session.touched_at < self.max_age_s
        if session is not None and (sid in self._pending or (self.shared and self.alone() and fresh)):
            return session  # a lone worker's copy is the truth, while it cannot have expired
        if session is not None:
            version = await self.store.version(_key(sid))
            if version == session.version:
                await self._slide(session)
                return session
        stored = None if session is not None and version is None else await self.store.load(_key(sid))
        if stored is None:
            self._live.pop(sid, None)  # expired or deleted elsewhere
            return Session(address=address)
        if session is None:
            session = self._live[sid] = Session(sid, stored, address)
        else:
            session.merge(stored)
        await self._slide(session)
        return session

    async def _slide(self, session: Session) -> None:
        """Restart the expiry now and then (not at every request); the cookie follows."""
        if session.sid and time.monotonic() - session.touched_at > self.max_age_s / 14:
            session.touched_at = time.monotonic()
            if await self.store.touch(_key(session.sid), self.max_age_s):
                session.cookie_due = True

    async def exists(self, sid: str) -> bool:
        """Whether session ``sid`` is still in the store."""
        return await self.store.version(_key(sid)) is not None

    async def refresh(self, session: Session) -> None:
        """Adopt what other workers wrote to this session since we last read it (its version first:
        one small read when nothing changed)."""
        if self.shared and session.sid and not self.alone() and session.sid not in self._pending:
            if await self.store.version(_key(session.sid)) == session.version:
                return
            stored = await self.store.load(_key(session.sid))
            if stored is not None:
                session.merge(stored)

    async def ensure(self, session: Session) -> str:
        """Give a fresh session its id (storing it, counted by :meth:`admit`); return the id."""
        if session.sid is None:
            self.admit(session)
            sid = secrets.token_urlsafe(24)
            await self.store.create(_key(sid), self.max_age_s)
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
            if not await self.store.create_with(_key(sid), write.changed if write else {}, self.max_age_s, values(sid)):
                raise StoreError("a new session's id is taken")  # 24 random bytes: never seen
        except BaseException:
            session.sid = None
            if write is not None:
                session.unsaved(write)
            raise
        session.version, session.cookie_due = 1, True
        self._live[sid] = session
        return sid

    def save(self, session: Session) -> None:
        """Queue the session's changes for the next write (at the end of this turn of the loop)."""
        if session.sid is None or not session._touched:
            return
        self._pending[session.sid] = session
        if self._flushing is None:
            loop = asyncio.get_running_loop()
            self._flushing = loop.create_future()
            loop.call_soon(lambda: self._claimed or self._start_flush())  # a request settling it may write it

    async def settle(self, session: Session) -> None:
        """Return once the session's changes are written (raise :class:`StoreError` if they cannot be);
        a write not started yet is made in this request's task, ``WRITE_TURNS`` loop turns later."""
        if session.sid is not None and session.sid in self._pending:
            scheduled = self._flushing
            if scheduled is None:  # a failed write waits for its retry: try now
                scheduled = self._start_flush()
            elif not self._claimed:
                self._claimed = True  # the write's scheduled start leaves it to this request
                try:
                    for _ in range(WRITE_TURNS):
                        await asyncio.sleep(0)
                except asyncio.CancelledError:
                    if self._flushing is scheduled:
                        self._start_flush()
                    raise
                finally:
                    self._claimed = False
                if self._flushing is scheduled:
                    await self._flush(inline=True)
            await asyncio.shield(scheduled)
        if session.sid is not None and session.sid in self._pending and self.failing is not None:
            raise self.failing

    async def flush(self) -> None:
        """Write every pending change now (server stopping)."""
        if self._pending and self._flushing is None:
            self._start_flush()
        if self._flushing is not None:
            try:
                await asyncio.shield(self._flushing)
            except StoreError:
                log.error("%d session(s) could not be written before stopping", len(self._pending))

    def _start_flush(self) -> asyncio.Future[None]:
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().create_task(self._flush(), name="htag-sse session writes")
        return self._flushing

    async def _flush(self, inline: bool = False) -> None:
        done, self._flushing = self._flushing, None
        pending, self._pending = self._pending, {}
        generation = self._generation
        writes = [(s, w) for s in pending.values() if (w := s.changes()) is not None]
        error: StoreError | None = None
        try:
            if writes:
                stored = await self.store.save([w for _, w in writes], self.max_age_s, self.fence())
                now = time.monotonic()
                for (session, _), current in zip(writes, stored, strict=True):
                    if current is None:
                        log.info("session %s… expired while in use: its changes are dropped", (session.sid or "")[:6])
                        if self._live.get(session.sid or "") is session:
                            del self._live[session.sid or ""]  # its next request finds no session: 410, reload
                        continue
                    session.merge(current)
                    session.touched_at = now
            if self.failing is not None:
                log.warning("the session store writes again")
            self.failing = None
        except StoreError as e:
            error = e
            if generation != self._generation:  # the lease was lost meanwhile: these writes must never land
                log.warning("%d session write(s) of a worker that lost its lease are dropped", len(writes))
            else:
                self.failing = e
                self._requeue(writes)
                log.error("session writes failed (%s): %d kept, tried again in %g s", e, len(writes), RETRY_S)
                self._retry = asyncio.get_running_loop().call_later(RETRY_S, self._retry_soon)
        except asyncio.CancelledError:  # a request writing inline was cancelled: a task writes it all again
            if inline and generation == self._generation:
                self._requeue(writes)
                if self._flushing is None:
                    self._flushing = done
                    self._start_flush()
                else:
                    self._flushing.add_done_callback(lambda write: _end(done, write.exception()))
            raise
        _end(done, error)

    def _requeue(self, writes: list[tuple[Session, MapWrite]]) -> None:
        for session, write in writes:
            session.unsaved(write)
            self._pending.setdefault(session.sid or "", session)

    def _retry_soon(self) -> None:
        if self._pending and self._flushing is None:
            self._start_flush()

    def forget(self) -> None:
        """Drop every cached session and every write not made yet (this worker lost its lease: a
        write made under it must not land, and what it knew may be stale)."""
        if self._pending:
            log.warning("%d session write(s) of a worker that lost its lease are dropped", len(self._pending))
        self._pending.clear()
        self._generation += 1
        self.failing = None
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        self._live.clear()

    async def rotate(self, session: Session) -> str:
        """Give the session a new id, keeping its data (after a login); the old id leads to the new one
        for a while, so pages held by other workers follow. A session without an id gets one only if
        it holds something (counted like any new session)."""
        old = session.sid
        if old is None:
            return await self.ensure(session) if len(session) else ""
        self.save(session)
        await self.settle(session)
        sid = secrets.token_urlsafe(24)
        await self.store.create(_key(sid), self.max_age_s)
        await self.store.save([MapWrite(_key(sid), dict(session._saved))], self.max_age_s, self.fence())
        await self.store.set("rot:" + old, sid.encode(), self.max_age_s)
        await self.store.delete_map(_key(old))
        self._live.pop(old, None)
        session.sid, session.cookie_due, session.version = sid, True, 0
        self._live[sid] = session
        log.info("session %s… rotated to %s…", old[:6], sid[:6])
        return sid

    async def rotated_to(self, old: str) -> str | None:
        """The id a rotated session got (another worker rotated it)."""
        raw = await self.store.get("rot:" + old)
        return raw.decode() if raw else None


def _end(done: asyncio.Future[None] | None, error: BaseException | None) -> None:
    """Wake the requests waiting for a write: it was made (``error`` None), or it failed."""
    if done is not None and not done.done():
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
            done.exception()  # retrieved: a click waiting on it may have gone
