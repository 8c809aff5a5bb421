"""``hypercorn tests.support.faultapps:app``: the apps the fault and hardening tests attack.

``HTAG_SSE_FAULT_APP`` names the app served at ``/`` (module variable ``app``),
options come as JSON in ``HTAG_SSE_TEST_OPTIONS``, sessions go to ``HTAG_SSE_DIR``.
Plain routes beside it: ``/login`` and ``/logout`` (``rotate_session``, as the
OAuth helper does), ``/mint?k=v`` (writes ``request.session``), ``/whoami``,
``/echo`` (a POST route of the app's own, reading its body), ``/renders`` (how
many times a :class:`Rendered` page was rendered), and ``/app/<name>``: a page of
another app of :data:`APPS`.
"""
from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from htag import Tag
from htagui.fileupload import FileUpload
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from htag_sse import HtagSSE

from .apps import Clock, Counter, Vault


class Upload(Tag.div):
    """htagui's file field: the file comes base64'd inside an interaction."""

    def init(self):
        self.got = Tag.span("none", _class="got")
        self += FileUpload(self.received, _class="file")
        self += self.got

    def received(self, name, content):
        self.got.clear(f"{name}:{len(content)}")


class Number(Tag.div):
    """``int(n)`` of the query string: ``/?n=<img ...>`` makes ``init`` fail with the text in its message."""

    def init(self, n="0"):
        self += Tag.span(int(n) * 2, _class="double")


class Rendered(Tag.div):
    """A page with a ``render()`` method: htag calls it at every rendering, which this counts."""

    renders = 0

    def init(self):
        self.n = 0

    def render(self):
        Rendered.renders += 1
        self.clear(Tag.span("x" * 2000, _class="bulk"))


class Pusher(Tag.div):
    """Pushes ``size`` bytes of text (query string; 100) every ``tick`` seconds (0.1)."""

    def init(self, size="100", tick="0.1"):
        self.n = 0
        self.value = Tag.span("", _class="blob")
        self += self.value
        asyncio.ensure_future(self.run(int(size), float(tick)))

    async def run(self, size, tick):
        while True:
            await asyncio.sleep(tick)
            self.n += 1
            self.value.clear(f"{self.n}:" + "b" * size)
            if not await self.value.update():
                return


APPS: dict[str, type[Tag]] = {
    "counter": Counter, "clock": Clock, "vault": Vault, "upload": Upload, "number": Number, "rendered": Rendered,
    "pusher": Pusher,
}  # fmt: skip


def build(name: str, **options: Any) -> HtagSSE:
    """``HtagSSE(<app>)`` with this module's plain routes; options from the environment, then ``options``."""
    env = json.loads(os.environ.get("HTAG_SSE_TEST_OPTIONS", "{}"))
    holder: list[HtagSSE] = []

    async def login(request: Request) -> JSONResponse:
        request.session["user"] = request.query_params.get("user", "alice")
        sid = await holder[0].rotate_session(request)
        return JSONResponse({"sid": sid})

    async def logout(request: Request) -> JSONResponse:
        request.session.clear()
        sid = await holder[0].rotate_session(request)
        return JSONResponse({"sid": sid})

    async def mint(request: Request) -> JSONResponse:
        request.session.update(request.query_params)
        return JSONResponse(dict(request.session))

    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse(dict(request.session))

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"bytes": len(await request.body())})

    async def renders(request: Request) -> JSONResponse:
        return JSONResponse({"renders": Rendered.renders})

    async def other(request: Request) -> Response:
        return await holder[0].handle(request, APPS[request.path_params["name"]])

    routes = [Route("/login", login), Route("/logout", logout), Route("/mint", mint), Route("/whoami", whoami),
              Route("/renders", renders), Route("/app/{name}", other), Route("/echo", echo, methods=["POST"])]  # fmt: skip
    app = HtagSSE(APPS[name], routes=routes, **{**env, **options})
    holder.append(app)
    return app


if os.environ.get("HTAG_SSE_FAULT_APP"):
    app = build(os.environ["HTAG_SSE_FAULT_APP"])
