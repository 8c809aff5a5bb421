"""An HtagSSE app mounted in a bigger Starlette (or FastAPI) app, sharing its session with the outer
app's own routes: one cookie, one `request.session`, the same data the tags see."""

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from htag_sse import MemoryStore

from ..support.apps import build
from ..support.rawtab import RawTab, text_of

FQN = "tests.support.apps.Counter"


def outer_app(htag, **options):
    async def read(request: Request):
        return JSONResponse(request.session.get(FQN, {}))

    async def write(request: Request):
        request.session[FQN] = {"count": int(request.query_params["count"])}
        return JSONResponse({"ok": True})

    routes = [Route("/api/read", read), Route("/api/write", write), Mount("/app", htag)]
    return Starlette(routes=routes, middleware=[htag.session_middleware], **options)


async def test_the_outer_apps_routes_and_the_mounted_tags_share_one_session(asgi_client):
    htag = build("counter", session_store=MemoryStore())
    client = asgi_client(outer_app(htag))
    tab = await RawTab.open(client, "/app/")
    assert tab.config["base"] == "/app/_htag" and '/app/_htag/static/htag-sse.js' in tab.html
    await tab.click("inc")
    assert (await client.get("/api/read")).json() == {"count": 1, "inits": 1}
    await client.get("/api/write?count=41")
    assert text_of(await tab.click("inc")) == "42"
    await htag.stop()


async def test_a_mounted_app_with_middleware_of_its_own_serves_its_pages_and_streams(asgi_client):
    htag = build("counter", session_store=MemoryStore(), middleware=[Middleware(GZipMiddleware, minimum_size=10)])
    client = asgi_client(outer_app(htag))
    tab = await RawTab.open(client, "/app/")
    assert text_of(await tab.click("inc")) == "1"
    r = await client.get(tab.url("poll?after=0&timeout=0").replace("poll?after=0&timeout=0", "alive"))
    assert r.status_code == 204
    await htag.stop()
