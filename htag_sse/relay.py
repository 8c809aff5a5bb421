"""Requests between workers: a call to the worker that owns a page, and its reply, over the bus."""

from __future__ import annotations

import asyncio
import itertools
import logging
import pickle
from collections.abc import Awaitable, Callable
from typing import Any

from .errors import RequestError
from .workers import Workers

log = logging.getLogger("htag_sse")

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

#: While waiting for a reply, the owner's lease is checked this often.
LIVENESS_CHECK_S = 1.0


class Relay:
    """Calls a handler (``interact``, ``poll``, ``alive``) in another worker and waits for its reply.

    A call fails with 410 (page gone) as soon as the owner's lease expires,
    and with 504 past its timeout: no request waits on a dead worker.
    """

    def __init__(self, workers: Workers, handlers: dict[str, Handler]) -> None:
        self.workers = workers
        self.handlers = handlers
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def call(self, to: str, kind: str, payload: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        await self.workers.start(self.deliver)  # the reply comes to our inbox
        contact = self.workers.contact(to)
        bus = self.workers.bus
        if contact is None or bus is None:
            raise RequestError(410, "page_gone", "the worker that held this page is gone: rerun it")
        rid = next(self._ids)
        reply = self._waiting[rid] = asyncio.get_running_loop().create_future()
        try:
            await bus.send(to, contact, pickle.dumps({"k": kind, "id": rid, "from": self.workers.me, "p": payload}))
        except ConnectionError:  # its process is gone (the lease has not expired yet)
            self._waiting.pop(rid, None)
            log.warning("worker %s cannot be reached: its pages rerun elsewhere", to)
            raise RequestError(410, "page_gone", "the worker that held this page is gone: rerun it") from None
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    done, _ = await asyncio.wait([reply], timeout=LIVENESS_CHECK_S)
                    if done:
                        return reply.result()
                    if self.workers.contact(to) is None:
                        log.warning("worker %s died while answering a %s call", to, kind)
                        raise RequestError(410, "page_gone", "the worker that held this page died: rerun it")
        except TimeoutError:
            raise RequestError(504, "worker_timeout", f"worker {to} did not answer within {timeout_s:g} s") from None
        finally:
            self._waiting.pop(rid, None)

    def deliver(self, raw: bytes) -> None:
        """A message from the bus: a reply to one of our calls, or a call to answer."""
        try:
            message = pickle.loads(raw)
        except Exception:
            log.exception("bus: unreadable message dropped")
            return
        if message["k"] == "reply":
            waiter = self._waiting.get(message["id"])
            if waiter is not None and not waiter.done():
                waiter.set_result(message["p"])
            return
        task = asyncio.get_running_loop().create_task(self._answer(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, message: dict[str, Any]) -> None:
        handler = self.handlers.get(message["k"])
        try:
            if handler is None:
                raise RequestError(400, "bad_call", f"no handler for {message['k']!r}")
            result = await handler(message["p"])
        except RequestError as e:
            result = {"status": e.status, "body": e.body()}
        except Exception as e:
            log.exception("forwarded %s call failed", message["k"])
            result = {"status": 500, "body": RequestError(500, "server_error", str(e)[:200]).body()}
        caller = self.workers.contact(message["from"])
        if caller is not None and self.workers.bus is not None:
            reply = {"k": "reply", "id": message["id"], "from": self.workers.me, "p": result}
            try:
                await self.workers.bus.send(message["from"], caller, pickle.dumps(reply))
            except ConnectionError:
                log.warning("the reply to worker %s was lost: it is gone", message["from"])
