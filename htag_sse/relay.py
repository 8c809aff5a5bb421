"""Calls between workers: a request to the worker that owns a page, and its reply, over the bus.

Messages are data only (JSON; bytes as base64): nothing received is ever
unpickled. Each call carries how long its caller waits (a duration: no
wall clock is shared); the owner gives up then too, and no call waits on a
dead worker.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import RequestError, StoreError
from .workers import Workers

log = logging.getLogger("htag_sse")

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

#: While waiting for a reply, the owner's lease is checked this often, and the call sent again (a bus
#: may lose a message: the owner answers a call once, and a copy of it with the same answer).
LIVENESS_CHECK_S = 1.0
#: The answers kept for calls sent again: at most this many, of at most this many bytes in all.
KEPT_ANSWERS, KEPT_BYTES = 256, 8 * 1024 * 1024
GONE = "the worker that held this page is gone: rerun it"


@dataclass(frozen=True, slots=True)
class Message:
    """What travels on the bus: a call of handler ``kind`` (answered within ``within`` seconds),
    or its ``"reply"``; ``id`` pairs them, ``sender`` is the calling worker's id."""

    kind: str
    id: int
    sender: str = ""
    within: float = 0.0
    payload: dict[str, Any] = field(default_factory=dict)


def encode(message: Message) -> bytes:
    data = {"k": message.kind, "id": message.id, "from": message.sender, "within": message.within, "p": message.payload}
    return json.dumps(data, separators=(",", ":"), default=_bytes).encode()


def decode(raw: bytes) -> Message:
    """The message ``raw`` holds; ``ValueError`` or ``TypeError`` if it is not one."""
    data = json.loads(raw, object_hook=_unbytes)
    if not isinstance(data, dict):
        raise ValueError("a bus message is a JSON object")  # noqa: TRY004 - callers drop unreadable messages
    kind, mid, sender, within, payload = (data.get(k) for k in ("k", "id", "from", "within", "p"))
    if not isinstance(kind, str) or not isinstance(mid, int) or not isinstance(sender, str):
        raise TypeError("a bus message names its kind, id and sender")
    if not isinstance(within, int | float) or isinstance(within, bool) or not isinstance(payload, dict | None):
        raise TypeError("a bus message has a time limit and a payload")
    return Message(kind, mid, sender, float(within), payload or {})


def _bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode()}
    raise TypeError(f"{type(value).__name__} cannot travel between workers")


def _unbytes(obj: dict[str, Any]) -> Any:
    return base64.b64decode(obj["$b"]) if len(obj) == 1 and "$b" in obj else obj


class Relay:
    """Calls a handler (``interact``, ``events``, ``alive``...) in another worker and waits for its reply.

    A call fails with 410 (page gone) as soon as the owner's lease expires,
    and with 504 past its timeout. Handlers raise :class:`RequestError` to
    refuse; it travels back as such.
    """

    def __init__(self, workers: Workers, handlers: dict[str, Handler]) -> None:
        self.workers = workers
        self.handlers = handlers
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._answering: set[tuple[str, int]] = set()  # calls being answered: a copy is dropped
        self._answered: OrderedDict[tuple[str, int], bytes] = OrderedDict()  # their answers, for a copy
        self._answered_bytes = 0

    async def call(self, to: str, kind: str, payload: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """The owner's answer; a :class:`RequestError` it raised is raised here too."""
        await self.workers.start(self.deliver)
        await self.workers.open_inbox()  # the reply comes there
        bus = self.workers.bus
        started = time.monotonic()
        # a worker alone so far opens its inbox at its next renewal: wait as long as its lease holds
        contact = await self._contact(to, wait_s=timeout_s)
        if contact is None or bus is None:
            raise RequestError(410, "page_gone", GONE)
        rid = next(self._ids)
        log.debug("relaying %s to worker %s", kind, to)
        reply = self._waiting[rid] = asyncio.get_running_loop().create_future()
        raw = encode(Message(kind, rid, self.workers.me, timeout_s, payload))
        try:
            await bus.send(to, contact, raw)
        except ConnectionError:  # its process is gone (the lease has not expired yet)
            self._waiting.pop(rid, None)
            log.info("worker %s cannot be reached: its pages rerun elsewhere", to)
            raise RequestError(410, "page_gone", GONE) from None
        try:
            async with asyncio.timeout(max(0.0, timeout_s - (time.monotonic() - started))):
                while True:
                    done, _ = await asyncio.wait([reply], timeout=LIVENESS_CHECK_S)
                    if done:
                        break
                    if not await self.workers.alive(to):
                        log.info("worker %s died while answering a %s call", to, kind)
                        raise RequestError(410, "page_gone", GONE)
                    try:  # the owner lives: maybe the call (or its answer) was lost on the way
                        await bus.send(to, contact, raw)
                    except ConnectionError as e:
                        log.debug("a %s call to worker %s could not be sent again: %s", kind, to, e)
        except TimeoutError:
            raise RequestError(504, "worker_timeout", f"worker {to} did not answer within {timeout_s:g} s") from None
        finally:
            self._waiting.pop(rid, None)
        answer: dict[str, Any] = reply.result()
        if "error" in answer:
            status, code, text = answer["error"]
            raise RequestError(int(status), str(code), str(text))
        return answer

    async def broadcast(self, kind: str, payload: dict[str, Any], timeout_s: float = 5.0) -> None:
        """Call ``kind`` on every other live worker (what one does not answer is logged, not raised)."""
        others = await self.workers.others()
        results = await asyncio.gather(
            *(self.call(w, kind, payload, timeout_s) for w in others), return_exceptions=True
        )
        for worker, result in zip(others, results, strict=True):
            if isinstance(result, BaseException):
                log.info("worker %s did not take a %s call: %s", worker, kind, result)

    async def _contact(self, worker: str, wait_s: float) -> Mapping[str, Any] | None:
        """How the bus reaches ``worker`` (None: it cannot): a direct bus needs no contact."""
        bus = self.workers.bus
        if bus is None:
            return None
        if getattr(bus, "direct", False):
            return {}
        return await self.workers.contact(worker, wait_s=wait_s)

    def deliver(self, raw: bytes) -> None:
        """A message from the bus: a reply to one of our calls, or a call to answer."""
        try:
            message = decode(raw)
        except (ValueError, TypeError):
            log.warning("bus: an unreadable message dropped")
            return
        if message.kind == "reply":
            waiter = self._waiting.get(message.id)
            if waiter is not None and not waiter.done():
                waiter.set_result(message.payload)
            return
        if message.within <= 0:
            log.info("bus: a %s call without a time limit: dropped", message.kind[:40])
            return
        call = (message.sender, message.id)
        if call in self._answering:  # a copy of a call being answered: its answer is on its way
            return
        answered = self._answered.get(call)
        work = self._reply(message.sender, answered) if answered is not None else self._answer(message)
        if answered is None:
            self._answering.add(call)
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, message: Message) -> None:
        try:
            result = await self._result(message)
        finally:
            self._answering.discard((message.sender, message.id))
        raw = encode(Message("reply", message.id, payload=result))
        self._keep((message.sender, message.id), raw)
        await self._reply(message.sender, raw)

    def _keep(self, call: tuple[str, int], raw: bytes) -> None:
        """Keep an answer for a copy of its call (bounded in count and bytes)."""
        self._answered[call] = raw
        self._answered_bytes += len(raw)
        while len(self._answered) > KEPT_ANSWERS or self._answered_bytes > KEPT_BYTES:
            _, old = self._answered.popitem(last=False)
            self._answered_bytes -= len(old)

    async def _result(self, message: Message) -> dict[str, Any]:
        handler = self.handlers.get(message.kind)
        try:
            if handler is None:
                raise RequestError(400, "bad_call", f"no handler for {message.kind[:40]!r}")
            async with asyncio.timeout(message.within):  # the caller gives up then: no use going on
                result = await handler(message.payload)
        except TimeoutError:
            result = {"error": [504, "worker_timeout", "the owner did not finish in time"]}
        except RequestError as e:
            result = {"error": [e.status, e.code, e.message]}
        except StoreError as e:
            result = {"error": [503, "store_unavailable", str(e)[:200]]}
        except Exception:
            log.exception("forwarded %s call failed", message.kind)
            result = {"error": [500, "server_error", "the worker that holds this page failed"]}
        return result

    async def _reply(self, sender: str, raw: bytes) -> None:
        bus = self.workers.bus
        contact = await self._contact(sender, wait_s=1.0)
        if contact is None or bus is None:
            log.info("the reply to worker %s was lost: it is gone", sender)
            return
        try:
            await bus.send(sender, contact, raw)
        except ConnectionError:
            log.info("the reply to worker %s was lost: it is gone", sender)
