"""The session is request.session and tag.state; it lives in the store, not in a page."""

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from htag_sse import DiskStore, MemoryStore

from ..support.apps import build
from ..support.rawtab import RawTab, text_of

FQN = "tests.support.apps.Counter"


def with_routes(store, **options):
    async def read(request: Request):
        return JSONResponse(request.session.get(FQN, {}))

    async def write(request: Request):
        request.session[FQN] = {"count": int(request.query_params["count"])}
        return PlainTextResponse("ok")

    async def login(request: Request):
        request.session["user"] = "ann"
        await request.app.rotate_session(request)
        return PlainTextResponse("ok")

    routes = [Route("/read", read), Route("/write", write), Route("/login", login)]
    return build("counter", session_store=store, routes=routes, **options)


async def test_tag_state_and_request_session_are_the_same_data(asgi_client):
    client = asgi_client(with_routes(MemoryStore()))
    tab = await RawTab.open(client)
    await tab.click("inc")
    await tab.click("inc")
    assert (await client.get("/read")).json()["count"] == 2  # written by tag.state, read by request.session
    await client.get("/write?count=41")  # written by request.session...
    assert text_of(await tab.click("inc")) == "42"  # ...read by tag.state in the open page


async def test_state_survives_f5(asgi_client):
    client = asgi_client(with_routes(MemoryStore()))
    tab = await RawTab.open(client)
    await tab.click("inc")
    again = await RawTab.open(client)  # F5: a new page, same session
    assert again.page != tab.page
    assert 'class="count" id' in again.html and ">1</span>" in again.html


async def test_state_survives_a_server_restart_with_the_disk_store(asgi_client, tmp_path):
    first = with_routes(DiskStore(tmp_path / "s"))
    async with first.router.lifespan_context(first):  # the first server runs, then stops
        client = asgi_client(first)
        tab = await RawTab.open(client)
        await tab.click("inc")
    restarted = asgi_client(with_routes(DiskStore(tmp_path / "s")))  # a new process' view
    restarted.cookies = client.cookies
    again = await RawTab.open(restarted)
    assert ">1</span>" in again.html
    assert "set-cookie" not in (await restarted.get("/read")).headers  # same session, no new cookie


async def test_a_cookie_chosen_by_an_attacker_is_not_adopted(asgi_client):
    app = with_routes(MemoryStore())
    client = asgi_client(app)
    client.cookies.set("htag_sid", "chosen-by-attacker")
    r = await client.get("/")
    assert "htag_sid=" in r.headers["set-cookie"]
    assert "chosen-by-attacker" not in r.headers["set-cookie"]


async def test_rotating_the_session_id_keeps_the_data_kills_the_old_id_and_ends_its_pages(asgi_client):
    app = with_routes(MemoryStore())
    client = asgi_client(app)
    tab = await RawTab.open(client)
    await tab.click("inc")
    old = client.cookies["htag_sid"]
    r = await client.get("/login")
    new = client.cookies["htag_sid"]
    assert new != old and "htag_sid=" + new in r.headers["set-cookie"]
    assert (await client.get("/read")).json()["count"] == 1
    gone = await tab.post(tab.calls["inc"])  # a page belongs to who was logged in when it opened
    assert gone.status_code == 410 and gone.json()["error"] in ("page_gone", "session_changed")
    assert text_of(await (await RawTab.open(client)).click("inc")) == "2"  # a new page: the same data
    stale = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    stale.cookies.set("htag_sid", old)
    assert (await stale.get("/read")).json() == {}
    await stale.aclose()


async def test_plain_routes_that_do_not_touch_the_session_create_none(asgi_client):
    app = with_routes(MemoryStore())
    client = asgi_client(app)
    for path in ("/_htag/static/htag-sse.js", "/read"):
        r = await client.get(path)
        assert r.status_code == 200 and "set-cookie" not in r.headers
    assert not app.store._maps  # no session stored
