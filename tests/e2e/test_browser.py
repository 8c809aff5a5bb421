"""What a user sees, in headless Chromium, against a real server: hypercorn, and Granian."""

import functools
import json

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(params=["asyncio", "uvloop", "granian"])
def serve(serve, request):
    """Every test of this module runs on hypercorn with asyncio and with uvloop (``app.run(loop="uvloop")``),
    and on Granian (``app.run(server="granian", loop="uvloop")``)."""
    if request.param == "granian":
        return functools.partial(serve, loop="uvloop", server="granian")
    return functools.partial(serve, loop=request.param)


def test_a_counter_clicked_20_times_shows_20(serve, browser_page):
    server = serve("counter")
    page = browser_page
    page.goto(server.url)
    for _ in range(20):
        page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '20'")


def test_a_clock_visibly_ticks_through_tag_update(serve, browser_page):
    server = serve("clock")
    page = browser_page
    page.goto(server.url)
    page.wait_for_function("Number(document.querySelector('.ticks').textContent) >= 3")


def test_a_generator_streams_its_items(serve, browser_page):
    server = serve("stream")
    page = browser_page
    page.goto(server.url)
    page.click("button.go")
    page.wait_for_function("document.querySelectorAll('.items li').length === 5")
    assert page.inner_text(".items").split() == ["item1", "item2", "item3", "item4", "item5"]


def test_an_error_in_a_handler_is_shown_and_later_clicks_work(serve, browser_page):
    server = serve("stream")
    page = browser_page
    page.goto(server.url)
    page.click("button.fail")
    page.wait_for_selector(".htag-sse-error")
    assert "handler failed on purpose" in page.inner_text(".htag-sse-error")
    page.click("button.ok")
    page.wait_for_function("document.querySelector('.status').textContent.startsWith('ok')")


def test_tag_state_survives_f5(serve, browser_page):
    server = serve("counter")
    page = browser_page
    page.goto(server.url)
    for _ in range(3):
        page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '3'")
    page.reload()
    assert page.inner_text(".count") == "3"
    page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '4'")


def test_after_a_server_restart_the_open_page_shows_offline_then_recovers(serve, browser_page):
    server = serve("clock")
    page = browser_page
    page.goto(server.url)
    page.wait_for_function("Number(document.querySelector('.ticks').textContent) >= 2")
    server.stop()
    page.wait_for_function("document.documentElement.classList.contains('htag-offline')")
    serve("clock", port=server.port)
    # the page reruns by itself: a fresh clock, pushing again, online
    page.wait_for_function(
        "!document.documentElement.classList.contains('htag-offline')"
        " && Number(document.querySelector('.ticks').textContent) >= 2",
        timeout=20_000,
    )


def test_a_click_during_a_restart_is_not_lost(serve, browser_page):
    server = serve("counter")
    page = browser_page
    page.goto(server.url)
    page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '1'")
    server.stop()
    page.click("button.inc")  # the server is down: the click waits, retried with backoff...
    serve("counter", port=server.port)
    # ...lands on the new server, which has no such page: the page reruns and the click is replayed
    page.wait_for_function("document.querySelector('.count').textContent === '2'", timeout=20_000)
    page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '3'")


def test_the_documented_content_security_policy_lets_the_app_work(serve, browser_page):
    csp = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'; "
           "object-src 'none'")  # fmt: skip (as in docs/security.md)
    server = serve("board", options=json.dumps({"page_headers": {"Content-Security-Policy": csp}}))
    page = browser_page
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    response = page.goto(server.url)
    assert response.headers["content-security-policy"] == csp
    for _ in range(3):
        page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '3'")
    page.wait_for_function("Number(document.querySelector('.ticks').textContent) >= 3")
    page.click("button.go")
    page.wait_for_function("document.querySelectorAll('.items li').length === 5")
    assert violations == []


def test_a_quiet_stream_stays_on_sse(serve, browser_page):
    """A stream that carries no event for longer than the first-event probe is not a buffering proxy."""
    server = serve("counter", options='{"sse_probe_s": 1}')
    page = browser_page
    page.goto(server.url)
    page.wait_for_function("htagSSEState().leader && !document.documentElement.classList.contains('htag-offline')")
    page.wait_for_timeout(2500)  # the quiet time is what is under test: 2.5 probes long
    assert page.evaluate("htagSSEState().transport") == "sse"
    page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '1'")


def test_a_handler_named_like_htags_own_method_is_named_in_the_console_and_the_log(serve, chromium):
    """A handler named ``add`` empties the page without an error: the console and the log say why."""
    server = serve("basket")
    said = []
    for _ in range(2):
        context = chromium.new_context()
        page = context.new_page()
        page.on("console", lambda m: said.append((m.type, m.text)))
        page.goto(server.url)
        page.wait_for_function("() => window.htagSSEState && window.htagSSEState().page")
        assert page.inner_text("body") == ""
        context.close()
    warned = [text for kind, text in said if kind == "warning" and "shadows htag's Tag.add" in text]
    assert len(warned) == 2 and "tests.support.apps.Basket.add" in warned[0] and "Rename it" in warned[0], said
    server.stop()
    assert server.output().count("tests.support.apps.Basket.add shadows htag's Tag.add") == 1, server.output()
