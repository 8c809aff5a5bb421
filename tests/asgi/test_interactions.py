"""POST <prefix>/<page>/interact: one interaction, htag's actions in the answer."""

import asyncio

from htag_sse import MemoryStore
from htag_sse.testing import HtagTestClient

from ..support.apps import Counter, Stream, build
from ..support.rawtab import RawTab, text_of


async def counter_tab(asgi_client, **options):
    app = build("counter", session_store=MemoryStore(), **options)
    return app, await RawTab.open(asgi_client(app))


async def test_a_click_answers_the_update_of_the_changed_tag():
    async with HtagTestClient(Counter) as client:
        tab = await client.open()
        for n in (1, 2, 3):
            actions = await tab.find(".inc").click()
            assert list(actions) == ["update"] and text_of(actions) == str(n)
            assert tab.find(".count").text == str(n)


async def test_an_exposed_method_is_called_with_arguments():
    async with HtagTestClient(Counter) as client:
        tab = await client.open()
        actions = await tab.call("plus", 5)
        assert tab.last_status == 200 and text_of(actions) == "5" and tab.find(".count").text == "5"


async def test_a_generator_handler_streams_its_items_one_by_one():
    async with HtagTestClient(Stream) as client:
        tab = await client.open()
        await tab.find(".go").click()  # the client pulls the next item while the answer says "next"
        items = [text_of({"stream": answer["stream"]}) for answer in tab.history if "stream" in answer]
        assert items == ["item1", "item2", "item3", "item4", "item5"]
        assert "next" not in tab.history[-1] and [li.text for li in tab.find_all(".items li")] == items


async def test_an_error_in_a_handler_is_reported_and_the_app_keeps_working():
    async with HtagTestClient(Stream) as client:
        tab = await client.open()
        failed = await tab.find(".fail").click()
        assert failed == {"err": "handler failed on purpose"}  # no traceback outside debug mode
        assert tab.last_error == "PYTHON ERROR: handler failed on purpose"
        assert "ok" in text_of(await tab.find(".ok").click())


async def test_debug_mode_shows_the_traceback():
    async with HtagTestClient(Stream, debug=True) as client:
        tab = await client.open()
        failed = await tab.find(".fail").click()
        assert "Traceback" in failed["err"] and "ValueError" in failed["err"]


async def test_interactions_of_a_page_run_one_at_a_time_in_order(asgi_client):
    _, tab = await counter_tab(asgi_client)  # POSTs sent at once, as no browser client does: the server orders them
    answers = await asyncio.gather(*(tab.post(tab.calls["inc"]) for _ in range(20)))
    counts = sorted(int(text_of(a.json())) for a in answers)
    assert counts == list(range(1, 21))


async def test_timeout_interaction_bounds_a_slow_handler_and_the_page_goes_on():
    async with HtagTestClient(Stream, timeout_interaction=0.2) as client:
        tab = await client.open()
        slow = await tab.find(".slow").click()
        assert "gave up after 0.2 s" in slow["err"]
        assert "slow started" in slow["body"]  # a full refresh: the page shows what the handler did
        assert tab.find(".status").text == "slow started"
        assert "ok" in text_of(await tab.find(".ok").click())


async def test_a_retried_interaction_runs_once(asgi_client):
    _, tab = await counter_tab(asgi_client)
    first = await tab.post(tab.calls["inc"], headers={"X-Htag-Seq": "1"})
    retry = await tab.post(tab.calls["inc"], headers={"X-Htag-Seq": "1"})
    assert first.content == retry.content and text_of(first.json()) == "1"
    second = await tab.post(tab.calls["inc"], headers={"X-Htag-Seq": "2"})
    assert text_of(second.json()) == "2"
    skipped = await tab.post(tab.calls["inc"], headers={"X-Htag-Seq": "5"})
    assert skipped.status_code == 409


async def test_an_update_pushed_during_an_interaction_goes_to_the_stream():
    async with HtagTestClient(Counter) as client:
        tab = await client.open()
        page = client.app.pages.get(tab.id)
        await tab.find(".inc").click()
        assert await page.root.value.update() is True
        assert page.log.last == 1 and '"update"' in page.log.since(0)[0][1]
        assert text_of(await tab.next_push()) == "1" and tab.wire.last == 1
