"""What every server module of the tests does to the app it serves, from its environment (the
harness's hosts set it: harness/hosts.py):

- ``HTAG_SSE_TEST_OPTIONS``: the app's options (JSON), e.g. ``{"debug": true}`` (every answer then
  names the worker process that gave it, ``X-Htag-Worker``);
- ``HTAG_SSE_TEST_LOG=info``: log as ``app.run()`` does, htag-sse's own lines from DEBUG (the
  topologies' tests wait for them: ``relaying interact to worker ...``);
- ``HTAG_SSE_TEST_SPREAD=1``: every answer but streams says ``Connection: close``, so browsers open a
  new connection per request, which the kernel hands to any worker.

It imports no htag app: a server of real-world apps (tests/realapps/serve.py) carries the statics
of every Tag class its process imported.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from htag_sse.server.logs import setup_logging


def options() -> dict[str, Any]:
    """The app's options from ``HTAG_SSE_TEST_OPTIONS``."""
    found: dict[str, Any] = json.loads(os.environ.get("HTAG_SSE_TEST_OPTIONS", "{}"))
    return found


def logs() -> None:
    """htag-sse's lines from DEBUG, in the server's output, when ``HTAG_SSE_TEST_LOG`` says so."""
    if os.environ.get("HTAG_SSE_TEST_LOG"):
        setup_logging(os.environ["HTAG_SSE_TEST_LOG"])
        logging.getLogger("htag_sse").setLevel(logging.DEBUG)  # what the topologies' tests wait for (relays)


class Spread:
    """Every answer but event streams closes its connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if (b"content-type", b"text/event-stream; charset=utf-8") not in headers:
                    message["headers"] = [*headers, (b"connection", b"close")]
            await send(message)

        await self.app(scope, receive, closing if scope["type"] == "http" else send)


class NamesWorker:
    """Every answer names the worker process that gave it (``X-Htag-Worker``), as debug mode does, for
    an app the tests cannot build in debug mode (an example that builds its own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def naming(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if not any(k.lower() == b"x-htag-worker" for k, _ in headers):
                    message["headers"] = [*headers, (b"x-htag-worker", str(os.getpid()).encode())]
            await send(message)

        await self.app(scope, receive, naming if scope["type"] == "http" else send)


def prepare(app: Any, *, name_worker: bool = False) -> Any:
    """``app`` with what the environment asks: logs, ``Connection: close`` (and ``X-Htag-Worker``)."""
    logs()
    if name_worker:
        app.add_middleware(NamesWorker)
    if os.environ.get("HTAG_SSE_TEST_SPREAD"):
        app.add_middleware(Spread)
    return app
