"""A user's session: the mapping that is Starlette's ``request.session`` and htag's ``tag.session``.

htag keeps each tag class's ``tag.state`` inside it, under the class's full
name (``"main.Counter"``): see docs/protocol.md. A session is stored as a map
of separately pickled values, so a save writes only the values that changed
and merges key by key with what other workers wrote meanwhile.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Iterator, MutableMapping
from typing import Any

from ..stores.store import MapWrite, Saved, Stored

log = logging.getLogger("htag_sse")


def key_of(sid: str) -> str:
    """The store key of session ``sid``."""
    return "s:" + sid


class Session(MutableMapping[str, Any]):
    """A user's server-side session (a ``MutableMapping``).

    ``sid`` is ``None`` until the session is first written or a page is
    created for it: visitors who never need one cost no storage.
    """

    __slots__ = (
        "__weakref__", "_data", "_saved", "_touched", "address", "cookie_due", "ended", "seen", "sid", "told", "touched_at", "version",
    )  # fmt: skip

    def __init__(self, sid: str | None = None, stored: Stored | None = None, address: str = "") -> None:
        self.sid = sid
        self.version = 0
        self._saved: dict[str, bytes] = {}
        self._data: dict[str, Any] = {}
        self._touched: set[str] = set()  # keys read or written since the last save (values may be mutated)
        self.address = address  # the client that brought it: new sessions are counted per address
        self.cookie_due = False
        self.ended = False  # cleared (a logout): it gets a new id, and the old one's pages go
        self.seen = 0  # the store's listening number when this copy was last known current (0: check it)
        self.told = 0  # the newest version another process told it wrote (this copy may be older)
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

    def clear(self) -> None:
        """Empty the session and end who it was (a logout): when it is written it gets a new id, and
        every page of the old one goes, on every worker (see :meth:`Sessions.rotate`)."""
        for key in list(self._data):
            del self[key]
        self.ended = True

    def discard(self) -> None:
        """Drop the keys never stored and stop tracking changes (a new visitor's page could not be
        stored: what its ``init`` wrote must not be stored later on its own, without the page)."""
        self._data = {k: self._data[k] for k in self._saved if k in self._data}
        self._touched.clear()

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
        return MapWrite(key_of(self.sid), changed, deleted, self.version)

    def unsaved(self, write: MapWrite) -> None:
        """A write failed: its keys count as changed again."""
        for k in (*write.changed, *write.deleted):
            self._saved.pop(k, None)
            self._touched.add(k)

    def merge(self, stored: Saved) -> None:
        """Adopt the values that changed in the store since we last read it (``fields`` None: nothing
        did but the write that gave this version)."""
        version, fields = stored
        if version == self.version:
            return
        if fields is None:
            self.version = version
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
