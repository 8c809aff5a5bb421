"""One long request must not drop every user's page: a worker alone keeps all its pages through a
stall past its lease (a slow synchronous handler, a store locked for a while) — the store decides,
never the worker's own clock — and nothing acknowledged is lost."""

from __future__ import annotations

import time

from htag import Tag

from htag_sse import DiskStore, HtagSSE, MemoryStore
from htag_sse.testing import HtagTestClient

LEASE_S = 0.5


class Slow(Tag.div):
    """A counter held in an attribute, and a handler that keeps the event loop busy past the lease."""

    def init(self):
        self.n = 0
        self.value = Tag.span("0", _class="count")
        self += Tag.button("+1", _onclick=self.inc, _class="inc")
        self += Tag.button("slow", _onclick=self.slow, _class="slow")
        self += self.value

    def inc(self, ev):
        self.n += 1
        self.value.clear(self.n)
        self.state["n"] = self.n

    def slow(self, ev):
        time.sleep(3 * LEASE_S)  # a synchronous handler: nothing else runs meanwhile, the lease passes
        self.inc(ev)


async def test_a_lone_worker_keeps_every_page_through_a_handler_stalling_past_its_lease(tmp_path) -> None:
    for store in (DiskStore(tmp_path / "sessions"), MemoryStore()):
        app = HtagSSE(Slow, session_store=store, lease_s=LEASE_S)
        async with HtagTestClient(app=app, stop_app=True) as alice, HtagTestClient(app=app, stop_app=False) as bob:
            a, b = await alice.open(), await bob.open()
            await a.find(".inc").click()
            await b.find(".inc").click()
            await a.find(".slow").click()  # the stall
            assert a.last_status == 200 and a.find(".count").text == "2"  # its own answer, and its write
            await b.find(".inc").click()
            assert b.last_status == 200 and b.find(".count").text == "2"  # bob's live page was kept
            await a.find(".inc").click()
            assert a.find(".count").text == "3" and (await alice.session())["tests.asgi.test_stall.Slow"]["n"] == 3
            assert len(app.pages) == 2 and app.metrics.counts["page.dropped"] == 0
