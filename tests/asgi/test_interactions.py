"""POST <prefix>/<page>/interact: one interaction, htag's actions in the answer."""

import asyncio
import json

from htag_sse import HtagSSE, MemoryStore

from ..apps import Stream, build
from ..pageclient import Tab, text_of


async def counter_tab(asgi_client, **options):
    app = build("counter", session_store=MemoryStore(), **options)
    return app, await Tab.open(asgi_client(app))


async def test_a_click_answers_the_update_of_the_changed_tag(asgi_client):
    _, tab = await counter_tab(asgi_client)
    for n in (1, 2, 3):
        actions = await tab.click("inc")
        assert list(actions) == ["update"] and text_of(actions) == str(n)


async def test_an_exposed_method_is_called_with_arguments(asgi_client):
    _, tab = await counter_tab(asgi_client)
    r = await tab.call("plus", 5)
    assert r.status_code == 200 and text_of(r.json()) == "5"


async def test_a_generator_handler_streams_its_items_one_by_one(asgi_client):
    app = HtagSSE(Stream, session_store=MemoryStore())
    tab = await Tab.open(asgi_client(app))
    actions = await tab.click("go")
    items = []
    while "next" in actions:
        items.append(text_of({"stream": actions["stream"]}))
        call = json.loads(actions["next"].split("interact( ")[1].split(" );")[0].replace("jevent(event)", "{}"))
        actions = (await tab.post(call)).json()
    assert items == ["item1", "item2", "item3", "item4", "item5"]


async def test_an_error_in_a_handler_is_reported_and_the_app_keeps_working(asgi_client):
    app = HtagSSE(Stream, session_store=MemoryStore())
    tab = await Tab.open(asgi_client(app))
    failed = await tab.click("fail")
    assert failed == {"err": "handler failed on purpose"}  # no traceback outside debug mode
    assert "ok" in text_of(await tab.click("ok"))


async def test_debug_mode_shows_the_traceback(asgi_client):
    app = HtagSSE(Stream, session_store=MemoryStore(), debug=True)
    tab = await Tab.open(asgi_client(app))
    failed = await tab.click("fail")
    assert "Traceback" in failed["err"] and "ValueError" in failed["err"]


async def test_interactions_of_a_page_run_one_at_a_time_in_order(asgi_client):
    _, tab = await counter_tab(asgi_client)
    answers = await asyncio.gather(*(tab.post(tab.calls["inc"]) for _ in range(20)))
    counts = sorted(int(text_of(a.json())) for a in answers)
    assert counts == list(range(1, 21))


async def test_timeout_interaction_bounds_a_slow_handler_and_the_page_goes_on(asgi_client):
    app = HtagSSE(Stream, session_store=MemoryStore(), timeout_interaction=0.2)
    tab = await Tab.open(asgi_client(app))
    slow = await tab.click("slow")
    assert "gave up after 0.2 s" in slow["err"]
    assert "slow started" in slow["body"]  # a full refresh: the page shows what the handler did
    assert "ok" in text_of(await tab.click("ok"))


async def test_a_retried_interaction_runs_once(asgi_client):
    _, tab = await counter_tab(asgi_client)
    first = await tab.post(tab.calls["inc"], headers={"X-Htag-Seq": "1"})
    retry = await tab.post(tab.calls["inc"], headers={"X-Htag-Seq": "1"})
    assert first.content == retry.content and text_of(first.json()) == "1"
    second = await tab.post(tab.calls["inc"], headers={"X-Htag-Seq": "2"})
    assert text_of(second.json()) == "2"
    skipped = await tab.post(tab.calls["inc"], headers={"X-Htag-Seq": "5"})
    assert skipped.status_code == 409


async def test_an_update_pushed_during_an_interaction_goes_to_the_stream(asgi_client):
    app, tab = await counter_tab(asgi_client)
    page = app.pages.get(tab.page)
    await tab.click("inc")
    assert await page.hr.tag.value.update() is True
    assert page.log.last == 1 and '"update"' in page.log.since(0)[0][1]
