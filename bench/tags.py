"""The htag (v1) apps of the benchmarks, importing nothing but htag, so that htag 1.0's own
runner and htagweb (bench/peer_htag1.py, in their own virtualenvs) serve the very classes
htag-sse serves (bench/apps.py)."""

from __future__ import annotations

import asyncio
import time

from htag import Tag


class Counter(Tag.div):
    """A click counter whose handler takes ``ev`` and keeps the count on the instance: the very app
    bench/peer_htag2.py serves on htag 2."""

    def init(self) -> None:
        self.n = 0
        self.value = Tag.span(self.n)
        self += self.value
        self += Tag.button("+1", _onclick=self.inc)

    def inc(self, ev: object) -> None:
        self.n += 1
        self.value.clear(self.n)


class PlainCounter(Counter):
    """The same, its handler bound without ``ev`` (``self.bind.inc()``)."""

    def init(self) -> None:
        self.n = 0
        self.value = Tag.span(self.n)
        self += self.value
        self += Tag.button("+1", _onclick=self.bind.inc())

    def inc(self) -> None:  # type: ignore[override]
        self.n += 1
        self.value.clear(self.n)


class StateCounter(Counter):
    """The same as ``Counter``, the count also kept in ``tag.state`` (the session) like a real app."""

    def init(self) -> None:
        super().init()
        self.n = self.state.get("n", 0)
        self.value.clear(self.n)

    def inc(self, ev: object) -> None:
        self.n += 1
        self.state["n"] = self.n
        self.value.clear(self.n)


#: The form's fields: a label, an input, a hint and an error line each (5 tags with their div: 200 tags).
FIELDS = 40


class Form(Tag.div):
    """A realistic form of 200 tags (40 fields, as an htagui form lays them out); its button validates
    it: every field's value and error change, and the whole form is rendered again."""

    def init(self) -> None:
        self.round = 0
        self.form = Tag.form(_class="form")
        self += self.form
        self += Tag.button("validate", _onclick=self.validate)
        self.fill()

    def fill(self) -> None:
        self.form.clear()
        for i in range(FIELDS):
            self.form += Tag.div([
                Tag.label(f"Field {i}", _for=f"f{i}"),
                Tag.input(_name=f"f{i}", _value=f"value {i}.{self.round}", _type="text"),
                Tag.small(f"what field {i} is for"),
                Tag.span("" if self.round % 2 else f"field {i} is required", _class="error"),
            ], _class="field")  # fmt: skip

    def validate(self, ev: object) -> None:
        self.round += 1
        self.fill()


class Push(Tag.div):
    """Each click starts a task that pushes ``time.monotonic()`` with ``tag.update()``."""

    def init(self) -> None:
        self.stamp = Tag.span("")
        self += self.stamp
        self += Tag.button("ping", _onclick=self.ping)

    def ping(self, ev: object) -> None:
        asyncio.ensure_future(self.send())  # the page owns (and cancels) tasks its code starts

    async def send(self) -> None:
        self.stamp.clear(repr(time.monotonic()))
        await self.stamp.update()


class Ticker(Tag.div):
    """A clock: from its creation, pushes ``time.monotonic()`` once a second with ``tag.update()``,
    until ``update()`` says the page is gone."""

    def init(self) -> None:
        self.span = Tag.span("")
        self += self.span
        asyncio.ensure_future(self.run())  # the page owns (and cancels) tasks its code starts

    async def run(self) -> None:
        while True:
            await asyncio.sleep(1)
            self.span.clear(repr(time.monotonic()))
            if not await self.span.update():
                return
