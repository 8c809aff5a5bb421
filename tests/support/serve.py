"""``hypercorn tests.support.serve:app``: the test app named by ``HTAG_SSE_TEST_APP``; ``*``: every app
of :mod:`tests.support.apps` and of :mod:`tests.support.apps_client` at ``/<name>``, the same in
parano mode at ``/parano/<name>``, the counter at ``/``.

Plain routes ``/session/write?key=value`` and ``/session/read`` show that
``request.session`` and ``tag.state`` are one; ``/login?user=x`` logs a user in as
:class:`~htag_sse.OAuthLogin` does (the user, then ``rotate_session``), ``/logout`` clears the
session. Options, logs and ``Connection: close`` come from the environment (:mod:`.serving`).
"""

import os

from htag import Tag
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import apps_client
from .apps import APPS, build
from .serving import prepare

#: What a server process imports to serve these apps.
TARGET = f"{__name__}:app"
#: What ``*`` serves at ``/<name>`` (and ``/parano/<name>``).
EVERY_APP: dict[str, type[Tag]] = {**APPS, **apps_client.APPS}


async def write(request: Request) -> JSONResponse:
    request.session.update(request.query_params)
    return JSONResponse(dict(request.session))


async def read(request: Request) -> JSONResponse:
    return JSONResponse(dict(request.session))


async def login(request: Request) -> JSONResponse:
    request.session["user"] = request.query_params["user"]
    return JSONResponse({"sid": await app.rotate_session(request)})


async def logout(request: Request) -> JSONResponse:
    request.session.clear()
    return JSONResponse({})


def every_app(name: str, parano: bool = False) -> Route:
    async def page(request: Request) -> Response:
        return await app.handle(request, EVERY_APP[name], parano=parano)

    return Route(f"/parano/{name}" if parano else f"/{name}", page)


SESSION_ROUTES = [Route("/session/write", write), Route("/session/read", read), Route("/login", login),
                  Route("/logout", logout)]  # fmt: skip
if os.environ.get("HTAG_SSE_TEST_APP") == "*":
    routes = [every_app(name, parano) for parano in (False, True) for name in EVERY_APP]
    app = build("counter", routes=[*SESSION_ROUTES, *routes])
else:
    app = build(os.environ.get("HTAG_SSE_TEST_APP", "counter"), routes=SESSION_ROUTES)
prepare(app)
