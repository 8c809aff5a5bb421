"""This worker's side of the calls other workers relay for its pages: the same checks as a local request."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import RequestError
from ..relay import Handler
from ..security import check_token
from ..workers import Workers
from .call import PageCall
from .page import Page
from .refs import GONE, LocalRef
from .registry import Pages


class Owner:
    """This worker's side of the calls other workers relay for its pages (the same checks)."""

    def __init__(self, pages: Pages, workers: Workers) -> None:
        self.pages, self.workers = pages, workers

    def handlers(self) -> dict[str, Handler]:
        calls = {"interact": self.interact, "events": self.events, "alive": self.alive, "release": self.release}

        def handler(answer: Callable[[PageCall], Awaitable[dict[str, Any]]]) -> Handler:
            return lambda payload: answer(PageCall.from_payload(payload))

        return {kind: handler(answer) for kind, answer in calls.items()}

    async def _page(self, call: PageCall) -> Page:
        await self.workers.ensure_valid()
        page = self.pages.get(call.pid)
        if page is None or page.closed:
            raise RequestError(410, "page_gone", GONE)
        await self.pages.own_session(page, call.sid, None)
        page.seen_at = time.monotonic()
        page.connected = True
        return page

    async def interact(self, call: PageCall) -> dict[str, Any]:
        page = await self._page(call)
        check_token(page.token, call.token)
        await self.pages.sessions.refresh(page.session)  # the relaying worker may have written it
        status, reply = await page.answer(call.body if call.body is not None else b"", call.seq)
        return {"status": status, "body": reply}

    async def events(self, call: PageCall) -> dict[str, Any]:
        page = await self._page(call)
        found = await LocalRef(page).events(call.cursor, call.timeout_s)
        if found is None:
            raise RequestError(410, "page_gone", GONE)
        return {"events": found}

    async def alive(self, call: PageCall) -> dict[str, Any]:
        await self._page(call)
        return {}

    async def release(self, call: PageCall) -> dict[str, Any]:
        page = await self._page(call)
        check_token(page.token, call.token)
        page.released_at = time.monotonic()
        return {}
