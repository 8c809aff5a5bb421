"""User sessions: one mapping that is ``request.session``, ``tag.state`` and ``tag.root.state``.

A session is stored as one record of separately pickled values, so saving
writes only when a value really changed (nested mutations included) and
merges key by key with what other workers wrote meanwhile.
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

from .stores import MemoryStore, Store

log = logging.getLogger("htag_sse")

_EMPTY = pickle.dumps({})


def _key(sid: str) -> str:
    return "s:" + sid


class Session(MutableMapping[str, Any]):
    """A user's server-side session (a ``MutableMapping``).

    ``sid`` is ``None`` until the session is first written or a page is
    created for it: visitors who never need one cost no storage.
    """

    __slots__ = ("__weakref__", "_blob", "_data", "_saved", "accessed", "cookie_due", "sid", "touched_at")

    def __init__(self, sid: str | None = None, blob: bytes | None = None) -> None:
        self.sid = sid
        self._saved: dict[str, bytes] = pickle.loads(blob) if blob else {}
        self._data: dict[str, Any] = {k: pickle.loads(v) for k, v in self._saved.items()}
        self._blob = blob
        self.accessed = False
        self.cookie_due = False
        self.touched_at = time.monotonic()

    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.accessed = True
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        self.accessed = True
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        self.accessed = True
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"<Session {self.sid and self.sid[:6]}… {sorted(self._data)}>"

    def changes(self) -> tuple[dict[str, bytes], set[str]]:
        """Values that differ from the stored ones (pickled), and deleted keys."""
        changed: dict[str, bytes] = {}
        for k, v in self._data.items():
            try:
                raw = pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as e:  # keep it in memory; say why it is not stored
                log.error("session value %r cannot be stored (%s): kept in this process only", k, e)
                continue
            if self._saved.get(k) != raw:
                changed[k] = raw
        return changed, set(self._saved) - set(self._data)

    def wrote(self, changed: dict[str, bytes], deleted: set[str]) -> None:
        """Record our own write (sent to the store now, or with the next flush)."""
        self._saved.update(changed)
        for k in deleted:
            self._saved.pop(k, None)

    def merge(self, blob: bytes | None) -> None:
        """Adopt values that changed in the store since we last read it."""
        if blob == self._blob:
            return
        stored: dict[str, bytes] = pickle.loads(blob) if blob else {}
        for k, raw in stored.items():
            if self._saved.get(k) != raw:
                self._data[k] = pickle.loads(raw)
        for k in set(self._saved) - set(stored):
            self._data.pop(k, None)
        self._saved, self._blob = stored, blob


class Sessions:
    """Finds, creates, saves and rotates sessions in a :class:`Store`.

    Live sessions are shared in-process (every page of a user holds the same
    object). With a store other workers share, a session is re-read at each
    request so their writes are seen — unless ``alone()`` says no other
    worker is alive.
    """

    def __init__(self, store: Store, *, max_age_s: float) -> None:
        self.store = store
        self.max_age_s = max_age_s
        self.shared = not isinstance(store, MemoryStore)
        self.alone: Callable[[], bool] = lambda: False
        self._live: weakref.WeakValueDictionary[str, Session] = weakref.WeakValueDictionary()
        self._pending: dict[str, tuple[Session, dict[str, bytes], set[str]]] = {}
        self._flush_soon: asyncio.Handle | None = None

    def __len__(self) -> int:
        """Sessions alive in this process (held by a page or a request)."""
        return len(self._live)

    def resolve(self, sid: str | None) -> Session:
        """The session named by a cookie value, or a fresh unsaved one.

        An id the store does not know is never adopted (no session fixation).
        """
        if not sid or len(sid) > 64:
            return Session()
        session = self._live.get(sid)
        if session is not None and (not self.shared or self.alone()):
            return session
        if sid in self._pending:
            self.flush()
        blob = self.store.get(_key(sid))
        if blob is None:
            if session is not None:  # expired or deleted elsewhere
                self._live.pop(sid, None)
            return Session()
        if session is None:
            session = self._live[sid] = Session(sid, blob)
        else:
            session.merge(blob)
        if time.monotonic() - session.touched_at > self.max_age_s / 14:
            self.store.set(_key(sid), blob, self.max_age_s)  # sliding expiry, and a fresh cookie
            session.touched_at, session.cookie_due = time.monotonic(), True
        return session

    def refresh(self, session: Session) -> None:
        """Adopt what other workers wrote to this session since we last read it."""
        if self.shared and session.sid and not self.alone():
            if session.sid in self._pending:
                self.flush()
            session.merge(self.store.get(_key(session.sid)))

    def ensure(self, session: Session) -> str:
        """Give a fresh session its id (storing it); return the id."""
        if session.sid is None:
            session.sid = secrets.token_urlsafe(24)
            self.store.set(_key(session.sid), _EMPTY, self.max_age_s)
            session.merge(_EMPTY)
            session.cookie_due = True
            self._live[session.sid] = session
            log.debug("session %s… created", session.sid[:6])
        return session.sid

    def save(self, session: Session, *, soon: bool = False) -> bool:
        """Write the values that changed, merged key by key with what other workers wrote.

        ``soon``: at the end of this turn of the event loop, in one store
        transaction with every other session saved meanwhile (the path of
        interactions and pushes: one commit for many clicks under load).
        Returns True if something changed.
        """
        if not session.accessed:
            return False
        session.accessed = False
        changed, deleted = session.changes()
        if not changed and not deleted:
            return False
        sid = self.ensure(session)
        session.wrote(changed, deleted)
        known = self._pending.get(sid)
        if known is None:
            self._pending[sid] = (session, changed, deleted)
        else:
            known[1].update(changed)
            known[2].difference_update(changed)
            for k in deleted:
                known[1].pop(k, None)
            known[2].update(deleted)
        if not soon:
            self.flush()
        elif self._flush_soon is None:
            self._flush_soon = asyncio.get_running_loop().call_soon(self.flush)
        return True

    def flush(self) -> None:
        """Write every pending change now, in one transaction."""
        if self._flush_soon is not None:
            self._flush_soon.cancel()
            self._flush_soon = None
        pending, self._pending = self._pending, {}
        if not pending:
            return
        updates = {_key(sid): _merger(changed, deleted) for sid, (_, changed, deleted) in pending.items()}
        blobs = self.store.update_many(updates, self.max_age_s)
        now = time.monotonic()
        for sid, (session, _, _) in pending.items():
            session.merge(blobs[_key(sid)])  # adopt what other workers wrote meanwhile
            session.touched_at = now

    def rotate(self, session: Session) -> str:
        """Give the session a new id, keeping its data (do it after a login)."""
        self.save(session)
        self.flush()
        old = session.sid
        blob = self.store.get(_key(old)) if old else None
        session.sid = secrets.token_urlsafe(24)
        self.store.set(_key(session.sid), blob or _EMPTY, self.max_age_s)
        if old:
            self.store.delete(_key(old))
            self._live.pop(old, None)
        self._live[session.sid] = session
        session.cookie_due = True
        log.info("session %s… rotated to %s…", (old or "new")[:6], session.sid[:6])
        return session.sid


def _merger(changed: dict[str, bytes], deleted: set[str]) -> Callable[[bytes | None], bytes]:
    """The store update applying our changes on top of what is stored (key by key)."""

    def merge(current: bytes | None) -> bytes:
        stored: dict[str, bytes] = pickle.loads(current) if current else {}
        stored.update(changed)
        for k in deleted:
            stored.pop(k, None)
        return pickle.dumps(stored, protocol=pickle.HIGHEST_PROTOCOL)

    return merge
