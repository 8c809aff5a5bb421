"""The apps the benchmarks serve: ``hypercorn bench.apps:<name>``.

``counter``, ``counter_plain``, ``counter_state``, ``form``, ``push`` and ``ticker`` are htag-sse apps
serving bench/tags.py's ``Counter``, ``PlainCounter``, ``StateCounter``, ``Form``, ``Push`` and ``Ticker``
(``counter_htag``: ``Counter`` through htag's own ``HRenderer``, ``lean=False``) (``counter_debug`` and ``push_debug``: the same in debug mode, whose
responses say which worker process answered); ``bare`` is the baseline: plain Starlette
endpoints doing the least a page and a click need.
"""

from __future__ import annotations

import itertools
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from bench.tags import Counter, Form, PlainCounter, Push, StateCounter, Ticker
from htag_sse import HtagSSE, tune_gc

#: About the size of the counter's page (~2.7 KB).
HTML = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>bare</title></head><body>"
    "<span id='1'>0</span><button id='2'>+1</button>"
    f"<p>{'lorem ipsum dolor sit amet ' * 108}</p></body></html>"
)
_clicks = itertools.count(1)


class Held:
    """A held response as lean as ASGI allows: a first chunk, then nothing until the client leaves
    (what a server itself costs per open stream; bench_idle.py)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        await send({"type": "http.response.body", "body": b"event: hello\ndata: {}\n\n", "more_body": True})
        while (await receive())["type"] != "http.disconnect":
            pass


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(HTML)


async def click(request: Request) -> JSONResponse:
    data = await request.json()
    return JSONResponse({"update": {str(data["id"]): f"<span id='1'>{next(_clicks)}</span>"}})


#: The benchmarks open up to a few thousand sessions a minute, all from 127.0.0.1.
UNLIMITED = {"max_new_sessions_per_minute": 1 << 30}
if os.environ.get("BENCH_TUNE_GC") == "1":  # what docs/deploy.md advises a server.py to do
    tune_gc()

counter = HtagSSE(Counter, **UNLIMITED)
#: The counter bound without ``ev``; the counter keeping its count in the session too; htag's own path.
counter_plain = HtagSSE(PlainCounter, **UNLIMITED)
counter_state = HtagSSE(StateCounter, **UNLIMITED)
counter_htag = HtagSSE(Counter, lean=False, **UNLIMITED)
#: The counter with every default (60 new sessions a minute per address, the loopback trusted as a proxy):
#: bench_peers.py --harness.
counter_default = HtagSSE(Counter)
#: A 200-tag form whose button re-renders it (bench_peers.py --app form), lean and on htag's own path. A
#: longer lease: 64 users clicking on htag's path keep the worker's loop busy past the default 5 s lease.
form = HtagSSE(Form, lease_s=30, **UNLIMITED)
form_htag = HtagSSE(Form, lean=False, lease_s=30, **UNLIMITED)
push = HtagSSE(Push, **UNLIMITED)
#: Every page pushes ``time.monotonic()`` once a second, from its creation on.
ticker = HtagSSE(Ticker, **UNLIMITED)
#: Debug mode: every response names the worker process that answered (``X-Htag-Worker: <os pid>``).
counter_debug = HtagSSE(Counter, debug=True, **UNLIMITED)
push_debug = HtagSSE(Push, debug=True, **UNLIMITED)
bare = Starlette(routes=[Route("/", page), Route("/click", click, methods=["POST"]), Route("/stream", Held())])
