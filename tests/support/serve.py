"""``hypercorn tests.support.serve:app``: the test app named by ``HTAG_SSE_TEST_APP`` (``*``: every
app of :mod:`tests.support.apps` at ``/<name>``, the counter at ``/``).

Plain routes ``/session/write?key=value`` and ``/session/read`` show that
``request.session`` and ``tag.state`` are one; ``/login?user=x`` logs a user in as
:class:`~htag_sse.OAuthLogin` does (the user, then ``rotate_session``), ``/logout`` clears the session. With ``HTAG_SSE_TEST_SPREAD=1``
every answer but streams says ``Connection: close``: browsers then open a new
connection per request, which the kernel hands to any worker. ``HTAG_SSE_TEST_LOG=info`` logs
as ``app.run()`` does, htag-sse's own lines from DEBUG (the topologies' tests read them).
"""

import logging
import os

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from htag_sse.server.logs import setup_logging

from .apps import APPS, build

#: What a server process imports to serve these apps.
TARGET = f"{__name__}:app"


async def write(request: Request) -> JSONResponse:
    request.session.update(request.query_params)
    return JSONResponse(dict(request.session))


async def read(request: Request) -> JSONResponse:
    return JSONResponse(dict(request.session))


class Spread:
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


async def login(request: Request) -> JSONResponse:
    request.session["user"] = request.query_params["user"]
    return JSONResponse({"sid": await app.rotate_session(request)})


async def logout(request: Request) -> JSONResponse:
    request.session.clear()
    return JSONResponse({})


def every_app(name: str) -> Route:
    async def page(request: Request) -> Response:
        return await app.handle(request, APPS[name])

    return Route(f"/{name}", page)


SESSION_ROUTES = [Route("/session/write", write), Route("/session/read", read), Route("/login", login),
                  Route("/logout", logout)]  # fmt: skip
if os.environ.get("HTAG_SSE_TEST_LOG"):
    setup_logging(os.environ["HTAG_SSE_TEST_LOG"])
    logging.getLogger("htag_sse").setLevel(logging.DEBUG)  # what the topologies' tests wait for (relays)
if os.environ.get("HTAG_SSE_TEST_APP") == "*":
    app = build("counter", routes=[*SESSION_ROUTES, *(every_app(name) for name in APPS)])
else:
    app = build(os.environ.get("HTAG_SSE_TEST_APP", "counter"), routes=SESSION_ROUTES)
if os.environ.get("HTAG_SSE_TEST_SPREAD"):
    app.add_middleware(Spread)
