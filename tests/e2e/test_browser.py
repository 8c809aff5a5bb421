"""What a user sees, in headless Chromium, on every topology (tests/e2e/conftest.py: one worker,
two workers, two hosts on Redis). On several workers, the requests that matter are pinned to a
worker that does not own their page (tests/support/pins.py): clicks relayed to the owner, pushes
streamed by another worker. The ``workers`` topology runs hypercorn's uvloop worker class, the
others asyncio: both event loops are covered."""

import json
import time
from typing import Any

import pytest

from harness.processes import wait_until
from harness.topologies import Topology
from tests.support.pins import open_page, relayed, reload

pytestmark = [pytest.mark.browser, pytest.mark.server]

COUNT_IS = "n => document.querySelector('.count').textContent === String(n)"
TICKS_AT_LEAST = "n => Number(document.querySelector('.ticks').textContent) >= n"
OFFLINE = "document.documentElement.classList.contains('htag-offline')"


def ticks(tab: Any) -> int:
    return int(tab.text_content(".ticks"))


@pytest.mark.feature("clicks and updates")
def test_a_counter_clicked_20_times_shows_20(topology: Topology, tab: Any) -> None:
    owner = open_page(tab, topology, "/counter")
    for i in range(20):
        if i % 5 == 0:  # every fifth click reaches another worker, which relays it
            with relayed(topology, owner, tab):
                tab.click("button.inc")
            tab.wait_for_function(COUNT_IS, arg=i + 1)
        else:
            tab.click("button.inc")
    tab.wait_for_function(COUNT_IS, arg=20)


@pytest.mark.feature("pushes from background tasks")
def test_a_clock_visibly_ticks_through_tag_update(topology: Topology, tab: Any) -> None:
    """The clock's task pushes with ``tag.update()``; on several workers the tab's stream is held by
    another worker than the page's."""
    open_page(tab, topology, "/clock", stream_elsewhere=True)
    tab.wait_for_function(TICKS_AT_LEAST, arg=ticks(tab) + 3)


@pytest.mark.feature("generators")
def test_a_generator_streams_its_items(topology: Topology, tab: Any) -> None:
    owner = open_page(tab, topology, "/stream")
    with relayed(topology, owner, tab):
        tab.click("button.go")
    tab.wait_for_function("document.querySelectorAll('.items li').length === 5")
    assert tab.inner_text(".items").split() == ["item1", "item2", "item3", "item4", "item5"]


@pytest.mark.feature("errors are shown")
def test_an_error_in_a_handler_is_shown_and_later_clicks_work(topology: Topology, tab: Any) -> None:
    owner = open_page(tab, topology, "/stream")
    with relayed(topology, owner, tab):
        tab.click("button.fail")
    tab.wait_for_selector(".htag-sse-error")
    assert "handler failed on purpose" in tab.inner_text(".htag-sse-error")
    with relayed(topology, owner, tab):
        tab.click("button.ok")
    tab.wait_for_function("document.querySelector('.status').textContent.startsWith('ok')")


@pytest.mark.feature("F5 keeps the live page")
def test_tag_state_survives_f5(topology: Topology, tab: Any) -> None:
    owner = open_page(tab, topology, "/counter")
    for _ in range(3):
        tab.click("button.inc")
    tab.wait_for_function(COUNT_IS, arg=3)
    reload(tab, topology, owner)  # on several workers, the reload reaches another worker
    assert tab.inner_text(".count") == "3"
    tab.click("button.inc")
    tab.wait_for_function(COUNT_IS, arg=4)


@pytest.mark.feature("a server restart reruns the page")
def test_after_a_server_restart_the_open_page_shows_offline_then_recovers(topology: Topology, tab: Any) -> None:
    open_page(tab, topology, "/clock", stream_elsewhere=True)
    before = tab.evaluate("htagSSEState().page")
    tab.wait_for_function(TICKS_AT_LEAST, arg=2)
    topology.down()
    tab.wait_for_function(OFFLINE)
    topology.up()
    # the page reruns by itself: a fresh clock, pushing again, online
    tab.wait_for_function(f"htagSSEState().page !== {before!r}", timeout=20_000)
    tab.wait_for_function(f"!{OFFLINE} && Number(document.querySelector('.ticks').textContent) >= 2", timeout=20_000)


@pytest.mark.feature("a server restart reruns the page")
def test_a_click_during_a_restart_is_not_lost(topology: Topology, tab: Any) -> None:
    open_page(tab, topology, "/counter")
    tab.click("button.inc")
    tab.wait_for_function(COUNT_IS, arg=1)
    topology.down()
    tab.click("button.inc")  # the server is down: the click waits, retried with backoff...
    topology.up()
    # ...lands on the new server, which has no such page: the page reruns and the click is replayed
    tab.wait_for_function(COUNT_IS, arg=2, timeout=20_000)
    tab.click("button.inc")
    tab.wait_for_function(COUNT_IS, arg=3)


@pytest.mark.feature("self.exit()")
def test_self_exit_does_nothing_and_the_page_goes_on(topology: Topology, tab: Any) -> None:
    """htag's ``self.exit()`` cannot close a browser tab (README): the handler goes on, and so does the
    page, whichever worker the click reaches."""
    owner = open_page(tab, topology, "/leaving")
    tab.click("button.inc")
    tab.wait_for_function(COUNT_IS, arg=1)
    with relayed(topology, owner, tab):
        tab.click("button.exit")
    tab.wait_for_function("document.querySelector('.said').textContent === 'still here'")
    tab.click("button.inc")
    tab.wait_for_function(COUNT_IS, arg=2)


@pytest.mark.feature("ending a visit")
def test_the_readmes_way_to_end_a_visit_sends_the_browser_elsewhere(topology: Topology, tab: Any) -> None:
    """README, ``self.exit()``: "clear what it holds and send the browser elsewhere:
    ``self.session.clear(); self.call("location.href = '/'")``". Clearing the session ends the page
    at once, and the stream may tell the tab so before the click's answer arrives: here made
    certain, the answer held until the tab says it heard that news (on one host: across hosts the
    tab learns it at its next request). The answer still comes first."""
    open_page(tab, topology, "/leaving")
    tab.click("button.inc")
    tab.wait_for_function(COUNT_IS, arg=1)
    held: list[Any] = []
    heard: list[str] = []
    tab.on("console", lambda m: heard.append(m.text) if "its answers in flight come first" in m.text else None)
    tab.route("**/_htag/*/interact", lambda route: held.append(route))
    tab.click("button.leave")
    wait_until(lambda: held, 10, "the click's request")
    answer = held[0].fetch()  # the server answers, and the page's stream says the page ended
    if topology.redis is None:  # across hosts a stream is not told of a page ended elsewhere: no race
        deadline = time.monotonic() + 10
        while not heard and time.monotonic() < deadline:
            tab.wait_for_timeout(20)  # Playwright delivers the console's lines meanwhile
        assert heard, "the tab was not told that its page ended"
    held[0].fulfill(response=answer)
    tab.unroute("**/_htag/*/interact")
    tab.wait_for_url("**/session/read")
    assert json.loads(tab.inner_text("body")) == {}  # the session was cleared
    open_page(tab, topology, "/leaving")
    assert tab.inner_text(".count") == "0"


def test_on_granian_clicks_pushes_generators_and_f5_work(serve: Any, browser_page: Any) -> None:
    """The same client on Granian (``app.run(server="granian", loop="uvloop")``), one worker."""
    server = serve("board", loop="uvloop", server="granian")
    page = browser_page
    page.goto(server.url)
    for _ in range(3):
        page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=3)
    page.wait_for_function(TICKS_AT_LEAST, arg=3)
    page.click("button.go")
    page.wait_for_function("document.querySelectorAll('.items li').length === 5")
    page.reload()
    assert page.inner_text(".count") == "3"
    page.click("button.inc")
    page.wait_for_function(COUNT_IS, arg=4)


def test_a_handler_named_like_htags_own_method_is_named_in_the_console_and_the_log(serve: Any, chromium: Any) -> None:
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
