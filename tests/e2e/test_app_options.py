"""Options of the app a user notices, in Chromium, on one worker, two workers and two hosts on Redis
(servers of their own: the options are the servers'): the Content-Security-Policy docs/security.md
documents (``page_headers``), and a short first-event probe (``sse_probe_s``: a quiet stream is not
taken for a buffering proxy). On several workers the tab's stream is held by another worker than
its page's (tests/support/pins.py)."""

from typing import Any

import pytest

from harness.topologies import Topology
from tests.support.pins import open_page, relayed

CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'; "
       "object-src 'none'")  # fmt: skip (as in docs/security.md)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.topologies("one", "workers", "hosts", options={"page_headers": {"Content-Security-Policy": CSP},
                                                               "sse_probe_s": 1}),
]  # fmt: skip


@pytest.mark.feature("the documented Content-Security-Policy")
def test_the_documented_content_security_policy_lets_the_app_work(topology: Topology, tab: Any) -> None:
    violations: list[str] = []
    tab.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    with tab.expect_response(topology.url + "/board") as page:
        owner = open_page(tab, topology, "/board", stream_elsewhere=True)
    assert page.value.headers["content-security-policy"] == CSP
    for _ in range(3):
        tab.click("button.inc")
    tab.wait_for_function("document.querySelector('.count').textContent === '3'")
    tab.wait_for_function("Number(document.querySelector('.ticks').textContent) >= 3")
    with relayed(topology, owner, tab):
        tab.click("button.go")
    tab.wait_for_function("document.querySelectorAll('.items li').length === 5")
    assert violations == []


@pytest.mark.feature("SSE, or long-poll where it cannot pass")
def test_a_quiet_stream_stays_on_sse(topology: Topology, tab: Any) -> None:
    """A stream that carries no event for longer than the first-event probe (1 s here) is not a
    buffering proxy: the client stays on SSE, and a click's answer comes as usual."""
    owner = open_page(tab, topology, "/counter", stream_elsewhere=True)
    tab.wait_for_function("htagSSEState().leader && !document.documentElement.classList.contains('htag-offline')")
    tab.wait_for_timeout(2500)  # the quiet time is what is under test: 2.5 probes long
    assert tab.evaluate("htagSSEState().transport") == "sse"
    with relayed(topology, owner, tab):
        tab.click("button.inc")
    tab.wait_for_function("document.querySelector('.count').textContent === '1'")
