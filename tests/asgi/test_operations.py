"""Operations: a health endpoint, counters, structured log lines."""

import logging

from htag_sse import MemoryStore, StoreError

from ..support.apps import build
from ..support.failingstore import CALLS, FailingStore
from ..support.rawtab import RawTab


class BrokenStore(MemoryStore):
    async def check(self):
        raise StoreError("disk gone")


async def test_health_says_ok_with_facts_and_503_when_the_store_fails(asgi_client):
    app = build("counter", session_store=MemoryStore())
    client = asgi_client(app)
    await RawTab.open(client)
    r = await client.get("/_htag/health")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["pages"] == 1
    broken = build("counter", session_store=BrokenStore())
    r = await asgi_client(broken).get("/_htag/health")
    assert r.status_code == 503 and "disk gone" in r.json()["error"]


async def test_counters_in_process_and_as_prometheus_text(asgi_client):
    app = build("stream", session_store=MemoryStore(), metrics=True)
    client = asgi_client(app)
    tab = await RawTab.open(client)
    await tab.click("ok")
    await tab.click("fail")
    await tab.post({"id": 1, "method": "x"})  # refused: 404
    snap = app.metrics.snapshot()
    assert snap["pages_open"] == 1 and snap["page.created"] == 1 and snap["interaction"] == 2
    assert snap["interaction.error"] == 1 and snap["refused.404"] == 1 and snap["sessions_live"] == 1
    text = (await client.get("/_htag/metrics")).text
    assert "# TYPE htag_sse_page_created_total counter\nhtag_sse_page_created_total 1" in text
    assert "htag_sse_pages_open 1" in text


async def test_the_metrics_endpoint_is_off_unless_asked(asgi_client):
    app = build("counter", session_store=MemoryStore())
    assert (await asgi_client(app).get("/_htag/metrics")).status_code == 404


async def test_structured_log_lines_for_pages_and_errors(asgi_client, caplog):
    caplog.set_level(logging.INFO, logger="htag_sse")
    app = build("stream", session_store=MemoryStore())
    tab = await RawTab.open(asgi_client(app))
    await tab.click("fail")
    app.pages.drop(app.pages.get(tab.page), "test reason")
    await tab.client.post(tab.url("rerun"), headers={"X-Htag-Token": tab.config["token"]})
    events = {r.event: r for r in caplog.records if hasattr(r, "event")}
    assert set(events) >= {"page.created", "interaction.error", "page.dropped", "page.rerun"}
    assert events["interaction.error"].error == "handler failed on purpose"
    assert f"event=page.dropped page={tab.page} reason=\"test reason\"" in events["page.dropped"].getMessage()
    assert events["page.rerun"].old == tab.page


async def test_a_page_asked_while_the_store_fails_answers_503_and_the_next_one_works(asgi_client):
    """A user opening the app while the store cannot answer gets a 503 the browser may retry, not a 500;
    once the store answers again, the same browser gets its page."""
    store = FailingStore(MemoryStore())
    app = build("counter", session_store=store)
    client = asgi_client(app)
    await RawTab.open(client)  # the worker started: its lease taken
    client.cookies.clear()  # a new visitor
    for failing in ({"create_with", "create"}, CALLS - {"acquire", "renew", "holders", "release"}):
        store.failing = set(failing)
        r = await client.get("/")
        assert r.status_code == 503, (failing, r.status_code, r.text)
        assert "storage" in r.text and r.headers["retry-after"]
    store.failing = set()
    tab = await RawTab.open(client)
    assert "1" in str(await tab.click("inc"))
