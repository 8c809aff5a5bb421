"""A page: one browser tab's live htag ``HRenderer``, its pushed events and its tasks."""

from __future__ import annotations

import asyncio
import logging
import time
from contextvars import ContextVar
from typing import Any

from htag.render import HRenderer

from . import parano
from .errors import RequestError
from .eventlog import EventLog
from .metrics import Metrics
from .security import check_interaction
from .session import Session, Sessions
from .settings import Settings
from .wire import Interaction, dumps, interaction_from

log = logging.getLogger("htag_sse")

#: The page whose user code is running; tasks created meanwhile belong to it.
current_page: ContextVar[Page | None] = ContextVar("htag_sse_page", default=None)


class Page:
    """One browser tab. Interactions run one at a time, in order; pushes
    (``await tag.update()``) land in :attr:`log` for the page's stream."""

    __slots__ = (
        "_metrics",
        "_sessions",
        "acted_at",
        "app_ref",
        "cipher",
        "closed",
        "hr",
        "init",
        "last_answer",
        "last_nonce",
        "last_seq",
        "lock",
        "log",
        "pid",
        "seen_at",
        "session",
        "settings",
        "stopping",
        "streams",
        "tasks",
        "token",
    )  # fmt: skip

    def __init__(
        self, pid: str, token: str, session: Session, settings: Settings,
        app_ref: str, init: tuple[tuple[Any, ...], dict[str, Any]], sessions: Sessions, metrics: Metrics,
    ) -> None:  # fmt: skip
        self.pid = pid
        self.token = token
        self.session = session
        self.settings = settings
        self.app_ref = app_ref
        self.init = init
        self.hr: HRenderer | None = None
        self.log = EventLog(settings.backlog_events)
        self.lock = asyncio.Lock()
        self.tasks: set[asyncio.Task[Any]] | None = None
        self.streams = 0
        self.seen_at = self.acted_at = time.monotonic()
        self.last_seq = 0
        self.last_answer = b""
        self.last_nonce = b""
        self.cipher = parano.Cipher(parano.new_key()) if settings.parano else None
        self.closed = False
        self.stopping = False
        self._sessions = sessions
        self._metrics = metrics

    def __repr__(self) -> str:
        return f"<Page {self.pid} {self.app_ref}>"

    async def interact(self, inter: Interaction, seq: int | None = None) -> bytes:
        """Run one interaction; answer htag's actions as JSON bytes.

        ``seq`` (the client's interaction counter) makes retries safe: the
        answer to the last interaction is replayed instead of running it twice.
        """
        async with self.lock:
            if seq is not None:
                if seq == self.last_seq and self.last_answer:
                    return self.last_answer
                if seq != self.last_seq + 1:
                    raise RequestError(409, "out_of_order", f"interaction {seq} arrived, {self.last_seq + 1} expected")
            hr = self._live()
            check_interaction(hr, inter)
            self.acted_at = time.monotonic()
            token = current_page.set(self)
            try:
                async with asyncio.timeout(self.settings.timeout_interaction):
                    actions = await hr.interact(inter.id, inter.method, list(inter.args), inter.kargs, inter.event)
            except TimeoutError:
                actions = {"err": f"the server gave up after {self.settings.timeout_interaction} s", **self.refresh()}
            finally:
                current_page.reset(token)
            self._metrics.counts["interaction"] += 1
            if "err" in actions:
                error = str(actions["err"]).strip().splitlines()[-1][:200]
                self._metrics.event("interaction.error", logging.WARNING, page=self.pid, method=inter.method, error=error)
            self._sessions.save(self.session, soon=True)
            answer = self.seal_answer(seq, actions)
            if seq is not None:
                self.last_seq, self.last_answer = seq, answer
            return answer

    async def interact_sealed(self, body: bytes) -> bytes:
        """Parano mode: open the sealed interaction, run it, seal the answer.

        The counter inside the ciphertext must be the next one; the last one
        again is the client retrying (a fresh nonce: the answer is replayed),
        and the very same message again is a replay (refused).
        """
        assert self.cipher is not None
        nonce, message = self.cipher.open(parano.UP, body)
        seq = message.get("n")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise RequestError(400, "bad_ciphertext", "the sealed message has no counter")
        if seq == self.last_seq and nonce == self.last_nonce:
            log.warning("%r: a replayed interaction refused", self)
            raise RequestError(409, "replayed", "this message was already received")
        inter = interaction_from(message.get("o"))
        answer = await self.interact(inter, seq)
        if seq == self.last_seq:
            self.last_nonce = nonce
        return answer

    def seal_answer(self, seq: int | None, actions: dict[str, Any]) -> bytes:
        if self.cipher is None:
            return dumps(actions).encode()
        return self.cipher.seal(parano.DOWN, {"n": seq, "a": actions}).encode()

    def event_data(self, event_id: int, actions: dict[str, Any]) -> str:
        """One event's ``data``: JSON actions, or in parano mode the sealed message as a JSON string."""
        if self.cipher is None:
            return dumps(actions)
        return dumps(self.cipher.seal(parano.EVENT, {"i": event_id, "a": actions}))

    async def push(self, actions: dict[str, Any]) -> bool:
        """htag's ``sendactions``: queue actions for the stream; False once the page is gone."""
        if self.closed:
            return False
        self.log.append(self.event_data(self.log.last + 1, actions))
        self._metrics.counts["push"] += 1
        self._sessions.save(self.session, soon=True)
        return True

    def refresh(self) -> dict[str, Any]:
        """Actions that replace the whole body with the page's current state."""
        hr = self._live()
        token = current_page.set(self)
        try:
            return {"body": str(hr.tag), "post": "\n".join(hr.tag._getAllJs())}
        finally:
            current_page.reset(token)

    def adopt(self, task: asyncio.Task[Any]) -> None:
        """Own a task started by this page's code, to cancel it when the page goes."""
        if self.tasks is None:
            self.tasks = set()
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def close(self, stopping: bool = False) -> None:
        """Drop the live instance: streams end, tasks are cancelled, ``update()`` answers False.

        ``stopping``: the server is shutting down (streams end without saying
        "gone", so clients reconnect to the next server and rerun there).
        """
        if self.closed:
            return
        self.closed, self.stopping = True, stopping
        self.log.close()
        for task in list(self.tasks or ()):
            task.cancel()
        if self.hr is not None:
            self.hr._loop.clear()  # pending generators
        self.hr = None

    def _live(self) -> HRenderer:
        if self.hr is None:
            raise RequestError(410, "page_gone", f"page {self.pid} is gone")
        return self.hr


def track_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Make tasks created while a page's code runs belong to that page.

    Installs (once per loop) a task factory that wraps any existing one.
    """
    previous = loop.get_task_factory()
    if getattr(previous, "htag_sse", False):
        return

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = previous(loop, coro, **kwargs) if previous else asyncio.Task(coro, loop=loop, **kwargs)
        page = current_page.get()
        if page is not None and not page.closed:
            page.adopt(task)
        return task

    factory.htag_sse = True  # type: ignore[attr-defined]
    loop.set_task_factory(factory)
