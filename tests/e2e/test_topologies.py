"""Every feature on every topology we document (harness/topologies.py): one worker, two workers
on one host, two hosts of two workers on Redis behind nginx round-robin, one worker behind a
buffering proxy, and hosts apart on a network with latency. Where a request could land on the
page's owner by luck, the test pins it: the owner is paused (SIGSTOP) while the request is sent,
so another worker takes it."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from harness.processes import wait_until
from harness.topologies import Topology, Worker
from htag_sse.testing.boot import boot_config

from ..support.wiretab import WireTab, shown

pytestmark = [pytest.mark.browser, pytest.mark.topologies("one", "workers", "hosts", "proxy", "apart")]


def open_tab(chromium: Any, topology: Topology, path: str) -> tuple[Any, Any, Worker]:
    """A new browser context on ``path``; the page, its context, and the worker that made it."""
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    answer = page.goto(topology.url + path)
    assert answer is not None and answer.ok, answer and answer.status
    return page, context, topology.worker(answer.headers.get("x-htag-worker"))


def count(page: Any) -> int:
    return int(page.text_content(".count"))


def reloaded(page: Any) -> bool:
    try:
        return bool(page.evaluate("window.__before === undefined && document.readyState === 'complete'"))
    except Exception:  # the old document is going: not yet
        return False


def reload(page: Any, topology: Topology, owner: Worker | None, go: str = "location.reload()") -> None:
    """F5 in the tab (or the navigation ``go``); with ``owner``, pinned: the owner is paused while the
    request is sent, so another worker gets it, and resumed once that worker has asked it for the page
    (or answered)."""
    page.evaluate("window.__before = true")
    mark = topology.mark()
    if owner is None:
        page.evaluate(f"setTimeout(() => {go}, 0)")
    else:
        with owner.paused():
            page.evaluate(f"setTimeout(() => {go}, 0)")
            # another worker took the GET: it asked the owner for the page (or, wrongly, made a new one)
            topology.wait_logged(r"event=page\.(takeover\.relayed|created)", mark)
    wait_until(lambda: reloaded(page), 15, "the reloaded page")
    page.wait_for_function("window.htagSSEState && window.htagSSEState().page")


@pytest.mark.feature("F5 keeps the live page")
def test_f5_keeps_the_live_page_and_its_attributes(topology: Topology, chromium: Any) -> None:
    """A counter held in an attribute (not in the session) survives 20 reloads, whichever worker
    each reload reaches: the reload takes the same live instance over."""
    page, context, owner = open_tab(chromium, topology, "/tally")
    try:
        for i in range(20):
            expected = i + 1
            page.click(".inc")
            page.wait_for_function(f"document.querySelector('.count').textContent === '{expected}'")
            reload(page, topology, owner if topology.several and i % 2 == 0 else None)
            assert count(page) == expected, f"reload {i + 1}: a new instance ({count(page)}, not {expected})"
    finally:
        context.close()


def pinned(topology: Topology, owner: Worker, i: int = 0) -> Worker | None:
    """The owner to pause (every other time), where a request could reach another worker."""
    return owner if topology.several and i % 2 == 0 else None


@pytest.mark.feature("a tab coming back takes its page over")
def test_a_tab_coming_back_to_a_page_it_left_takes_the_same_page_over(topology: Topology, chromium: Any) -> None:
    """The tab goes to another URL (its page is released) and comes back later (after the reload
    cookie is gone): it gets its live page back, whichever worker the GET reaches."""
    page, context, owner = open_tab(chromium, topology, "/tally")
    page_id = page.evaluate("htagSSEState().page")
    try:
        for i in range(4):
            page.click(".inc")
            page.wait_for_function(f"document.querySelector('.count').textContent === '{i + 1}'")
            mark = topology.mark()
            page.goto(topology.url + "/session/read")  # the tab leaves: the release beacon, the reload cookie
            context.clear_cookies(name="htag_reload")  # as 5 s later: only the release remains
            topology.wait_logged(f"page {re.escape(page_id)} released by its tab", mark)
            reload(page, topology, pinned(topology, owner, i), f"location.href = {topology.url + '/tally'!r}")
            assert count(page) == i + 1, f"visit {i + 2}: a new instance"
    finally:
        context.close()


@pytest.mark.feature("a second tab gets a page of its own")
def test_a_second_tab_gets_a_page_of_its_own(topology: Topology, chromium: Any) -> None:
    page, context, owner = open_tab(chromium, topology, "/tally")
    try:
        page.click(".inc")
        page.wait_for_function("document.querySelector('.count').textContent === '1'")
        with (owner.paused() if topology.several else contextlib.nullcontext()):
            second = context.new_page()
            second.set_default_timeout(15_000)
            second.goto(topology.url + "/tally")  # the other worker: it must not take the first tab's page
        assert count(second) == 0
        second.click(".inc")
        second.click(".inc")
        second.wait_for_function("document.querySelector('.count').textContent === '2'")
        page.click(".inc")
        page.wait_for_function("document.querySelector('.count').textContent === '2'")
        assert page.evaluate("htagSSEState().page") != second.evaluate("htagSSEState().page")
    finally:
        context.close()


def while_paused_send(topology: Topology, owner: Worker, send: Callable[[], Any], relayed: str) -> Any:
    """``send()`` (blocking) with the page's owner paused; resume it once another worker relays to it."""
    if not topology.several:
        return send()
    mark = topology.mark()
    with ThreadPoolExecutor(1) as pool, owner.paused():
        sent = pool.submit(send)
        topology.wait_logged(f"relaying {relayed} to worker", mark)
    return sent.result(timeout=30)


@pytest.mark.feature("the back/forward cache")
def test_a_tab_back_from_the_back_forward_cache_keeps_its_page_wherever_its_requests_land(
    topology: Topology,
) -> None:
    """The tab left (its page released) and came back from the cache: its page is its own again —
    its clicks work, and a new tab of the app gets a page of its own, not the tab's."""
    tab = WireTab(topology, "/tally")
    try:
        assert shown(tab.click("inc")) == "1"
        tab.release()  # the tab leaves
        back = while_paused_send(topology, tab.owner, lambda: tab.click("inc"), "interact")  # ...and is back
        assert back.status_code == 200 and shown(back) == "2"
        other = while_paused_send(topology, tab.owner, lambda: tab.http.get(tab.path), "takeover")
        assert boot_config(other.text)["page"] != tab.boot["page"]
        assert shown(tab.click("inc")) == "3"
    finally:
        tab.close()


@pytest.mark.feature("the back/forward cache")
def test_a_tab_back_from_the_cache_after_its_page_was_taken_over_is_told_to_reload(topology: Topology) -> None:
    tab = WireTab(topology, "/tally")
    try:
        assert shown(tab.click("inc")) == "1"
        tab.release()
        taken = while_paused_send(topology, tab.owner, lambda: tab.http.get(tab.path), "takeover")
        assert boot_config(taken.text)["page"] == tab.boot["page"]  # the page went to the new document
        old = tab.click("inc")  # the old document, back from the cache, with the old token
        assert old.status_code == 410 and old.json()["error"] == "page_taken"
    finally:
        tab.close()


@pytest.mark.feature("logins and logouts never hand a page on")
@pytest.mark.parametrize("then", ["logout, then bob logs in", "bob logs in over her session", "logout"])
def test_the_next_user_of_the_browser_never_gets_the_previous_users_page(
    topology: Topology, chromium: Any, then: str
) -> None:
    context = chromium.new_context()
    try:
        alice = context.new_page()
        alice.set_default_timeout(15_000)
        alice.request.get(topology.url + "/login?user=alice")
        alice.goto(topology.url + "/notes")
        alice.fill("input.note", "alice's secret")
        alice.dispatch_event("input.note", "change")
        alice.wait_for_function("document.querySelector('.notes').textContent === \"alice's secret\"")
        if then.startswith("logout"):
            alice.goto(topology.url + "/logout")  # her tab leaves: release beacon and reload cookie, then logout
        if "bob" in then:
            alice.goto(topology.url + "/login?user=bob")
        alice.goto(topology.url + "/notes")
        text = alice.inner_text("body")
        assert "alice" not in text, text
        assert alice.inner_text(".hello") == ("hello nobody" if then == "logout" else "hello bob")
    finally:
        context.close()
