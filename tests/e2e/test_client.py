"""The browser client in headless Chromium, on every topology (one worker, two workers, two hosts
on Redis: tests/e2e/conftest.py): busy cursor, JS errors and error boxes, the offline banner,
batched interactions, F5, refusals, replay after a rerun. Apps in tests/support/apps_client.py, at
``/<name>`` (``/parano/<name>`` in parano mode). On several workers, the requests that matter reach
a worker that does not own their page (tests/support/pins.py)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.topologies import Topology
from tests.support.pins import open_page, relayed, reload

pytestmark = [pytest.mark.browser, pytest.mark.server]

COUNT_IS = "n => document.querySelector('.count').textContent === String(n)"
OFFLINE = "document.documentElement.classList.contains('htag-offline')"


def console_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def boxes(page: Any) -> list[str]:
    return page.eval_on_selector_all(".htag-sse-error", "els => els.map(e => e.textContent)")


# ---------------------------------------------------------------- busy state


@pytest.mark.feature("the busy cursor")
def test_a_slow_handler_shows_the_busy_cursor_until_it_answers(topology: Topology, tab: Any) -> None:
    page = tab
    owner = open_page(page, topology, "/busy")
    with relayed(topology, owner, page):
        page.click("button.slow")
    page.wait_for_function("document.documentElement.classList.contains('htag-busy')")
    assert page.eval_on_selector("button.fast", "b => getComputedStyle(b).cursor") == "progress"
    page.wait_for_function("document.querySelector('.done').textContent === 'slow'")
    page.wait_for_function("!document.documentElement.classList.contains('htag-busy')")
    assert page.eval_on_selector("button.fast", "b => getComputedStyle(b).cursor") != "progress"


@pytest.mark.feature("the busy cursor")
def test_fast_clicks_never_show_the_busy_cursor(topology: Topology, tab: Any) -> None:
    page = tab
    open_page(page, topology, "/busy")
    page.evaluate("""() => {
        window.clicks = [];
        let seen = false;
        new MutationObserver(() => { seen = seen || document.documentElement.classList.contains('htag-busy'); })
            .observe(document.documentElement, {attributes: true, attributeFilter: ['class']});
        const send = window.interact;
        window.interact = async (o) => {
            seen = false;
            const t0 = performance.now();
            await send(o);
            window.clicks.push([performance.now() - t0, seen]);
        };
    }""")
    clicks: list[list[float]] = []
    for i in range(1, 21):  # until 3 clicks were answered well within 150 ms (a busy machine may need more)
        page.click("button.fast")
        page.wait_for_function(f"window.clicks.length === {i} && !htagSSEState().sending")
        clicks = page.evaluate("window.clicks")
        if sum(took < 120 for took, _ in clicks) >= 3:
            break
    fast = [seen for took, seen in clicks if took < 120]
    assert len(fast) >= 3, f"too few clicks answered within 120 ms on this machine: {clicks}"
    assert not any(fast), clicks  # the class comes 150 ms after a POST leaves, if it is still in flight


# ---------------------------------------------------------------- JS errors and error boxes


@pytest.mark.feature("errors are shown")
def test_a_js_error_in_a_handlers_call_shows_in_the_console_and_in_an_error_box(topology: Topology, tab: Any) -> None:
    page = tab
    errors = console_errors(page)
    owner = open_page(page, topology, "/errors")
    with (
        page.expect_console_message(lambda m: m.type == "error" and "nope_call_not_defined" in m.text),
        relayed(topology, owner, page),  # the answer's JS comes back through another worker
    ):
        page.click("button.call")
    page.wait_for_selector(".htag-sse-error")
    assert "JS ERROR: ReferenceError: nope_call_not_defined is not defined" in boxes(page)[0]
    page.click("button.inc")  # the page goes on
    page.wait_for_function(COUNT_IS, arg=1)
    assert len([e for e in errors if "nope_call_not_defined" in e]) == 1


@pytest.mark.feature("errors are shown")
def test_two_errors_make_two_boxes_visible_at_once_newest_last_each_dismissable(topology: Topology, tab: Any) -> None:
    page = tab
    open_page(page, topology, "/errors")
    page.click("button.call")
    page.wait_for_function("document.querySelectorAll('.htag-sse-error').length === 1")
    page.click("button.js")  # a new tag whose js throws
    page.wait_for_function("document.querySelectorAll('.htag-sse-error').length === 2")
    first, second = page.query_selector_all(".htag-sse-error")
    assert first.is_visible() and second.is_visible()
    a, b = first.bounding_box(), second.bounding_box()
    assert a["y"] + a["height"] <= b["y"], (a, b)  # stacked, not on top of each other
    assert "nope_call_not_defined" in first.text_content() and "nope_js_not_defined" in second.text_content()
    first.click()
    page.wait_for_function("document.querySelectorAll('.htag-sse-error').length === 1")
    assert "nope_js_not_defined" in boxes(page)[0]


@pytest.mark.feature("errors are shown")
def test_at_most_five_boxes_are_kept_the_oldest_go(topology: Topology, tab: Any) -> None:
    page = tab
    open_page(page, topology, "/errors")
    page.evaluate("() => { for (let i = 1; i <= 7; i++) window.error('error number ' + i) }")
    assert boxes(page) == [f"error number {i}" for i in range(3, 8)]


@pytest.mark.feature("errors are shown")
def test_an_error_reported_by_htags_own_error_function_is_shown_once(topology: Topology, tab: Any) -> None:
    page = tab
    errors = console_errors(page)
    open_page(page, topology, "/errors")
    page.click("button.caught")  # post JS: catch (e) { _error(e, 'JS') }, which reports then throws again
    page.wait_for_selector(".htag-sse-error")
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=1)
    assert len([b for b in boxes(page) if "nope_caught_not_defined" in b]) == 1
    assert len([e for e in errors if "nope_caught_not_defined" in e]) == 1


@pytest.mark.feature("errors are shown")
def test_an_error_of_the_initial_script_is_reported_and_the_page_still_works(topology: Topology, tab: Any) -> None:
    page = tab
    errors = console_errors(page)
    open_page(page, topology, "/errors#boot-error")
    page.wait_for_selector(".htag-sse-error")
    assert "start failed on purpose" in boxes(page)[0]
    assert any("start failed on purpose" in e for e in errors)
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=1)


@pytest.mark.feature("errors are shown")
def test_with_an_element_id_error_errors_go_to_the_console_only(topology: Topology, tab: Any) -> None:
    page = tab
    errors = console_errors(page)
    open_page(page, topology, "/error_element")
    with page.expect_console_message(lambda m: m.type == "error" and "nope_call_not_defined" in m.text):
        page.click("button.call")
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=1)
    assert boxes(page) == []
    assert page.evaluate("window.error instanceof HTMLElement")
    assert len([e for e in errors if "nope_call_not_defined" in e]) == 1


# ---------------------------------------------------------------- offline banner


@pytest.mark.feature("the offline banner")
def test_the_offline_banner_reads_connection_lost_dash_space_reconnecting(topology: Topology, tab: Any) -> None:
    page = tab
    open_page(page, topology, "/numbers")
    page.wait_for_function("htagSSEState().online")  # the stream is up
    topology.down()
    page.wait_for_function(
        "document.documentElement.classList.contains('htag-offline') && document.body.classList.contains('htagoff')"
    )
    content = page.evaluate("getComputedStyle(document.documentElement, '::after').content")
    assert content == '"Connection lost \u2014 reconnecting\u2026"'
    topology.up()
    page.wait_for_function(
        "!document.documentElement.classList.contains('htag-offline') && !document.body.classList.contains('htagoff')",
        timeout=20_000,
    )


@pytest.mark.feature("the offline banner")
def test_a_page_whose_stream_never_connects_shows_the_offline_banner(topology: Topology, tab: Any) -> None:
    page = tab
    page.route("**/events?*", lambda route: route.abort("connectionrefused"))  # the server went away meanwhile
    open_page(page, topology, "/numbers")
    page.wait_for_function("document.documentElement.classList.contains('htag-offline')")
    page.unroute("**/events?*")
    page.wait_for_function("htagSSEState().online", timeout=20_000)  # it retries, and gets through
    page.wait_for_function("!document.documentElement.classList.contains('htag-offline')")


# ---------------------------------------------------------------- batches (server side: batched interactions)


def interact_posts(page: Any) -> list[str]:
    posts: list[str] = []
    page.on(
        "request", lambda r: posts.append(r.post_data or "") if r.method == "POST" and "/interact" in r.url else None
    )
    return posts


@pytest.mark.feature("batches")
def test_a_burst_of_22_interactions_from_one_click_goes_in_at_most_3_posts_in_order(topology: Topology, tab: Any) -> None:
    page = tab
    owner = open_page(page, topology, "/numbers")
    posts = interact_posts(page)
    with relayed(topology, owner, page):  # the batches reach another worker, relayed to the page's
        page.click("button.burst")
    wanted = ",".join(str(i) for i in range(1, 23))
    page.wait_for_function(f"document.querySelector('.got').textContent === {wanted!r}")
    assert 1 <= len(posts) <= 3, posts


@pytest.mark.feature("batches")
@pytest.mark.feature("parano mode")
def test_in_parano_mode_a_burst_is_one_sealed_batch_answered_in_order(topology: Topology, tab: Any) -> None:
    page = tab
    owner = open_page(page, topology, "/parano/numbers")
    posts = interact_posts(page)
    with relayed(topology, owner, page):
        page.click("button.burst")
    wanted = ",".join(str(i) for i in range(1, 23))
    page.wait_for_function(f"document.querySelector('.got').textContent === {wanted!r}")
    assert 1 <= len(posts) <= 3 and not any("collect" in p for p in posts), posts
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=1)


@pytest.mark.feature("batches")
def test_clicks_made_while_a_post_is_in_flight_leave_together(topology: Topology, tab: Any) -> None:
    page = tab
    owner = open_page(page, topology, "/numbers")
    posts = interact_posts(page)
    with relayed(topology, owner, page):
        page.click("button.slow")  # 0.8 s in flight (relayed): the next 10 clicks queue meanwhile
    page.evaluate("""async () => {
        for (let i = 0; i < 10; i++) {
            document.querySelector('button.inc').click();
            await new Promise((r) => setTimeout(r, 5));
        }
    }""")
    page.wait_for_function(COUNT_IS, arg=10)
    assert 2 <= len(posts) <= 3, posts
    assert posts[-1].startswith("["), posts  # a JSON array: the batch


@pytest.mark.feature("errors are shown")
def test_a_refused_interaction_then_a_normal_click_works(topology: Topology, tab: Any) -> None:
    page = tab
    errors = console_errors(page)
    owner = open_page(page, topology, "/numbers")
    with relayed(topology, owner, page):  # refused by the page's owner, through another worker
        page.evaluate("() => { interact({id: 1, method: 'collect', args: [1], kargs: {}, event: {}}) }")  # no such tag
    page.wait_for_function("!htagSSEState().sending && htagSSEState().seq === 1")
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=1)
    body = page.evaluate("document.body.id")
    with relayed(topology, owner, page):
        page.evaluate(f"() => {{ interact({{id: {body}, method: '_private', args: [], kargs: {{}}}}) }}")
    page.wait_for_selector(".htag-sse-error")  # 403: shown
    assert "HTTP 403" in boxes(page)[0]
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=2)
    # a batch holding a refused interaction: the others take effect, in order
    page.evaluate("""() => {
        interact({id: 1, method: 'collect', args: [1], kargs: {}, event: {}});
        document.querySelector('button.inc').click();
        document.querySelector('button.inc').click();
    }""")
    page.wait_for_function(COUNT_IS, arg=4)
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=5)
    assert not [e for e in errors if "409" in e], errors


# ---------------------------------------------------------------- F5 (server side: release and takeover)


@pytest.mark.feature("F5 keeps the live page")
def test_f5_keeps_a_counter_held_in_an_attribute(topology: Topology, tab: Any) -> None:
    page = tab
    owner = open_page(page, topology, "/numbers")
    for i in range(1, 4):
        page.click("button.inc")
        page.wait_for_function(COUNT_IS, arg=i)
    before = page.evaluate("htagSSEState().page")
    reload(page, topology, owner)  # on several workers, the reload reaches another worker
    assert page.inner_text(".count") == "3"
    assert page.evaluate("htagSSEState().page") == before
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=4)


# ---------------------------------------------------------------- replay after a rerun


@pytest.mark.feature("a server restart reruns the page")
def test_a_value_typed_while_the_server_restarts_arrives_intact_after_the_rerun(topology: Topology, tab: Any) -> None:
    page = tab
    open_page(page, topology, "/numbers")
    page.wait_for_function("htagSSEState().leader")
    # the value holds the ids of the tags involved: a rewrite by text replacement would change it
    ids = page.evaluate("[document.body.id, document.querySelector('.memo').id]")
    typed = f"a{ids[0]}b{ids[1]}c"
    topology.down()
    page.wait_for_function(OFFLINE)
    page.fill(".memo", typed)
    page.dispatch_event(".memo", "change")  # sent, retried while the server is down
    topology.up()
    page.wait_for_function(f"document.querySelector('.typed').textContent === {typed!r}", timeout=20_000)
    assert page.evaluate("document.body.id") != ids[0]  # it went to the rerun page


@pytest.mark.feature("parano mode")
@pytest.mark.feature("a server restart reruns the page")
def test_in_parano_mode_a_rerun_switches_to_the_new_pages_key(topology: Topology, tab: Any) -> None:
    page = tab
    open_page(page, topology, "/parano/numbers")
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=1)
    before = page.evaluate("htagSSEState().page")
    topology.down()
    page.wait_for_function(OFFLINE)
    topology.up()
    page.wait_for_function(f"htagSSEState().page !== {before!r} && htagSSEState().parano", timeout=20_000)
    page.click("button.inc")  # sealed with the new page's key
    page.wait_for_function(COUNT_IS, arg=1)  # a new live instance: its attribute starts again
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=2)
    assert page.query_selector(".htag-sse-error") is None
