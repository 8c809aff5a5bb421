"""Pages live while connected plus a grace period; they are dropped with their
tasks, bounded per session, and rerun from the session when gone."""

import asyncio

from harness.processes import eventually
from htag_sse import DiskStore, MemoryStore

from ..support.apps import build
from ..support.rawtab import RawTab, text_of
from ..support.sse import open_stream


async def rerun(tab):
    r = await tab.client.post(tab.url("rerun"), headers={"X-Htag-Token": tab.config["token"]})
    return r


async def test_a_disconnected_page_is_dropped_after_the_grace_period_with_its_tasks(asgi_client):
    app = build("clock", session_store=MemoryStore(), grace_s=0.2)
    tab = await RawTab.open(asgi_client(app))
    page = app.pages.get(tab.page)
    tasks = list(page.tasks)
    assert len(tasks) == 1 and not tasks[0].done()  # the clock started in init
    await eventually(lambda: app.pages.get(tab.page) is None, 3, "the page to expire")
    await eventually(lambda: tasks[0].done(), 1, "the clock task to be cancelled")
    assert tasks[0].cancelled()
    assert (await tab.post({"id": 1, "method": "x"})).status_code == 410


async def test_an_open_stream_keeps_a_page_alive(asgi_client):
    app = build("clock", session_store=MemoryStore(), grace_s=0.2)
    client = asgi_client(app)
    tab = await RawTab.open(client)
    cookie = f"htag_sid={client.cookies['htag_sid']}"
    async with open_stream(app, tab.url("events?last=0"), cookie=cookie) as stream:
        for _ in range(5):  # ~1 s of ticks, five times the grace period
            await stream.next_data()
        assert app.pages.get(tab.page) is not None
    await eventually(lambda: app.pages.get(tab.page) is None, 3, "expiry after the stream closed")


async def test_timeout_inactivity_drops_a_page_even_while_connected(asgi_client):
    app = build("clock", session_store=MemoryStore(), timeout_inactivity=0.3, grace_s=60)
    client = asgi_client(app)
    tab = await RawTab.open(client)
    cookie = f"htag_sid={client.cookies['htag_sid']}"
    async with open_stream(app, tab.url("events?last=0"), cookie=cookie) as stream:
        while (await stream.next_data()).event != "gone":
            pass
    assert app.pages.get(tab.page) is None


async def test_a_session_keeps_a_bounded_number_of_pages_oldest_dropped(asgi_client):
    app = build("counter", session_store=MemoryStore(), max_pages_per_session=3)
    client = asgi_client(app)
    tabs = [await RawTab.open(client) for _ in range(4)]
    assert app.pages.get(tabs[0].page) is None
    assert all(app.pages.get(t.page) for t in tabs[1:])
    assert (await tabs[0].post(tabs[0].calls["inc"])).status_code == 410


async def test_a_gone_page_is_rerun_from_the_session_with_a_full_body(asgi_client):
    app = build("counter", session_store=MemoryStore())
    client = asgi_client(app)
    tab = await RawTab.open(client)
    await tab.click("inc")
    app.pages.drop(app.pages.get(tab.page), "test")
    assert (await tab.post(tab.calls["inc"])).status_code == 410
    r = await rerun(tab)
    assert r.status_code == 200
    fresh = r.json()
    assert fresh["page"] != tab.page and fresh["token"] and fresh["last"] == 0
    assert fresh["body"].startswith("<body") and ">1</span>" in fresh["body"]
    assert (await rerun(tab)).status_code == 410  # the old page's record is used up
    tab.adopt(fresh)
    assert text_of(await tab.click("inc")) == "2"


async def test_a_rerun_after_a_restart_gets_the_same_init_args(asgi_client, tmp_path):
    first = build("args", session_store=DiskStore(tmp_path / "s"))
    async with first.router.lifespan_context(first):  # the first server runs, then stops
        client = asgi_client(first)
        tab = await RawTab.open(client, "/?a=1")
    restarted = asgi_client(build("args", session_store=DiskStore(tmp_path / "s")))
    restarted.cookies = client.cookies
    tab.client = restarted
    assert (await tab.client.get(tab.url("poll?after=0"))).status_code == 410
    fresh = (await rerun(tab)).json()
    assert '"kargs": {"a": "1"}' in fresh["body"]  # Args(a="1") again


async def test_a_rerun_needs_the_same_session_and_the_page_token(asgi_client):
    app = build("counter", session_store=MemoryStore())
    tab = await RawTab.open(asgi_client(app))
    app.pages.drop(app.pages.get(tab.page), "test")
    other = asgi_client(app)
    await other.get("/")
    r = await other.post(tab.url("rerun"), headers={"X-Htag-Token": tab.config["token"]})
    assert r.status_code == 410
    r = await tab.client.post(tab.url("rerun"), headers={"X-Htag-Token": "wrong"})
    assert r.status_code == 403
    assert (await rerun(tab)).status_code == 200


async def test_server_shutdown_ends_pages_and_streams(asgi_client):
    app = build("clock", session_store=MemoryStore())
    client = asgi_client(app)
    tab = await RawTab.open(client)
    cookie = f"htag_sid={client.cookies['htag_sid']}"
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    async with open_stream(app, tab.url("events?last=0"), cookie=cookie) as stream:
        await stream.next_data()
        task = next(iter(app.pages.get(tab.page).tasks))
        await lifespan.__aexit__(None, None, None)  # the server stops while the stream is open
        await asyncio.wait_for(stream.ended.wait(), 2)
    await eventually(task.done, 1, "the clock task to end")
    assert len(app.pages) == 0 and task.cancelled()
    assert b"event: gone" not in stream.raw  # stopping is not "gone": clients reconnect to the next server


async def test_one_page_per_session_is_enforced(asgi_client):
    app = build("counter", session_store=MemoryStore(), max_pages_per_session=1)
    client = asgi_client(app)
    first = await RawTab.open(client)
    second = await RawTab.open(client)
    assert len(app.pages) == 1 and app.pages.get(first.page) is None
    assert (await first.post(first.calls["inc"])).status_code == 410
    assert text_of(await second.click("inc")) == "1"


async def test_a_page_whose_session_expired_answers_410_not_403_for_ever(asgi_client):
    store = MemoryStore()
    app = build("counter", session_store=store)
    tab = await RawTab.open(asgi_client(app))
    await store.delete_map("s:" + tab.client.cookies["htag_sid"])  # the session expired in the store
    r = await tab.post(tab.calls["inc"])
    assert r.status_code == 410, r.text
    r = await tab.client.post(tab.url("rerun"), headers={"X-Htag-Token": tab.config["token"]})
    assert r.status_code == 410  # no rerun without the session: the client reloads


async def test_rotating_sessions_leaks_neither_pages_nor_sessions(asgi_client):
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def login(request: Request):
        request.session["user"] = request.query_params.get("u", "ann")
        await request.app.rotate_session(request)
        return PlainTextResponse("ok")

    app = build("counter", session_store=MemoryStore(), routes=[Route("/login", login)], max_pages_per_session=2)
    client = asgi_client(app)
    for i in range(200):
        await RawTab.open(client)
        assert (await client.get(f"/login?u={i}")).status_code == 200
    import gc

    gc.collect()
    assert len(app.pages) <= 2 and len(app.sessions) <= 2
    assert sum(len(v) for v in app.pages._by_sid.values()) == len(app.pages)
