"""htag apps for tests/e2e/test_typing.py: pushes must not wipe what the user is typing.

Merged into ``tests.support.apps.APPS`` (so ``serve("typing")`` serves them). Each app's
root re-renders itself from a clock (``await self.update()``, the whole body) every
``HTAG_SSE_TYPING_TICK_S`` seconds (0.1 s), showing how many pushes it made in ``.ticks``.
"""

from __future__ import annotations

import asyncio
import os

from htag import Tag


class Ticking(Tag.div):
    """A root whose clock re-renders it whole, several times a second."""

    def init(self):
        self.ticks = 0
        self.counter = Tag.span("0", _class="ticks")
        asyncio.ensure_future(self.run())

    async def run(self):
        while True:
            await asyncio.sleep(float(os.environ.get("HTAG_SSE_TYPING_TICK_S", "0.1")))
            self.ticks += 1
            self.counter.clear(self.ticks)
            self.tick()
            if not await self.update():
                return

    def tick(self):
        """What else changes with each push."""


class Typing(Ticking):
    """An input, a textarea, an opened <details>, a scrolled div, a tall page, a tag with js: all
    re-rendered with the root at each tick."""

    def init(self):
        super().init()
        self.label = Tag.span("", _class="label")
        self += self.counter
        self += self.label
        self += Tag.input(_value="", _class="typed")
        self += Tag.textarea("", _class="notes")
        self += Tag.details([Tag.summary("more", _class="summary"), Tag.p("inside")], _class="more")
        self += Tag.div([Tag.p(f"line {i}", _style="margin:0;height:20px") for i in range(50)], _class="scroller",
                        _style="height:100px;overflow:auto")  # fmt: skip
        # a tag whose js sets up a listener: its js runs again with every rendering of the root
        self += Tag.button(
            "js",
            _class="withjs",
            js="self.addEventListener('click', () => { window.jsClicks = (window.jsClicks || 0) + 1 })",
        )
        self += Tag.div(_class="spacer", _style="height:3000px")

    def tick(self):
        self.label.clear(f"push {self.ticks}")  # the text around the input changes too


class Todo(Ticking):
    """A list: "add" appends the input's text and clears the input (the server's value wins)."""

    def init(self):
        super().init()
        self.items = Tag.ul(_class="items")
        self.entry = Tag.input(_value="", _class="entry", _onchange=self.bind.typed(b"this.value"))
        self += self.counter
        self += self.entry
        self += Tag.button("add", _onclick=self.add_item, _class="add")
        self += self.items

    def typed(self, value):
        self.entry["value"] = value  # the input's value kept in its attribute, as htag's input widgets do

    def add_item(self, ev):
        self.items += Tag.li(self.entry["value"])
        self.entry["value"] = ""


class Vanishing(Ticking):
    """Typing "bye" into an input removes it (the answer re-renders the root without it)."""

    def init(self):
        super().init()
        self.kept = Tag.input(_value="", _class="kept")
        self.doomed = Tag.input(_value="", _class="doomed", _oninput=self.bind.typed(b"this.value"))
        self.status = Tag.span("", _class="status")
        self.n = 0
        self += self.counter
        self += self.kept
        self += self.doomed
        self += self.status
        self += Tag.button("+1", _onclick=self.inc, _class="inc")

    def typed(self, value):
        if value == "bye":
            self.doomed.remove()
            self.status.clear("removed")

    def inc(self, ev):
        self.n += 1
        self.status.clear(f"count {self.n}")


APPS: dict[str, type[Tag]] = {"typing": Typing, "todo": Todo, "vanishing": Vanishing}
