"""This process among the worker processes sharing a store: its id, its lease,
and who else is alive.

Each worker owns the pages it created (their ids start with its id) and keeps
a lease in the store, renewed every ``lease_s / 3``; a worker whose lease has
expired is dead, and its pages are rerun elsewhere. A worker serving only its
own pages never touches the bus.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import secrets
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .bus import Bus, Deliver
from .stores import Store

log = logging.getLogger("htag_sse")

#: How long an unrenewed lease lasts: a killed worker is known dead within this.
LEASE_S = 3.0
#: How long another worker's liveness is taken as known.
LIVENESS_CACHE_S = 0.5
#: The store key listing the live workers and their leases' ends.
REGISTRY = "workers"


class Workers:
    def __init__(self, store: Store, bus: Bus | None, *, lease_s: float = LEASE_S) -> None:
        self.store = store
        self.bus = bus
        self.lease_s = lease_s
        self._pid = 0
        self._id = ""
        self._contact: dict[str, Any] = {}
        self._renewer: asyncio.Task[None] | None = None
        self._seen: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self.alone = False  # no other live worker shares the store (known at each renewal)
        self._registered = False

    @property
    def me(self) -> str:
        """This process's worker id (a new one after a fork: ``gunicorn --preload``)."""
        if self._pid != os.getpid():
            self._pid, self._id, self._renewer, self._seen = os.getpid(), secrets.token_hex(3), None, {}
        return self._id

    @staticmethod
    def owner_of(pid: str) -> str:
        return pid.partition(".")[0]

    async def start(self, deliver: Deliver) -> None:
        """Take a lease and start receiving messages (once per process)."""
        me = self.me
        if self._renewer is not None:
            return
        if self.bus is not None:
            self._contact = await self.bus.open(me, deliver)
        self._renew()
        self._renewer = asyncio.get_running_loop().create_task(self._keep(), name="htag-sse lease")
        log.info("worker %s (pid %d) started", me, os.getpid())

    def stop(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            self._renewer = None
        if self._registered:
            self._registered = False
            self.store.delete("w:" + self.me)
            self._register(leaving=True)
        if self.bus is not None:
            self.bus.close()

    def contact(self, wid: str) -> dict[str, Any] | None:
        """How to reach worker ``wid``, or None if it is dead (its lease expired)."""
        if wid == self.me:
            return self._contact
        now = time.monotonic()
        known = self._seen.get(wid)
        if known is None or now - known[0] > LIVENESS_CACHE_S:
            blob = self.store.get("w:" + wid)
            known = self._seen[wid] = (now, pickle.loads(blob) if blob else None)
            if len(self._seen) > 1024:
                self._seen = {k: v for k, v in self._seen.items() if now - v[0] <= LIVENESS_CACHE_S}
        return known[1]

    def _renew(self) -> None:
        lease = {"pid": os.getpid(), **self._contact}
        self.store.set("w:" + self.me, pickle.dumps(lease), self.lease_s)
        self._register()
        self._registered = True

    def _register(self, leaving: bool = False) -> None:
        """Keep this worker in the list of live workers; learn whether it is alone."""
        now, me = time.time(), self.me

        def update(current: bytes | None) -> bytes:
            live = {w: end for w, end in (pickle.loads(current) if current else {}).items() if end > now and w != me}
            self.alone = not live and not leaving
            if not leaving:
                live[me] = now + self.lease_s
            return pickle.dumps(live)

        self.store.update(REGISTRY, update)

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                self._renew()
            except Exception:  # a store hiccup: try again next time, the lease lasts 3 renewals
                log.exception("worker %s could not renew its lease", self.me)


class WorkerHeader:
    """Debug mode: every response says which worker process answered (``X-Htag-Worker: <os pid>``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_pid(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-htag-worker", str(os.getpid()).encode())]
            await send(message)

        await self.app(scope, receive, send_with_pid)
