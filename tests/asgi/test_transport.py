"""Pushed events: the SSE stream and the long-poll answer carry the same events and ids."""

import asyncio
import json

import pytest

from harness.processes import eventually
from htag_sse import MemoryStore

from ..support.apps import build
from ..support.rawtab import RawTab
from ..support.sse import open_stream


async def clock_tab(asgi_client, **options):
    app = build("clock", session_store=MemoryStore(), **options)
    client = asgi_client(app)
    tab = await RawTab.open(client)
    return app, tab, f"htag_sid={client.cookies['htag_sid']}"


async def test_the_stream_starts_with_a_padded_hello_then_numbered_events(asgi_client):
    app, tab, cookie = await clock_tab(asgi_client)
    async with open_stream(app, tab.url("events?last=0"), cookie=cookie) as stream:
        hello = await stream.next()
        assert hello.event == "hello" and hello.retry == 2000 and hello.id == "0"
        assert stream.raw.index(b"event: hello") > 2048  # padding first, so proxies flush it
        ids = [int((await stream.next_data()).id) for _ in range(3)]
        assert ids == [1, 2, 3]
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-cache, no-store, no-transform"
        assert stream.headers["x-accel-buffering"] == "no"


async def test_a_reconnect_with_last_event_id_gets_every_event_after_it(asgi_client):
    app, tab, cookie = await clock_tab(asgi_client)
    page = app.pages.get(tab.page)
    async with open_stream(app, tab.url("events?last=0"), cookie=cookie) as stream:
        first = [json.loads((await stream.next_data()).data) for _ in range(2)]
    while page.log.last < 5:  # more ticks happen while disconnected
        await page.log.wait(page.log.last)
    async with open_stream(app, tab.url("events"), cookie=cookie, headers={"Last-Event-ID": "2"}) as stream:
        resumed = [await stream.next_data() for _ in range(3)]
    assert [int(e.id) for e in resumed] == [3, 4, 5]
    assert first[0]["update"] and all(json.loads(e.data)["update"] for e in resumed)


async def test_a_client_too_far_behind_gets_one_full_refresh(asgi_client):
    app, tab, cookie = await clock_tab(asgi_client, backlog_events=2)
    page = app.pages.get(tab.page)
    while page.log.last < 4:
        await page.log.wait(page.log.last)
    async with open_stream(app, tab.url("events?last=1"), cookie=cookie) as stream:
        refresh = await stream.next_data()
        data = json.loads(refresh.data)
        assert data["body"].startswith("<body") and int(refresh.id) >= 4
        nxt = await stream.next_data()
        assert int(nxt.id) == int(refresh.id) + 1 and "update" in json.loads(nxt.data)


async def test_a_gone_page_says_so_on_its_stream(asgi_client):
    app, tab, cookie = await clock_tab(asgi_client)
    async with open_stream(app, tab.url("events").replace(tab.page, "x.y"), cookie=cookie) as stream:
        gone = await stream.next_data()
        assert gone.event == "gone" and json.loads(gone.data) == {"page": "x.y"}
        await asyncio.wait_for(stream.ended.wait(), 2)
    async with open_stream(app, tab.url("events?last=0"), cookie=cookie) as stream:
        await stream.next_data()
        app.pages.drop(app.pages.get(tab.page), "test")
        while (await stream.next_data()).event != "gone":
            pass


async def test_a_stream_of_another_session_is_refused(asgi_client):
    app, tab, _ = await clock_tab(asgi_client)
    other = asgi_client(app)
    await other.get("/")
    async with open_stream(app, tab.url("events?last=0"), cookie=f"htag_sid={other.cookies['htag_sid']}") as stream:
        await asyncio.wait_for(stream.ended.wait(), 2)
    assert stream.status == 403


@pytest.mark.parametrize("http_version", ["1.1", "2"])
async def test_the_stream_sends_no_connection_header(asgi_client, http_version):
    """Illegal in HTTP/2, useless in HTTP/1.1 (keep-alive is the default)."""
    app, tab, cookie = await clock_tab(asgi_client)
    async with open_stream(app, tab.url("events?last=0"), cookie=cookie, http_version=http_version) as stream:
        await stream.next()
        assert "connection" not in stream.headers


async def test_heartbeats_are_comments_at_the_interval(asgi_client):
    app = build("counter", session_store=MemoryStore(), heartbeat_s=1)
    client = asgi_client(app)
    tab = await RawTab.open(client)
    async with open_stream(app, tab.url("events?last=0"), cookie=f"htag_sid={client.cookies['htag_sid']}") as stream:
        await stream.next()
        size = len(stream.raw)
        await eventually(lambda: len(stream.raw) > size, 3, "a heartbeat")
        assert bytes(stream.raw[size:]) == b": \r\n\r\n"  # a comment line, as sse-starlette writes it


async def test_a_head_request_on_a_stream_gets_headers_only(asgi_client):
    app, tab, _ = await clock_tab(asgi_client)
    r = await tab.client.head(tab.url("events?last=0"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream") and r.content == b""


async def test_long_poll_waits_for_events_then_answers_them(asgi_client):
    app, tab, _ = await clock_tab(asgi_client, poll_timeout_s=5)
    r = await tab.client.get(tab.url("poll?after=0"))
    answer = r.json()
    assert r.status_code == 200 and answer["events"] and answer["events"][0][0] == 1
    assert answer["last"] == answer["events"][-1][0]
    assert r.headers["cache-control"] == "no-cache, no-store, no-transform"
    nxt = (await tab.client.get(tab.url(f"poll?after={answer['last']}"))).json()
    assert nxt["events"][0][0] == answer["last"] + 1


async def test_long_poll_times_out_empty(asgi_client):
    app = build("counter", session_store=MemoryStore(), poll_timeout_s=0.1)
    tab = await RawTab.open(asgi_client(app))
    assert (await tab.client.get(tab.url("poll?after=0"))).json() == {"last": 0, "events": []}


async def test_long_poll_for_a_gone_page_is_410(asgi_client):
    app, tab, _ = await clock_tab(asgi_client)
    app.pages.drop(app.pages.get(tab.page), "test")
    assert (await tab.client.get(tab.url("poll?after=0"))).status_code == 410


async def test_pages_without_push_channel_refuse_streams_and_keep_alive(asgi_client):
    app = build("counter", session_store=MemoryStore(), http_only=True)
    tab = await RawTab.open(asgi_client(app))
    assert tab.config["transport"] == "none"
    assert (await tab.client.get(tab.url("poll?after=0"))).status_code == 404
    assert (await tab.client.get(tab.url("alive"))).status_code == 204
    page = app.pages.get(tab.page)
    assert await page.root.value.update() is False  # htag's answer when a runner cannot push


async def test_tabs_of_a_session_share_one_stream_with_events_named_by_page(asgi_client):
    app = build("clock", session_store=MemoryStore())
    client = asgi_client(app)
    a, b = await RawTab.open(client), await RawTab.open(client)
    cookie = f"htag_sid={client.cookies['htag_sid']}"
    path = f"/_htag/events?p={a.page}:0&p={b.page}:0"
    async with open_stream(app, path, cookie=cookie) as stream:
        seen = {a.page: [], b.page: []}
        while min(len(v) for v in seen.values()) < 2:
            ev = await stream.next_data()
            seen[ev.event].append(int(ev.id))
        assert seen[a.page][:2] == [1, 2] and seen[b.page][:2] == [1, 2]
        app.pages.drop(app.pages.get(a.page), "test")
        while (ev := await stream.next_data()).event != "gone":
            pass
        assert json.loads(ev.data) == {"page": a.page}
        assert (await stream.next_data()).event == b.page  # the other tab's events go on


async def test_a_shared_stream_refuses_a_page_of_another_session(asgi_client):
    app = build("clock", session_store=MemoryStore())
    mine, theirs = await RawTab.open(asgi_client(app)), await RawTab.open(asgi_client(app))
    r = await mine.client.get(f"/_htag/poll?p={mine.page}:0&p={theirs.page}:0")
    assert r.status_code == 403 and r.json()["error"] == "foreign_page"
    assert (await mine.client.get("/_htag/poll")).status_code == 400
    many = "&".join(f"p=x{i}:0" for i in range(100))
    assert (await mine.client.get(f"/_htag/poll?{many}")).status_code == 400


async def test_a_shared_long_poll_answers_every_page_and_the_gone_ones(asgi_client):
    app = build("clock", session_store=MemoryStore())
    client = asgi_client(app)
    a, b = await RawTab.open(client), await RawTab.open(client)
    answer = (await client.get(f"/_htag/poll?p={a.page}:0&p={b.page}:0&p=gone.page:3")).json()
    assert answer["gone"] == ["gone.page"]
    assert set(answer["pages"]) == {a.page, b.page}  # a gone page answers at once: no waiting
    app.pages.get(a.page).log.append('{"post":"1"}')
    later = (await client.get(f"/_htag/poll?p={a.page}:{app.pages.get(a.page).log.last - 1}")).json()
    assert later["pages"][a.page][-1][1] == {"post": "1"} and later["gone"] == []


async def test_streams_are_never_compressed_even_under_gzip_middleware(asgi_client):
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware

    app = build("clock", session_store=MemoryStore(), middleware=[Middleware(GZipMiddleware, minimum_size=10)])
    client = asgi_client(app)
    page = await client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"  # the middleware works...
    tab = await RawTab.open(client)
    cookie = f"htag_sid={client.cookies['htag_sid']}"
    async with open_stream(app, tab.url("events?last=0"), cookie=cookie, headers={"Accept-Encoding": "gzip"}) as s:
        await s.next_data()
        assert "content-encoding" not in s.headers  # ...but not on the stream
        assert s.headers["cache-control"].endswith("no-transform")
