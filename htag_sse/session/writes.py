"""Writing sessions: changes queued and written together once per turn of the event loop, settled
before an answer leaves; a write that fails stays pending and is tried again (the request answers
503 meanwhile); the worker's lease fences every write; writes of sessions another worker took over
are dropped, never landed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection

from ..errors import StoreError
from ..stores.store import MapWrite, Store
from .mapping import Session

log = logging.getLogger("htag_sse")

#: How long a failed write waits before it is tried again on its own.
RETRY_S = 1.0
#: A click's write is made this many turns of the loop later: the writes of those turns share one store call.
WRITE_TURNS = 2


async def nothing() -> None:
    """A recovery with nothing to do (a store no other worker shares)."""
    return


class Writes:
    """The session writes of this worker, queued in a turn of the loop and written in one store call.

    ``fence()`` is the worker's lease deadline (the store refuses a write past it); ``recover()``
    takes the lease again after a stall, before anything is written; ``gone(session)`` is told of a
    session that expired while in use.
    """

    def __init__(self, store: Store, *, max_age_s: float, fence: Callable[[], float | None],
                 recover: Callable[[], Awaitable[None]] = nothing,
                 gone: Callable[[Session], None] = lambda s: None) -> None:  # fmt: skip
        self.store, self.max_age_s, self.fence, self.recover, self.gone = store, max_age_s, fence, recover, gone
        self.failing: StoreError | None = None  # the last write failed: health says so
        self._pending: dict[str, Session] = {}
        self._flushing: asyncio.Future[None] | None = None
        self._claimed = False  # a request settling its session will start the scheduled write
        self._retry: asyncio.TimerHandle | None = None
        self._generation = 0  # bumped by forget(): a write in flight then is not queued again
        self._forgot_all = -1  # the generation at which every session was forgotten last
        self._forgotten: dict[str, int] = {}  # sid -> the generation at which it was forgotten

    def pending(self, sid: str) -> bool:
        """Whether session ``sid`` has changes not written yet (its copy here is the newest)."""
        return sid in self._pending

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
        self._forgotten = {sid: g for sid, g in self._forgotten.items() if g > generation}
        writes = [(s, w) for s in pending.values() if (w := s.changes()) is not None]
        error: StoreError | None = None
        try:
            if writes:
                await self.recover()  # a worker back from a stall takes its lease again (the fence) first
                writes = self._still_due(writes, generation)
            if writes:
                stored = await self.store.save([w for _, w in writes], self.max_age_s, self.fence())
                now = time.monotonic()
                for (session, _), current in zip(writes, stored, strict=True):
                    if current is None:
                        log.info("session %s… expired while in use: its changes are dropped", (session.sid or "")[:6])
                        self.gone(session)  # its next request finds no session: 410, reload
                        continue
                    session.merge(current)
                    session.touched_at = now
            if self.failing is not None:
                log.warning("the session store writes again")
            self.failing = None
        except StoreError as e:
            error = e
            kept = self._still_due(writes, generation)
            if kept:
                self.failing = e
                self._requeue(kept)
                log.error("session writes failed (%s): %d kept, tried again in %g s", e, len(kept), RETRY_S)
                self._retry = asyncio.get_running_loop().call_later(RETRY_S, self._retry_soon)
        except asyncio.CancelledError:  # a request writing inline was cancelled: a task writes it all again
            if inline:
                self._requeue(self._still_due(writes, generation))
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

    def forget(self, sids: Collection[str] | None = None) -> None:
        """Drop the cached copies of sessions ``sids`` (``None``: all) and their writes not made yet,
        a write in flight included: another worker took their pages (or this one lost its lease), so
        what it knew of them may be stale and what it would write must not land."""
        self._generation += 1
        if sids is None:
            self._forgot_all = self._generation
            dropped = len(self._pending)
            self._pending.clear()
        else:
            dropped = sum(self._pending.pop(sid, None) is not None for sid in sids)
            for sid in sids:
                self._forgotten[sid] = self._generation
        if dropped:
            log.warning("%d session write(s) dropped: another worker took over meanwhile", dropped)
        if not self._pending:
            self.failing = None
            if self._retry is not None:
                self._retry.cancel()
                self._retry = None

    def _still_due(self, writes: list[tuple[Session, MapWrite]], generation: int) -> list[tuple[Session, MapWrite]]:
        """The writes of sessions not forgotten since ``generation`` (another worker took their pages)."""
        kept = [(s, w) for s, w in writes if not self._dropped(s.sid or "", generation)]
        if len(kept) < len(writes):
            log.warning("%d session write(s) dropped: another worker took over meanwhile", len(writes) - len(kept))
        return kept

    def _dropped(self, sid: str, generation: int) -> bool:
        """Whether a write of session ``sid`` started at ``generation`` was forgotten since."""
        return self._forgot_all > generation or self._forgotten.get(sid, -1) > generation


def _end(done: asyncio.Future[None] | None, error: BaseException | None) -> None:
    """Wake the requests waiting for a write: it was made (``error`` None), or it failed."""
    if done is not None and not done.done():
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
            done.exception()  # retrieved: a click waiting on it may have gone
