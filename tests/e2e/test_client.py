"""The browser client in headless Chromium: busy cursor, JS errors and error
boxes, the offline banner, batched interactions, F5, refusals, replay after a
rerun. Apps in tests/apps_client.py, served by ``hypercorn tests.support.serve_client:app``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

from harness.processes import Server

pytestmark = [pytest.mark.browser, pytest.mark.server]

HYPERCORN = [sys.executable, "-m", "hypercorn", "tests.support.serve_client:app", "--bind", "127.0.0.1:{port}"]
COUNT_IS = "n => document.querySelector('.count').textContent === String(n)"


@pytest.fixture
def serve_client(serve: Callable[..., Server]) -> Callable[..., Server]:
    def start(app: str, **options: Any) -> Server:
        return serve(app, argv=HYPERCORN, **options)

    return start


def console_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def boxes(page: Any) -> list[str]:
    return page.eval_on_selector_all(".htag-sse-error", "els => els.map(e => e.textContent)")


# ---------------------------------------------------------------- busy state


def test_a_slow_handler_shows_the_busy_cursor_until_it_answers(serve_client, browser_page):
    page = browser_page
    page.goto(serve_client("busy").url)
    page.click("button.slow")
    page.wait_for_function("document.documentElement.classList.contains('htag-busy')")
    assert page.eval_on_selector("button.fast", "b => getComputedStyle(b).cursor") == "progress"
    page.wait_for_function("document.querySelector('.done').textContent === 'slow'")
    page.wait_for_function("!document.documentElement.classList.contains('htag-busy')")
    assert page.eval_on_selector("button.fast", "b => getComputedStyle(b).cursor") != "progress"


def test_fast_clicks_never_show_the_busy_cursor(serve_client, browser_page):
    page = browser_page
    page.goto(serve_client("busy").url)
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


def test_a_js_error_in_a_handlers_call_shows_in_the_console_and_in_an_error_box(serve_client, browser_page):
    page = browser_page
    errors = console_errors(page)
    page.goto(serve_client("errors").url)
    with page.expect_console_message(lambda m: m.type == "error" and "nope_call_not_defined" in m.text):
        page.click("button.call")
    page.wait_for_selector(".htag-sse-error")
    assert "JS ERROR: ReferenceError: nope_call_not_defined is not defined" in boxes(page)[0]
    page.click("button.inc")  # the page goes on
    page.wait_for_function(COUNT_IS, arg=1)
    assert len([e for e in errors if "nope_call_not_defined" in e]) == 1


def test_two_errors_make_two_boxes_visible_at_once_newest_last_each_dismissable(serve_client, browser_page):
    page = browser_page
    page.goto(serve_client("errors").url)
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


def test_at_most_five_boxes_are_kept_the_oldest_go(serve_client, browser_page):
    page = browser_page
    page.goto(serve_client("errors").url)
    page.evaluate("() => { for (let i = 1; i <= 7; i++) window.error('error number ' + i) }")
    assert boxes(page) == [f"error number {i}" for i in range(3, 8)]


def test_an_error_reported_by_htags_own_error_function_is_shown_once(serve_client, browser_page):
    page = browser_page
    errors = console_errors(page)
    page.goto(serve_client("errors").url)
    page.click("button.caught")  # post JS: catch (e) { _error(e, 'JS') }, which reports then throws again
    page.wait_for_selector(".htag-sse-error")
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=1)
    assert len([b for b in boxes(page) if "nope_caught_not_defined" in b]) == 1
    assert len([e for e in errors if "nope_caught_not_defined" in e]) == 1


def test_an_error_of_the_initial_script_is_reported_and_the_page_still_works(serve_client, browser_page):
    page = browser_page
    errors = console_errors(page)
    page.goto(serve_client("errors").url + "/#boot-error")
    page.wait_for_selector(".htag-sse-error")
    assert "start failed on purpose" in boxes(page)[0]
    assert any("start failed on purpose" in e for e in errors)
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=1)


def test_with_an_element_id_error_errors_go_to_the_console_only(serve_client, browser_page):
    page = browser_page
    errors = console_errors(page)
    page.goto(serve_client("error_element").url)
    with page.expect_console_message(lambda m: m.type == "error" and "nope_call_not_defined" in m.text):
        page.click("button.call")
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=1)
    assert boxes(page) == []
    assert page.evaluate("window.error instanceof HTMLElement")
    assert len([e for e in errors if "nope_call_not_defined" in e]) == 1


# ---------------------------------------------------------------- offline banner


def test_the_offline_banner_reads_connection_lost_dash_space_reconnecting(serve_client, browser_page):
    server = serve_client("numbers")
    page = browser_page
    page.goto(server.url)
    page.wait_for_function("htagSSEState().online")  # the stream is up
    server.stop()
    page.wait_for_function(
        "document.documentElement.classList.contains('htag-offline') && document.body.classList.contains('htagoff')"
    )
    content = page.evaluate("getComputedStyle(document.documentElement, '::after').content")
    assert content == '"Connection lost \u2014 reconnecting\u2026"'
    serve_client("numbers", port=server.port)
    page.wait_for_function(
        "!document.documentElement.classList.contains('htag-offline') && !document.body.classList.contains('htagoff')",
        timeout=20_000,
    )


def test_a_page_whose_stream_never_connects_shows_the_offline_banner(serve_client, browser_page):
    page = browser_page
    page.route("**/events?*", lambda route: route.abort("connectionrefused"))  # the server went away meanwhile
    page.goto(serve_client("numbers").url)
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


def test_a_burst_of_22_interactions_from_one_click_goes_in_at_most_3_posts_in_order(serve_client, browser_page):
    page = browser_page
    page.goto(serve_client("numbers").url)
    posts = interact_posts(page)
    page.click("button.burst")
    wanted = ",".join(str(i) for i in range(1, 23))
    page.wait_for_function(f"document.querySelector('.got').textContent === {wanted!r}")
    assert 1 <= len(posts) <= 3, posts


def test_in_parano_mode_a_burst_is_one_sealed_batch_answered_in_order(serve_client, browser_page):
    page = browser_page
    page.goto(serve_client("numbers", options='{"parano": true}').url)
    posts = interact_posts(page)
    page.click("button.burst")
    wanted = ",".join(str(i) for i in range(1, 23))
    page.wait_for_function(f"document.querySelector('.got').textContent === {wanted!r}")
    assert 1 <= len(posts) <= 3 and not any("collect" in p for p in posts), posts
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=1)


def test_clicks_made_while_a_post_is_in_flight_leave_together(serve_client, browser_page):
    page = browser_page
    page.goto(serve_client("numbers").url)
    posts = interact_posts(page)
    page.click("button.slow")  # 0.8 s in flight: the next 10 clicks queue meanwhile
    page.evaluate("""async () => {
        for (let i = 0; i < 10; i++) {
            document.querySelector('button.inc').click();
            await new Promise((r) => setTimeout(r, 5));
        }
    }""")
    page.wait_for_function(COUNT_IS, arg=10)
    assert 2 <= len(posts) <= 3, posts
    assert posts[-1].startswith("["), posts  # a JSON array: the batch


def test_a_refused_interaction_then_a_normal_click_works(serve_client, browser_page):
    page = browser_page
    errors = console_errors(page)
    page.goto(serve_client("numbers").url)
    page.evaluate("interact({id: 1, method: 'collect', args: [1], kargs: {}, event: {}})")  # no such tag: 404
    page.wait_for_function("!htagSSEState().sending && htagSSEState().seq === 1")
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=1)
    page.evaluate(f"interact({{id: {page.evaluate('document.body.id')}, method: '_private', args: [], kargs: {{}}}})")
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


def test_f5_keeps_a_counter_held_in_an_attribute(serve_client, browser_page):
    page = browser_page
    page.goto(serve_client("numbers").url)
    for i in range(1, 4):
        page.click("button.inc")
        page.wait_for_function(COUNT_IS, arg=i)
    before = page.evaluate("htagSSEState().page")
    page.reload()
    assert page.inner_text(".count") == "3"
    assert page.evaluate("htagSSEState().page") == before
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=4)


# ---------------------------------------------------------------- replay after a rerun


def test_a_value_typed_while_the_server_restarts_arrives_intact_after_the_rerun(serve_client, browser_page):
    server = serve_client("numbers")
    page = browser_page
    page.goto(server.url)
    page.wait_for_function("htagSSEState().leader")
    # the value holds the ids of the tags involved: a rewrite by text replacement would change it
    ids = page.evaluate("[document.body.id, document.querySelector('.memo').id]")
    typed = f"a{ids[0]}b{ids[1]}c"
    server.stop()
    page.wait_for_function("document.documentElement.classList.contains('htag-offline')")
    page.fill(".memo", typed)
    page.dispatch_event(".memo", "change")  # sent, retried while the server is down
    serve_client("numbers", port=server.port)
    page.wait_for_function(f"document.querySelector('.typed').textContent === {typed!r}", timeout=20_000)
    assert page.evaluate("document.body.id") != ids[0]  # it went to the rerun page


def test_in_parano_mode_a_rerun_switches_to_the_new_pages_key(serve_client, browser_page):
    server = serve_client("numbers", options='{"parano": true}')
    page = browser_page
    page.goto(server.url)
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=1)
    before = page.evaluate("htagSSEState().page")
    server.stop()
    page.wait_for_function("document.documentElement.classList.contains('htag-offline')")
    serve_client("numbers", options='{"parano": true}', port=server.port)
    page.wait_for_function(f"htagSSEState().page !== {before!r} && htagSSEState().parano", timeout=20_000)
    page.click("button.inc")  # sealed with the new page's key
    page.wait_for_function(COUNT_IS, arg=1)  # a new live instance: its attribute starts again
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=2)
    assert page.query_selector(".htag-sse-error") is None
