"""Through real proxies, in headless Chromium: what the project exists for."""

import re
import time

import pytest

from harness.proxies import BUFFER_EVERYTHING, nginx, squid

pytestmark = [pytest.mark.browser, pytest.mark.server]


def ticking(page, at_least: int, timeout_ms: int = 10_000) -> None:
    page.wait_for_function(f"Number(document.querySelector('.ticks').textContent) >= {at_least}", timeout=timeout_ms)


def clicks_count(page, n: int) -> None:
    for _ in range(n):
        page.click("button.inc")
    page.wait_for_function(f"document.querySelector('.count').textContent === '{n}'")


def transport_of(page) -> str:
    return page.evaluate("htagSSEState().transport")


@pytest.mark.feature("SSE, or long-poll where it cannot pass", topology="proxy")
@pytest.mark.nginx
def test_behind_nginx_with_default_buffering_sse_passes(serve, browser_page, tmp_path):
    server = serve("board")
    with nginx(server.port, tmp_path) as port:
        page = browser_page
        page.goto(f"http://127.0.0.1:{port}/")
        clicks_count(page, 5)
        ticking(page, 5)
        assert transport_of(page) == "sse"


@pytest.mark.feature("SSE, or long-poll where it cannot pass", topology="proxy")
@pytest.mark.nginx
def test_behind_nginx_buffering_whole_responses_the_client_falls_back_to_long_poll(serve, browser_page, tmp_path):
    """nginx with buffering on and X-Accel-Buffering ignored still passes each chunk as it comes
    (measured), so this proxy also compresses event streams: gzip holds the stream entirely."""
    server = serve("board")
    with nginx(server.port, tmp_path, BUFFER_EVERYTHING) as port:
        page = browser_page
        t0 = time.monotonic()
        page.goto(f"http://127.0.0.1:{port}/")
        # the bound: no first event within sse_probe_s (3 s), then long-poll at once
        page.wait_for_function("htagSSEState().transport === 'poll'", timeout=6_000)
        ticking(page, 3)
        fell_back_s = time.monotonic() - t0
        clicks_count(page, 5)
        assert fell_back_s < 8
    assert "/_htag/poll?" in (tmp_path / "access.log").read_text()


@pytest.mark.feature("SSE, or long-poll where it cannot pass", topology="proxy")
@pytest.mark.squid
def test_through_squid_as_the_browsers_forward_proxy(serve, chromium_with_proxy, tmp_path):
    server = serve("board")
    with squid(tmp_path / "squid.log") as port:
        page = chromium_with_proxy(f"http://127.0.0.1:{port}")
        page.goto(server.url)
        clicks_count(page, 5)
        ticking(page, 5)
        assert transport_of(page) == "sse"
        page.close()
    log = (tmp_path / "squid.log").read_text()
    assert "/_htag/events?" in log and "/interact" in log  # the traffic really went through squid


@pytest.mark.feature("SSE, or long-poll where it cannot pass", topology="proxy")
@pytest.mark.nginx
def test_a_proxy_cutting_idle_streams_loses_no_event(serve, browser_page, tmp_path):
    """nginx closes a stream idle for 10 s; pushes come in bursts 11 s apart,
    heartbeats every 60 s: every burst finds a cut stream, re-established with
    the last event id."""
    server = serve("burst", options='{"heartbeat_s": 60}', env={"HTAG_SSE_BURST_S": "11"})
    with nginx(server.port, tmp_path, "proxy_read_timeout 10s;") as port:
        page = browser_page
        page.goto(f"http://127.0.0.1:{port}/")
        page.evaluate("""() => {
            window.seen = [];
            new MutationObserver(() => seen.push(Number(document.querySelector('.pushed').textContent)))
                .observe(document.body, {subtree: true, childList: true, characterData: true});
        }""")
        page.wait_for_function("Number(document.querySelector('.pushed').textContent) >= 15", timeout=30_000)
        seen = page.evaluate("seen")
    streams = re.findall(r"GET /_htag/events\?\S+ HTTP/1.1\" (\d+)", (tmp_path / "access.log").read_text())
    assert len(streams) >= 2, streams  # nginx logs a stream when it ends: it cut two, the client came back
    assert sorted(set(seen)) == list(range(seen[0], 16))  # every pushed event applied, none lost


@pytest.mark.feature("many tabs share one connection", topology="one")
def test_eight_tabs_of_one_app_over_http11_all_work(serve, chromium, tmp_path):
    """Browsers allow 6 connections per HTTP/1.1 host: tabs share one stream."""
    server = serve("board")
    context = chromium.new_context()
    tabs = []
    for _ in range(8):
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(server.url)
        tabs.append(page)
    for i, page in enumerate(tabs):
        page.click("button.inc")
        page.wait_for_function(f"document.querySelector('.count').textContent === '{i + 1}'")
    for page in tabs:
        ticking(page, 5)
    states = [page.evaluate("htagSSEState()") for page in tabs]
    leaders = [s for s in states if s["leader"]]
    assert len(leaders) == 1 and sorted(leaders[0]["following"]) == sorted(s["page"] for s in states)
    context.close()


@pytest.mark.feature("a server restart reruns the page", topology="one")
def test_a_server_restart_reruns_every_open_page_keeping_state_and_typed_text(serve, chromium):
    server = serve("board")
    context = chromium.new_context()
    tabs = [context.new_page() for _ in range(3)]
    for i, page in enumerate(tabs):
        page.set_default_timeout(20_000)
        page.goto(server.url)
        page.fill("textarea.memo", f"draft {i}")
    tabs[0].click("button.inc")
    tabs[0].wait_for_function("document.querySelector('.count').textContent === '1'")
    tabs[2].focus("textarea.memo")
    before = [page.evaluate("htagSSEState().page") for page in tabs]
    server.stop()
    serve("board", port=server.port)
    for i, page in enumerate(tabs):
        page.wait_for_function(f"htagSSEState().page !== {before[i]!r}")  # rerun: a new page
        ticking(page, 2)
        assert page.input_value("textarea.memo") == f"draft {i}"
        assert page.inner_text(".count") == "1"  # from the session
    assert tabs[2].evaluate("document.activeElement.className") == "memo"
    tabs[1].click("button.inc")
    tabs[1].wait_for_function("document.querySelector('.count').textContent === '2'")
    context.close()


@pytest.mark.feature("SSE, or long-poll where it cannot pass", topology="one")
@pytest.mark.parametrize("transport", ["poll", "none"])
def test_a_forced_transport_is_used_from_the_start(serve, browser_page, transport):
    """transport="poll": long-poll without trying SSE; "none": no push channel, interactions only."""
    server = serve("board", options=f'{{"transport": "{transport}"}}')
    page = browser_page
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server.url)
    clicks_count(page, 3)
    assert transport_of(page) == transport
    if transport == "poll":
        ticking(page, 3)
        assert any("/_htag/poll?" in u for u in requests)
    else:
        assert page.inner_text(".ticks") == "0"  # tag.update() cannot push: the page stays as rendered
    assert not any("/events" in u for u in requests)
