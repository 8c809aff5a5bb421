"""This worker's side of the calls other workers relay for its pages: the same checks as a local request."""

from __future__ import annotations

import time
from typing import Any

from ..errors import RequestError
from ..security import check_token
from ..workers import Workers
from .page import Page
from .refs import GONE, LocalRef
from .registry import Pages


class Owner:
    """This worker's side of the calls other workers relay for its pages (the same checks)."""

    def __init__(self, pages: Pages, workers: Workers) -> None:
        self.pages, self.workers = pages, workers

    def handlers(self) -> dict[str, Any]:
        return {"interact": self.interact, "events": self.events, "alive": self.alive, "release": self.release}

    async def _page(self, call: dict[str, Any]) -> Page:
        await self.workers.ensure_valid()
        page = self.pages.get(str(call.get("pid")))
        if page is None or page.closed:
            raise RequestError(410, "page_gone", GONE)
        await self.pages.own_session(page, call.get("sid"), None)
        page.seen_at = time.monotonic()
        page.connected = True
        return page

    async def interact(self, call: dict[str, Any]) -> dict[str, Any]:
        page = await self._page(call)
        check_token(page.token, call.get("token"))
        await self.pages.sessions.refresh(page.session)  # the relaying worker may have written it
        body = call.get("body")
        if isinstance(body, dict) and "refused" in body:
            status, code, text = body["refused"]
            body = RequestError(int(status), str(code), str(text))
        status, reply = await page.answer(body if isinstance(body, (bytes, RequestError)) else b"", call.get("seq"))
        return {"status": status, "body": reply}

    async def events(self, call: dict[str, Any]) -> dict[str, Any]:
        page = await self._page(call)
        cursor = call.get("cursor")
        found = await LocalRef(page).events(cursor if isinstance(cursor, int) else None, float(call["timeout_s"]))
        if found is None:
            raise RequestError(410, "page_gone", GONE)
        return {"events": found}

    async def alive(self, call: dict[str, Any]) -> dict[str, Any]:
        await self._page(call)
        return {}

    async def release(self, call: dict[str, Any]) -> dict[str, Any]:
        page = await self._page(call)
        check_token(page.token, call.get("token"))
        page.released_at = time.monotonic()
        return {}
