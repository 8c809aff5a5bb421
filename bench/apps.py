"""The apps the benchmarks serve: ``hypercorn bench.apps:<name>``.

``counter`` and ``push`` are htag-sse apps (``counter_debug`` and ``push_debug``: the
same in debug mode, whose responses say which worker process answered); ``bare`` is the
baseline: plain Starlette endpoints doing the least a page and a click need.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import time

from htag import Tag
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from htag_sse import HtagSSE


class Counter(Tag.div):
    """A click counter, its value kept in the session like a real app would."""

    def init(self) -> None:
        self.n = self.state.get("n", 0)
        self.value = Tag.span(self.n)
        self += self.value
        self += Tag.button("+1", _onclick=self.inc)

    def inc(self, ev: object) -> None:
        self.n += 1
        self.state["n"] = self.n
        self.value.clear(self.n)


class Push(Tag.div):
    """Each click starts a task that pushes ``time.monotonic()`` with ``tag.update()``."""

    def init(self) -> None:
        self.stamp = Tag.span("")
        self += self.stamp
        self += Tag.button("ping", _onclick=self.ping)

    def ping(self, ev: object) -> None:
        asyncio.ensure_future(self.send())  # the page owns (and cancels) tasks its code starts

    async def send(self) -> None:
        self.stamp.clear(repr(time.monotonic()))
        await self.stamp.update()


#: About the size of the counter's page (~2.7 KB).
HTML = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>bare</title></head><body>"
    "<span id='1'>0</span><button id='2'>+1</button>"
    f"<p>{'lorem ipsum dolor sit amet ' * 108}</p></body></html>"
)
_clicks = itertools.count(1)


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(HTML)


async def click(request: Request) -> JSONResponse:
    data = await request.json()
    return JSONResponse({"update": {str(data["id"]): f"<span id='1'>{next(_clicks)}</span>"}})


#: The benchmarks open up to a few thousand sessions a minute, all from 127.0.0.1.
UNLIMITED = (
    {"max_new_sessions_per_minute": 1 << 30}
    if "max_new_sessions_per_minute" in inspect.signature(HtagSSE).parameters
    else {}
)
counter = HtagSSE(Counter, **UNLIMITED)
push = HtagSSE(Push, **UNLIMITED)
#: Debug mode: every response names the worker process that answered (``X-Htag-Worker: <os pid>``).
counter_debug = HtagSSE(Counter, debug=True, **UNLIMITED)
push_debug = HtagSSE(Push, debug=True, **UNLIMITED)
bare = Starlette(routes=[Route("/", page), Route("/click", click, methods=["POST"])])
