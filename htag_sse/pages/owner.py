"""This worker's side of the calls other workers relay for its pages: the same checks as a local request."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import RequestError
from ..relay import Handler
from ..workers import Workers
from .call import PageCall, TakeoverCall
from .page import Page
from .refs import GONE, LocalRef
from .registry import Pages, Render

log = logging.getLogger("htag_sse")


class Owner:
    """This worker's side of the calls other workers relay for its pages (the same checks)."""

    def __init__(self, pages: Pages, workers: Workers, render: Render) -> None:
        self.pages, self.workers, self.render = pages, workers, render

    def handlers(self) -> dict[str, Handler]:
        calls = {"interact": self.interact, "events": self.events, "alive": self.alive, "release": self.release}

        def handler(answer: Callable[[PageCall], Awaitable[dict[str, Any]]]) -> Handler:
            return lambda payload: answer(PageCall.from_payload(payload))

        return {
            **{kind: handler(answer) for kind, answer in calls.items()},
            "takeover": lambda payload: self.takeover(TakeoverCall.from_payload(payload)),
            "end_session": self.end_session,
        }

    async def takeover(self, call: TakeoverCall) -> dict[str, Any]:
        """A GET on another worker takes one of this worker's pages over (an F5): render it for that GET."""
        await self.workers.ensure_valid()
        page = await self.pages.take_over(call.sid, call.app, call.init, call.pid, call.token)
        if page is None:
            here = self.pages.get(call.pid)
            log.debug("page %s not handed over: %s", call.pid, "gone" if here is None else
                      f"sid {here.session.sid == call.sid}, app {here.app_ref == call.app}, init {here.init} vs "
                      f"{call.init}, released {here.released_at}, token {call.token is not None}")  # fmt: skip
            raise RequestError(410, "page_gone", GONE)
        page.connected = True
        await self.pages.sessions.refresh(page.session, call.seen)  # the GET's worker may have written it
        return {"html": self.render(page, call.root)}

    async def end_session(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A session ended on another worker (a login, a logout): its pages here go too."""
        sid = payload.get("sid")
        if not isinstance(sid, str):
            raise RequestError(400, "bad_call", "a relayed call with no session")
        return {"dropped": self.pages.end_session(sid, "its session ended on another worker")}

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
        page.check_token(call.token)
        page.released_at = None  # its tab is still there (back from the back/forward cache)
        await self.pages.sessions.refresh(page.session, call.seen)  # the relaying worker may have written it
        status, reply = await page.answer(call.body if call.body is not None else b"", call.seq)
        return {"status": status, "body": reply, "version": page.session.version}

    async def events(self, call: PageCall) -> dict[str, Any]:
        page = await self._page(call)
        found = await LocalRef(page, self.pages).events(call.cursor, call.timeout_s)
        if found is None:
            raise RequestError(410, "page_gone", GONE)
        return {"events": found}

    async def alive(self, call: PageCall) -> dict[str, Any]:
        page = await self._page(call)
        page.released_at = None
        return {}

    async def release(self, call: PageCall) -> dict[str, Any]:
        page = await self._page(call)
        page.check_token(call.token)
        await self.pages.release(page)
        return {}
