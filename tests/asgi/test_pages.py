"""GET renders a page once: the first paint, with the page id, token and client."""

import json
import re

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from htag_sse import AppServer, HtagSSE, MemoryStore, Runner

from ..support.apps import Args, Counter, build
from ..support.rawtab import RawTab


async def test_the_page_is_the_complete_first_paint(asgi_client):
    app = build("counter", session_store=MemoryStore())
    r = await asgi_client(app).get("/")
    assert r.status_code == 200
    assert re.search(r'<span class="count" id="\d+">0</span>', r.text)
    assert re.search(r'<script src="/_htag/static/htag-sse\.js\?v=[0-9a-f]{12}"></script>', r.text)
    boot = json.loads(re.search(r"htagSSE\((\{.*?\})\);", r.text).group(1))
    assert set(boot) >= {"page", "token", "base", "transport", "last"}
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


async def test_the_app_is_initialised_once_per_page_no_second_rendering(asgi_client):
    app = build("counter", session_store=MemoryStore())
    client = asgi_client(app)
    tab = await RawTab.open(client)
    for _ in range(3):
        await tab.click("inc")
    session_dump = await app.sessions.resolve(client.cookies["htag_sid"])
    assert session_dump["tests.support.apps.Counter"]["inits"] == 1


async def test_the_session_cookie_is_httponly_samesite_lax_and_secure_only_on_https(asgi_client):
    app = build("counter", session_store=MemoryStore())
    plain = await asgi_client(app).get("/")
    cookie = plain.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = await asgi_client(app, base_url="https://testserver").get("/")
    assert "; Secure" in secure.headers["set-cookie"]


async def test_the_query_string_gives_the_init_arguments(asgi_client):
    app = HtagSSE(Args, session_store=MemoryStore())
    r = await asgi_client(app).get("/?first&name=bob&empty=")
    shown = json.loads(re.search(r'<pre class="args" id="\d+">(.*?)</pre>', r.text).group(1).replace("&quot;", '"'))
    assert shown == {"args": ["first"], "kargs": {"empty": None, "name": "bob"}}


async def test_head_requests_create_no_page(asgi_client):
    app = build("counter", session_store=MemoryStore())
    r = await asgi_client(app).head("/")
    assert r.status_code == 200 and len(app.pages) == 0


async def test_the_client_script_is_served_with_long_caching(asgi_client):
    app = build("counter", session_store=MemoryStore())
    client = asgi_client(app)
    page = await client.get("/")
    src = re.search(r'<script src="(/_htag/static/htag-sse\.js\?v=\w+)"', page.text).group(1)
    js = await client.get(src)
    assert js.status_code == 200 and "window.interact" in js.text
    assert "javascript" in js.headers["content-type"]
    assert js.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = await client.get(src, headers={"If-None-Match": js.headers["etag"]})
    assert again.status_code == 304
    assert (await client.get("/_htag/static/nope.js")).status_code == 404


async def test_htagweb_names_and_several_apps_on_their_own_routes(asgi_client):
    assert AppServer is HtagSSE and Runner is HtagSSE

    async def counter(request):
        return await app.handle(request, Counter)

    async def args(request):
        return await app.handle(request, Args, http_only=True)

    app = AppServer(routes=[Route("/c", counter), Route("/a", args)], session_store=MemoryStore())
    client = asgi_client(app)
    c = await RawTab.open(client, "/c")
    a = await RawTab.open(client, "/a?x")
    assert c.config["transport"] == "auto" and a.config["transport"] == "none"
    assert "1" in json.dumps(await c.click("inc"))
    assert (await client.get("/")).status_code == 404  # no app given: no home route


async def test_mounted_under_a_path_the_page_points_to_the_mount(asgi_client):
    inner = build("counter", session_store=MemoryStore())
    outer = Starlette(routes=[Mount("/sub", app=inner)])
    client = asgi_client(outer)
    tab = await RawTab.open(client, "/sub/")
    assert tab.config["base"] == "/sub/_htag"
    assert '<script src="/sub/_htag/static/htag-sse.js' in tab.html
    r = await tab.post(tab.calls["inc"])
    assert r.status_code == 200 and "1</span>" in r.text


class WriteLog(MemoryStore):
    """A memory store noting every call that writes."""

    def __init__(self, fail_create: bool = False):
        super().__init__()
        self.writes: list[str] = []
        self.fail_create = fail_create

    async def create(self, key, ttl_s):
        self.writes.append("create")
        return await super().create(key, ttl_s)

    async def create_with(self, key, fields, ttl_s, values):
        self.writes.append("create_with")
        if self.fail_create:
            from htag_sse import StoreError

            raise StoreError("disk full")
        return await super().create_with(key, fields, ttl_s, values)

    async def set(self, key, value, ttl_s):
        self.writes.append("set")
        await super().set(key, value, ttl_s)

    async def save(self, writes, ttl_s, fence=None):
        self.writes.append("save")
        return await super().save(writes, ttl_s, fence)


async def test_a_new_visitors_session_and_page_record_are_one_store_write(asgi_client):
    store = WriteLog()
    app = build("counter", session_store=store)  # its init writes to tag.state: stored in the same write
    client = asgi_client(app)
    tab = await RawTab.open(client)
    assert store.writes == ["create_with"]
    session = await app.sessions.resolve(client.cookies["htag_sid"])
    assert session["tests.support.apps.Counter"]["inits"] == 1 and session.version == 1
    record = await store.get(f"p:{tab.page}")
    assert record is not None and json.loads(record)["sid"] == session.sid
    store.writes.clear()
    await RawTab.open(client)  # a second page of the same session: its record only
    assert store.writes == ["set", "save"]


async def test_a_new_visitor_whose_session_cannot_be_stored_leaves_nothing(asgi_client):

    store = WriteLog(fail_create=True)
    app = build("counter", session_store=store)
    r = await asgi_client(app).get("/")
    assert r.status_code == 503 and r.headers["retry-after"]  # the browser may ask again
    assert len(app.pages) == 0 and len(store) == 0 and len(app.sessions) == 0
