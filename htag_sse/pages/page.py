"""A page: one browser tab's live htag renderer, its numbered interactions, its pushed events and its tasks."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from contextvars import ContextVar
from typing import Any

from .. import parano
from ..adapter import Init, LiveApp
from ..deadline import bounded
from ..errors import RequestError, StoreError
from ..eventlog import EventLog, Events, Feed
from ..metrics import Metrics
from ..security import check_token
from ..session import Session, Sessions
from ..settings import Route, Settings
from ..wire import Item, dumps, dumps_bytes, items_from, parse_items, refusal

log = logging.getLogger("htag_sse")

#: What one interaction came to: htag's actions, or its refusal.
Outcome = dict[str, Any] | RequestError

TAKEN = "this page was taken over by a reload of its tab: reload"
#: The page whose user code is running; tasks created meanwhile belong to it.
current_page: ContextVar[Page | None] = ContextVar("htag_sse_page", default=None)


class Page:
    """One browser tab. Interactions run one at a time, in order; pushes
    (``await tag.update()``) land in :attr:`log` for the page's streams."""

    __slots__ = (
        "_feed", "_metrics", "_published", "_sessions", "acted_at", "app_ref", "cipher", "closed", "connected", "init", "instance", "last_reply",
        "last_seq", "lock", "log", "nonces", "outcomes", "pid", "released_at", "route", "seen_at", "session",
        "settings", "stopping", "streams", "tasks", "token", "tokens_before",
    )  # fmt: skip

    def __init__(
        self, pid: str, session: Session, settings: Settings, route: Route, app_ref: str,
        init: Init, sessions: Sessions, metrics: Metrics, feed: Feed | None = None,
    ) -> None:  # fmt: skip
        self.pid = pid
        self.token = secrets.token_urlsafe(16)
        self.tokens_before: tuple[str, ...] = ()  # of the tabs it was taken from (reloads)
        self.session = session
        self.settings = settings
        self.route = route
        self.app_ref = app_ref
        self.init = init
        self.instance: LiveApp | None = None  # the app, live (None once the page is gone)
        self.log = EventLog(settings.backlog_events)
        self.lock = asyncio.Lock()
        self.tasks: set[asyncio.Task[Any]] | None = None
        self.streams = 0
        self.connected = False  # a stream, poll or interaction of its tab ever came
        self.seen_at = self.acted_at = time.monotonic()
        self.last_seq = 0
        self.outcomes: dict[int, Outcome] = {}
        self.last_reply: tuple[int, int, int, bytes] | None = None
        self.nonces: tuple[bytes, ...] = ()
        self.cipher = parano.Cipher(parano.new_key()) if route.parano else None
        self.closed = False
        self.stopping = False
        self.released_at: float | None = None  # when its tab said it unloads (it may be taken over)
        self._sessions = sessions
        self._metrics = metrics
        self._feed = feed
        self._published: asyncio.Future[None] | None = None  # pushes reach the feed in order

    def __repr__(self) -> str:
        return f"<Page {self.pid} {self.app_ref}>"

    # ---------------------------------------------------------------- interactions

    async def answer(self, body: bytes | RequestError, seq: int | None) -> tuple[int, bytes]:
        """One POST: its interactions (one, or a batch) run in order; (status, answer body).

        ``seq`` (the client's interaction counter, of the first interaction)
        makes retries safe: what was answered already is replayed, not run
        twice. Every interaction uses up its number, a refused one too. The
        answer leaves once the session changes it made are stored.
        """
        items: list[Item]
        if isinstance(body, RequestError):  # refused before it could be read
            items, batch = [body], False
        elif self.cipher is not None:
            return await self._answer_sealed(body)
        else:
            items, batch = parse_items(body, self.settings.max_event_fields)
        outcomes, replay = await self.run(items, seq)
        if replay is None:
            replay = encode(outcomes, batch)
            self._keep_reply(seq, len(items), replay)
        await self._sessions.settle(self.session)
        return replay

    async def _answer_sealed(self, body: bytes) -> tuple[int, bytes]:
        """Parano mode: open the sealed POST, run it, seal the answer.

        The counter inside the ciphertext must be the next one; the last one
        again is the client retrying (a fresh nonce: the answer is replayed),
        and the very same message again is a replay (refused).
        """
        assert self.cipher is not None
        nonce, message = self.cipher.open(parano.UP, body)
        seq = message.get("n")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise RequestError(400, "bad_ciphertext", "the sealed message has no counter")
        if nonce in self.nonces:
            log.info("%r: a replayed interaction refused", self)
            raise RequestError(409, "replayed", "this message was already received")
        items, batch = items_from(message.get("o"), self.settings.max_event_fields)
        try:
            outcomes, replay = await self.run(items, seq)
        except RequestError as e:  # the counter was sealed: a refusal must not repeat it
            raise e.generic() from None
        self.nonces = (*self.nonces[-7:], nonce)
        if replay is None:
            status, reply = encode(outcomes, batch, generic=True)
            if status == 200:  # a refusal is not sealed, and says nothing of what was asked
                reply = self.cipher.seal(parano.DOWN, {"n": seq, "a": json.loads(reply)}).encode()
            replay = status, reply
            self._keep_reply(seq, len(items), replay)
        await self._sessions.settle(self.session)
        return replay

    async def run(self, items: list[Item], seq: int | None) -> tuple[list[Outcome], tuple[int, bytes] | None]:
        """Run ``items`` in order (numbered from ``seq``); an exact retry of the last POST gets its reply back."""
        async with self.lock:
            if seq is not None and self.last_reply is not None and self.last_reply[:2] == (seq, len(items)):
                return [], (self.last_reply[2], self.last_reply[3])
            outcomes: list[Outcome] = []
            for i, item in enumerate(items):
                n = None if seq is None else seq + i
                if n is not None and n <= self.last_seq:
                    done = self.outcomes.get(n)
                    if done is None:
                        raise RequestError(409, "out_of_order", f"interaction {n} is too old to be answered again")
                    outcomes.append(done)
                    continue
                if n is not None and n != self.last_seq + 1:
                    log.info("%r: interaction %d arrived, %d expected: refused", self, n, self.last_seq + 1)
                    raise RequestError(409, "out_of_order", f"interaction {n} arrived, {self.last_seq + 1} expected")
                outcome = await self._run_one(item)
                if n is not None:
                    self.last_seq = n
                    self.outcomes[n] = outcome
                outcomes.append(outcome)
            if seq is not None:  # only the last POST can be retried
                self.outcomes = {n: o for n, o in self.outcomes.items() if n >= seq}
            self._sessions.save(self.session)
            return outcomes, None

    async def _run_one(self, item: Item) -> Outcome:
        if isinstance(item, RequestError):
            self._metrics.counts[f"refused.{item.status}"] += 1
            return item
        app = self.live()
        try:
            app.check(item)
        except RequestError as e:
            self._metrics.counts[f"refused.{e.status}"] += 1
            return e
        self.acted_at = time.monotonic()
        token = current_page.set(self)
        try:  # the timer is armed only if the handler suspends (most clicks do not)
            actions = await bounded(app.interact(item), self.route.timeout_interaction)
        except TimeoutError:
            actions = {"err": f"the server gave up after {self.route.timeout_interaction:g} s", **self.refresh()}
        finally:
            current_page.reset(token)
        self._metrics.counts["interaction"] += 1
        if "err" in actions:
            lines = str(actions["err"]).strip().splitlines()
            error = lines[-1][:200] if lines else "(no message)"
            self._metrics.event("interaction.error", logging.WARNING, page=self.pid, method=item.method, error=error)
        return actions

    def _keep_reply(self, seq: int | None, count: int, reply: tuple[int, bytes]) -> None:
        if seq is not None:
            self.last_reply = (seq, count, *reply)

    # ---------------------------------------------------------------- pushes

    def event_data(self, event_id: int, actions: dict[str, Any]) -> str:
        """One event's ``data``: JSON actions, or in parano mode the sealed message as a JSON string."""
        if self.cipher is None:
            return dumps(actions)
        return dumps(self.cipher.seal(parano.EVENT, {"i": event_id, "a": actions}))

    async def push(self, actions: dict[str, Any]) -> bool:
        """htag's ``sendactions``: queue actions for the streams; False once the page is gone."""
        if self.closed:
            return False
        event_id = self.log.append(self.event_data(self.log.last + 1, actions))
        self._metrics.counts["push"] += 1
        self._sessions.save(self.session)
        if self._feed is not None:
            self._publish(event_id)
        return True

    def _publish(self, event_id: int) -> None:
        """Hand the event to the feed (other hosts' streams read it there), after the previous one."""
        feed, previous = self._feed, self._published
        assert feed is not None
        data = self.log.since(event_id - 1)

        async def publish() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            if data:
                try:
                    await feed.publish(self.pid, event_id, data[0][1])
                except StoreError as e:  # the stream of another host asks the owner instead
                    log.warning("event %d of %r could not be published: %s", event_id, self, e)

        self._published = asyncio.ensure_future(publish())

    def news(self, cursor: int | None) -> Events:
        """The events after ``cursor``, or one full refresh when they are not all kept."""
        batch = self.log.since(cursor) if cursor is not None else None
        if batch is None:
            last = self.log.last
            batch = [(last, self.event_data(last, self.refresh()))]
        return batch

    def watch(self, wake: asyncio.Event) -> None:
        """A stream or poll follows this page: ``wake`` is set at each new event."""
        self.streams += 1
        self.log.listen(wake)

    def unwatch(self, wake: asyncio.Event) -> None:
        self.log.unlisten(wake)
        self.streams -= 1
        self.seen_at = time.monotonic()

    def refresh(self) -> dict[str, Any]:
        """Actions that replace the whole body with the page's current state."""
        app = self.live()
        token = current_page.set(self)
        try:
            return app.refresh()
        finally:
            current_page.reset(token)

    # ---------------------------------------------------------------- lifecycle

    def adopt(self, task: asyncio.Task[Any]) -> None:
        """Own a task started by this page's code, to cancel it when the page goes."""
        if self.tasks is None:
            self.tasks = set()
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def check_token(self, token: str | None) -> None:
        """The request's page token must be this page's; the token of a tab it was taken from (back from
        the back/forward cache) is told to reload (410), any other refused (403)."""
        if token is not None and token in self.tokens_before:
            raise RequestError(410, "page_taken", TAKEN)
        check_token(self.token, token)

    def renew(self) -> None:
        """A new tab takes this page over (a reload): a new token (and key), its numbering starts again."""
        self.tokens_before = (*self.tokens_before[-3:], self.token)
        self.token = secrets.token_urlsafe(16)
        self.last_seq, self.outcomes, self.last_reply, self.nonces = 0, {}, None, ()
        if self.cipher is not None:
            self.cipher = parano.Cipher(parano.new_key())
        self.released_at = None
        self.seen_at = time.monotonic()

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
        if self.instance is not None:
            self.instance.close()
        self.instance = None

    @property
    def root(self) -> Any:
        """The app's root tag (for tests and tools); 410 once the page is gone."""
        return self.live().root

    def live(self) -> LiveApp:
        if self.instance is None:
            raise RequestError(410, "page_gone", f"page {self.pid} is gone")
        return self.instance


def encode(outcomes: list[Outcome], batch: bool, generic: bool = False) -> tuple[int, bytes]:
    """A single interaction's answer keeps its HTTP status; a batch answers 200 with one entry per item.

    ``generic``: refusals do not repeat what the request said (parano mode: it was sealed).
    """
    if not batch:
        only = outcomes[0]
        if isinstance(only, RequestError):
            return only.status, (only.generic() if generic else only).body()
        return 200, dumps_bytes(only)
    entries = [refusal(o.generic() if generic else o) if isinstance(o, RequestError) else o for o in outcomes]
    return 200, dumps_bytes(entries)


def track_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Make tasks created while a page's code runs belong to that page.

    Installs (once per loop) a task factory that wraps any existing one.
    """
    previous = loop.get_task_factory()
    if getattr(previous, "htag_sse", False):
        return

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
        task = previous(loop, coro, **kwargs) if previous else asyncio.Task(coro, loop=loop, **kwargs)
        page = current_page.get()
        if page is not None and not page.closed and isinstance(task, asyncio.Task):
            page.adopt(task)
        return task

    factory.htag_sse = True  # type: ignore[attr-defined]
    loop.set_task_factory(factory)
