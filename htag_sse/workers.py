"""This process among the workers sharing a store: its id, its lease, and who else is alive.

Each worker owns the pages it created (their ids start with its id) and holds
a lease in the store, renewed every ``lease_s / 3``; a worker whose lease has
expired is dead to the others, and a request for one of its pages that reaches
another worker reruns the page there (its record goes). A worker that could not
renew in time — a long synchronous handler, a paused process, a store that could
not answer — takes its lease again under the same id once it can, and gives up
only the pages another worker took meanwhile: the store decides, never its own
clock, so a worker alone never loses a page to a stall. The lease deadline fences
its session writes. Liveness uses the monotonic clock (or the store's own clock),
never the wall clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .bus import Bus, Deliver
from .errors import StoreError
from .stores import Store

log = logging.getLogger("htag_sse")

#: How long another worker's liveness and contact are taken as known.
LIVENESS_CACHE_S = 0.5
#: How long a worker's contact is kept (deleted when it stops; whether it is alive is its lease's business).
CONTACT_TTL_S = 86400.0
#: Past this many lease times without seeing another worker, this one is alone (it stops re-reading sessions).
ALONE_AFTER_LEASES = 2


class Workers:
    def __init__(self, store: Store, bus: Bus | None, *, lease_s: float,
                 epoch: Callable[[], Awaitable[str]] | None = None) -> None:  # fmt: skip
        self.store = store
        self.bus = bus
        self.lease_s = lease_s
        self.epoch = epoch  # changes when the shared store lost its data (Redis restarted empty)
        self._pid = 0
        self._id = ""
        self._holder = ""
        self._fence: float | None = None  # the lease's deadline in the store's clock
        self._valid_until = 0.0  # ... and in ours, counted from before the renewal was asked
        self._keeper: asyncio.Task[None] | None = None
        self._starting: asyncio.Lock | None = None
        self._contact: dict[str, Any] | None = None
        self._deliver: Deliver | None = None
        self._known: tuple[float, dict[str, str]] = (0.0, {})
        self._contacts: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._others_seen = 0.0
        self._epoch: str | None = None
        self._lost: list[Callable[[str], None]] = []
        self._recovered: list[Callable[[], Awaitable[None]]] = []
        self._recovering: asyncio.Lock | None = None
        self._renew_error: str | None = None

    @property
    def me(self) -> str:
        """This process's worker id (a new one after a fork: ``gunicorn --preload``)."""
        if self._pid != os.getpid():
            self._pid, self._id, self._keeper, self._starting = os.getpid(), secrets.token_hex(3), None, None
            self._known, self._contacts, self._contact = (0.0, {}), {}, None
        return self._id

    def my_id(self) -> str:
        return self.me

    def on_lost(self, hook: Callable[[str], None]) -> None:
        """``hook(reason)`` runs when this worker lost its lease for good (the shared store lost its data):
        its pages must go."""
        self._lost.append(hook)

    def on_recovered(self, hook: Callable[[], Awaitable[None]]) -> None:
        """``await hook()`` runs when this worker took its lease again after a stall: the pages another
        worker took meanwhile must go (and what it knew of their sessions)."""
        self._recovered.append(hook)

    @property
    def running(self) -> bool:
        """Whether this process holds its lease (and keeps it)."""
        return self._keeper is not None and self._pid == os.getpid()

    @property
    def alone(self) -> bool:
        """No other worker shares the store (then sessions need no re-reading)."""
        return self._keeper is not None and time.monotonic() - self._others_seen > ALONE_AFTER_LEASES * self.lease_s

    def fence(self) -> float | None:
        return self._fence

    @property
    def valid(self) -> bool:
        """Whether this worker's lease still holds by its own clock (false after a long pause)."""
        return time.monotonic() < self._valid_until

    @staticmethod
    def owner_of(pid: str) -> str:
        return pid.partition(".")[0]

    async def start(self, deliver: Deliver) -> None:
        """Take a lease (once per process, before the first page is made)."""
        me = self.me
        if self._keeper is not None and self.valid:
            return
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._keeper is not None and self.valid:
                return
            self._deliver = deliver
            self._others_seen = time.monotonic()  # company until two leases show none
            await self._take(me)
            if self.epoch is not None:
                self._epoch = await self.epoch()
            await self._look_around()
            self._keeper = asyncio.get_running_loop().create_task(self._keep(), name="htag-sse lease")
            log.info("worker %s (pid %d) started", self.me, os.getpid())

    async def _take(self, me: str) -> None:
        self._holder = f"{me}:{secrets.token_hex(8)}"
        asked = time.monotonic()
        fence = await self.store.acquire("w:" + me, self._holder, self.lease_s)
        if fence is None:  # an id already in use (a fork): take another
            self._id = secrets.token_hex(3)
            return await self._take(self._id)
        self._fence, self._valid_until = fence, asked + self.lease_s

    async def stop(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            self._keeper = None
        if self._holder:
            try:
                await self.store.release("w:" + self.me, self._holder)
                await self.store.delete("c:" + self.me)
            except StoreError as e:
                log.warning("worker %s could not unregister: %s", self.me, e)
            self._holder = ""
        if self.bus is not None:
            await self.bus.close()

    async def alive(self, wid: str) -> bool:
        """Whether worker ``wid`` holds its lease (known within ``LIVENESS_CACHE_S``; a worker missing
        from what was known is looked up again: it may have started since)."""
        if "w:" + wid in await self._holders():
            return True
        self._known = (time.monotonic(), await self.store.holders())
        return "w:" + wid in self._known[1]

    async def others(self) -> list[str]:
        """The ids of the other live workers (known within ``LIVENESS_CACHE_S``)."""
        return sorted(n[2:] for n in await self._holders() if n.startswith("w:") and n[2:] != self.me)

    async def contact(self, wid: str, wait_s: float = 0.0) -> dict[str, Any] | None:
        """How to reach a live worker (it publishes that once it knows it is not alone), or None."""
        deadline = time.monotonic() + wait_s
        while True:
            now = time.monotonic()
            known = self._contacts.get(wid)
            if known is None or now - known[0] > LIVENESS_CACHE_S or (known[1] is None and wait_s):
                raw = await self.store.get("c:" + wid)
                known = self._contacts[wid] = (now, json.loads(raw) if raw else None)
                if len(self._contacts) > 1024:
                    self._contacts = {k: v for k, v in self._contacts.items() if now - v[0] <= LIVENESS_CACHE_S}
            if known[1] is not None or now >= deadline or not await self.alive(wid):
                return known[1]
            await asyncio.sleep(0.05)  # a worker that just learnt it has company opens its inbox

    async def _holders(self) -> dict[str, str]:
        now = time.monotonic()
        if now - self._known[0] > LIVENESS_CACHE_S:
            self._known = (now, await self.store.holders())
        return self._known[1]

    async def _look_around(self) -> None:
        """Learn who else is alive; with company, open the inbox and publish how to reach it."""
        self._known = (time.monotonic(), await self.store.holders())
        company = any(name != "w:" + self.me for name in self._known[1])
        if company:
            self._others_seen = time.monotonic()
        if company or getattr(self.bus, "direct", False):  # a direct bus listens from the start
            await self.open_inbox()

    async def open_inbox(self) -> None:
        """Receive messages from the other workers (once this one has company, or calls one of them),
        and publish how they reach it."""
        if self._contact is not None or self.bus is None or self._deliver is None:
            return
        self._contact = await self.bus.open(self.me, self._deliver)
        log.debug("worker %s opened its inbox: %s", self.me, self._contact)
        if getattr(self.bus, "direct", False):
            return  # reached by its id: nothing to publish
        # liveness is the lease's (monotonic): a wall-clock expiry here could pass early
        await self.store.set("c:" + self.me, json.dumps(self._contact).encode(), CONTACT_TTL_S)

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            asked = time.monotonic()
            try:
                if not self.valid:
                    await self.recover()
                    continue
                fence = await self.store.renew("w:" + self.me, self._holder, self.lease_s)
                if fence is None:  # the store's clock says it passed: take it again
                    self._valid_until = 0.0
                    await self.recover()
                    continue
                self._fence, self._valid_until = fence, asked + self.lease_s
                if self.epoch is not None and await self.epoch() != self._epoch:
                    await self._lose("the shared store lost its data")
                    continue
                await self._look_around()
                self._renew_error = None
            except StoreError as e:  # a hiccup: the lease lasts three renewals
                self._renew_error = str(e)
                log.warning("worker %s could not renew its lease: %s", self.me, e)

    async def ensure_valid(self) -> None:
        """Before serving one of its pages, or writing: a worker whose lease passed takes it again first
        (giving up the pages another worker took meanwhile). :class:`StoreError` if the store cannot say."""
        if self._keeper is not None and self._fence is not None and not self.valid:
            await self.recover()

    async def recover(self) -> None:
        """Take the lease again, under the same id, after a stall past it; then the ``on_recovered`` hooks
        drop what another worker took meanwhile. Nothing is given up for the stall itself."""
        if self._recovering is None:
            self._recovering = asyncio.Lock()
        async with self._recovering:
            if self.valid:
                return
            me, why, asked = self.me, self._why_late(), time.monotonic()
            fence = await self.store.renew("w:" + me, self._holder, self.lease_s)  # the store's clock may differ
            if fence is None:
                holder = f"{me}:{secrets.token_hex(8)}"
                fence = await self.store.acquire("w:" + me, holder, self.lease_s)
                if fence is None:  # another process holds this id: it may not serve these pages
                    await self._lose("another process holds its id")
                    return
                self._holder = holder
            for hook in self._recovered:  # before it serves anything again (requests wait on the lock)
                await hook()
            self._fence, self._valid_until, self._renew_error = fence, asked + self.lease_s, None
            log.info("worker %s holds its lease again (%s): it keeps the pages nobody took meanwhile", me, why)

    def _why_late(self) -> str:
        if self._renew_error is not None:
            return f"its lease could not be renewed in time ({self._renew_error})"
        return "paused past its lease"

    async def _lose(self, reason: str) -> None:
        """This worker may no longer serve its pages (the shared store lost its data, or its id is taken):
        they go (and rerun), and it starts over under a new id."""
        old = self.me
        log.warning("worker %s stops serving its pages: %s", old, reason)
        self._fence = None
        for hook in self._lost:
            hook(reason)
        self._id = secrets.token_hex(3)
        self._contact = None
        try:
            await self._take(self._id)
            if self.epoch is not None:
                self._epoch = await self.epoch()
            await self._look_around()
            log.info("worker %s continues as %s", old, self._id)
        except StoreError as e:
            log.warning("worker %s cannot take a new lease yet: %s", self._id, e)
