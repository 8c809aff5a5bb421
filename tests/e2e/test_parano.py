"""Parano mode in headless Chromium, with a wiretap between browser and server, on every topology
(one worker, two workers, two hosts on Redis): on several workers the clicks are relayed to the
page's owner by another worker and the pushes streamed by another worker (tests/support/pins.py),
sealed all the way."""

from typing import Any

import httpx
import pytest

from harness.topologies import Topology
from tests.support.pins import open_page, relayed, send_relayed

from ..support.wiretap import wiretap

pytestmark = [pytest.mark.browser, pytest.mark.server]

SECRETS = (b"treasure-7731", b"clicked-", b"whisper-", b'{"update":')


@pytest.mark.feature("parano mode")
def test_clicks_and_pushes_work_and_the_wire_shows_no_htag_payload(topology: Topology, tab: Any) -> None:
    with wiretap(int(topology.url.rsplit(":", 1)[1])) as (port, tap):
        page = tab
        owner = open_page(page, topology, "/parano/vault", stream_elsewhere=True, url=f"http://127.0.0.1:{port}")
        with relayed(topology, owner, page):
            page.click("button.open")
        page.wait_for_function("document.querySelector('.secret').textContent === 'treasure-7731'")
        for _ in range(3):
            page.click("button.inc")
        page.wait_for_function("document.querySelector('.count').textContent === 'clicked-3-times'")
        page.wait_for_function("document.querySelector('.pushed').textContent.startsWith('whisper-')")
        assert page.evaluate("htagSSEState().parano") is True
        seen = bytes(tap.up + tap.down)
        clicks = tap.requests(b"/interact")
        assert len(clicks) == 4
        for secret in SECRETS:
            assert secret not in seen, secret  # neither in bodies, answers nor events

        # an attacker replaying (or tampering with) the last POST it logged, whichever worker it reaches
        head, body = clicks[-1]
        headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:] if b": " in line)
        kept = {k.decode(): v.decode() for k, v in headers.items() if k.lower() in (b"cookie", b"x-htag-token")}
        target = head.split(b" ")[1].decode()
        with httpx.Client(base_url=topology.url, timeout=30) as attacker:
            replay = send_relayed(topology, owner, lambda: attacker.post(target, content=body, headers=kept))
            assert replay.status_code == 409 and replay.json()["error"] == "replayed"
            tampered = body[:-3] + (b"AAA" if body[-3:] != b"AAA" else b"BBB")
            refused = send_relayed(topology, owner, lambda: attacker.post(target, content=tampered, headers=kept))
            assert refused.status_code == 400 and refused.json()["error"] == "bad_ciphertext"
        page.click("button.inc")  # the page goes on
        page.wait_for_function("document.querySelector('.count').textContent === 'clicked-4-times'")
