"""htag apps the tests serve, in-process or in a server subprocess.

``build("counter")`` makes ``HtagSSE(Counter)``; options also come from the
``HTAG_SSE_TEST_OPTIONS`` environment variable (JSON), sessions go to
``HTAG_SSE_DIR``. Servers run ``hypercorn tests.support.serve:app``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any

from htag import Tag, expose

from htag_sse import HtagSSE

from .typingapps import APPS as TYPING_APPS


class Counter(Tag.div):
    """Clicks counted in the session (tag.state)."""

    def init(self):
        self.inits = self.root.state.get("inits", 0) + 1
        self.root.state["inits"] = self.inits
        self.value = Tag.span(self.state.get("count", 0), _class="count")
        self.note = Tag.input(_class="note", _value="")
        self += self.value
        self += Tag.button("+1", _onclick=self.inc, _class="inc")
        self += self.note

    def inc(self, ev):
        self.state["count"] = self.state.get("count", 0) + 1
        self.value.clear(self.state["count"])

    @expose
    def plus(self, n):
        self.state["count"] = self.state.get("count", 0) + int(n)
        self.value.clear(self.state["count"])

    def secret(self):  # a public method nothing binds nor exposes: not callable from the page
        self.state["secret"] = True

    not_callable = "a string attribute"

    def _private(self):
        self.state["private"] = True


class Clock(Tag.div):
    """Pushes a tick every ``HTAG_SSE_TICK_S`` (0.2 s) with tag.update()."""

    def init(self):
        self.ticks = 0
        self.value = Tag.span("0", _class="ticks")
        self += self.value
        asyncio.ensure_future(self.run())

    async def run(self):
        while True:
            await asyncio.sleep(float(os.environ.get("HTAG_SSE_TICK_S", "0.2")))
            self.ticks += 1
            self.value.clear(self.ticks)
            if not await self.value.update():
                return


class Items(Tag.ul):
    async def fill(self):
        """A generator: htag appends each yielded item to this tag, one round trip each."""
        self.clear()
        for i in range(1, 6):
            await asyncio.sleep(0.01)
            yield Tag.li(f"item{i}")


class Stream(Tag.div):
    """A generator handler streaming items, a failing handler, a slow one."""

    def init(self):
        self.items = Items(_class="items")
        self.status = Tag.span("idle", _class="status")
        self += Tag.button("go", _onclick=self.items.bind.fill(), _class="go")
        self += Tag.button("fail", _onclick=self.fail, _class="fail")
        self += Tag.button("slow", _onclick=self.slow, _class="slow")
        self += Tag.button("ok", _onclick=self.ok, _class="ok")
        self += self.status
        self += self.items

    def fail(self, ev):
        raise ValueError("handler failed on purpose")

    async def slow(self, ev):
        self.status.clear("slow started")
        await asyncio.sleep(30)

    def ok(self, ev):
        self.status.clear(f"ok {time.time():.3f}")


class Args(Tag.div):
    """Shows its init arguments (from the query string)."""

    def init(self, *args, **kargs):
        self += Tag.pre(json.dumps({"args": list(args), "kargs": kargs}, sort_keys=True), _class="args")


class Board(Clock):
    """A clock, a counter in the session (tag.state), a generator, and a text area the user types into."""

    def init(self):
        super().init()
        self.count = Tag.span(self.state.get("count", 0), _class="count")
        self.items = Items(_class="items")
        self += self.count
        self += Tag.button("+1", _onclick=self.inc, _class="inc")
        self += Tag.button("go", _onclick=self.items.bind.fill(), _class="go")
        self += Tag.textarea("", _class="memo")
        self += self.items

    def inc(self, ev):
        self.state["count"] = self.state.get("count", 0) + 1
        self.count.clear(self.state["count"])


class Burst(Tag.div):
    """Pushes bursts of 5 numbered updates every ``HTAG_SSE_BURST_S`` seconds, idle in between."""

    def init(self):
        self.pushed = 0
        self.value = Tag.span("0", _class="pushed")
        self += self.value
        asyncio.ensure_future(self.run())

    async def run(self):
        while True:
            for _ in range(5):
                self.pushed += 1
                self.value.clear(self.pushed)
                if not await self.value.update():
                    return
                await asyncio.sleep(0.05)
            await asyncio.sleep(float(os.environ.get("HTAG_SSE_BURST_S", "11")))


class Vault(Tag.div):
    """Text that appears only after a click or in pushes: parano mode must hide it on the wire."""

    def init(self):
        self.secret = Tag.span("closed", _class="secret")
        self.pushed = Tag.span("", _class="pushed")
        self.count = Tag.span(self.state.get("count", 0), _class="count")
        self += Tag.button("open", _onclick=self.reveal, _class="open")
        self += Tag.button("+1", _onclick=self.inc, _class="inc")
        self += self.secret
        self += self.count
        self += self.pushed
        asyncio.ensure_future(self.run())

    def reveal(self, ev):
        self.secret.clear("treasure-7731")

    def inc(self, ev):
        self.state["count"] = self.state.get("count", 0) + 1
        self.count.clear(f"clicked-{self.state['count']}-times")

    async def run(self):
        n = 0
        while True:
            await asyncio.sleep(0.2)
            n += 1
            self.pushed.clear(f"whisper-{n}")
            if not await self.pushed.update():
                return


class Tally(Tag.div):
    """State kept in attributes, as most htag apps do (F5 must keep it), and a button that removes itself."""

    def init(self, start="0"):
        self.n = int(start)
        self.value = Tag.span(self.n, _class="count")
        self.once = Tag.button("once", _onclick=self.vanish, _class="once")
        self += self.value
        self += Tag.button("+1", _onclick=self.inc, _class="inc")
        self += self.once

    def inc(self, ev):
        self.n += 1
        self.value.clear(self.n)

    def vanish(self, ev):
        self.once.remove()
        self.n += 100
        self.value.clear(self.n)


class Notes(Tag.div):
    """Greets the session's user; private notes held in an attribute of the live page (logins and
    logouts must never hand them on)."""

    def init(self):
        self.notes: list[str] = []
        self += Tag.h1(f"hello {self.session.get('user', 'nobody')}", _class="hello")
        self += Tag.input(_class="note", _onchange=self.bind.write(b"this.value"))
        self.shown = Tag.div(_class="notes")
        self += self.shown

    def write(self, text):
        self.notes.append(text)
        self.shown.clear(", ".join(self.notes))


class Stall(Tag.div):
    """A counter held in an attribute, and a synchronous handler that keeps its worker's event loop
    busy for ``HTAG_SSE_TEST_STALL_S`` seconds (past the lease, in the stall tests)."""

    def init(self):
        self.n = 0
        self.value = Tag.span("0", _class="count")
        self += Tag.button("+1", _onclick=self.inc, _class="inc")
        self += Tag.button("stall", _onclick=self.stall, _class="stall")
        self += self.value

    def inc(self, ev):
        self.n += 1
        self.value.clear(self.n)

    def stall(self, ev):
        logging.getLogger("tests").warning("stalling %d", os.getpid())  # the test waits for this line
        time.sleep(float(os.environ.get("HTAG_SSE_TEST_STALL_S", "3")))
        self.inc(ev)


class Basket(Tag.div):
    """A handler named like htag's ``add``: ``self += ...`` calls it, the page comes out empty."""

    def init(self):
        self += Tag.button("add", _onclick=self.add, _class="add")

    def add(self, ev):
        pass


class Leaving(Tag.div):
    """``self.exit()`` (htag's: it does nothing on the web), and the README's way to end a visit: clear
    the session and send the browser elsewhere."""

    def init(self):
        self.value = Tag.span(self.state.get("count", 0), _class="count")
        self += self.value
        self += Tag.button("+1", _onclick=self.inc, _class="inc")
        self += Tag.button("exit", _onclick=self.quit, _class="exit")
        self += Tag.button("leave", _onclick=self.leave, _class="leave")
        self.said = Tag.span("", _class="said")
        self += self.said

    def inc(self, ev):
        self.state["count"] = self.state.get("count", 0) + 1
        self.value.clear(self.state["count"])

    def quit(self, ev):
        self.exit()
        self.said.clear("still here")

    def leave(self, ev):
        self.session.clear()
        self.call("location.href = '/session/read'")


APPS: dict[str, type[Tag]] = {
    "counter": Counter, "clock": Clock, "stream": Stream, "args": Args, "board": Board, "burst": Burst, "vault": Vault,
    "tally": Tally, "notes": Notes, "stall": Stall, "basket": Basket, "leaving": Leaving, **TYPING_APPS,
}  # fmt: skip


def build(name: str, **options: Any) -> HtagSSE:
    env = json.loads(os.environ.get("HTAG_SSE_TEST_OPTIONS", "{}"))
    return HtagSSE(APPS[name], **{**env, **options})
