"""bench/tags.py's apps written for htag 2 (2.0.28), for bench_peers.py, served by uvicorn in
htag 2's own virtualenv: ``python -m uvicorn bench.peer_htag2:counter`` (or ``:push``, ``:form``).

htag 2 keeps one ``App`` instance per session (cookie ``htag_sid``): the counter keeps its
count on the instance, htag 2's way, where htag 1 apps use ``self.state``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from htag import App, Tag, WebApp


class Counter(App):
    def init(self) -> None:
        self.n = 0
        self.value = Tag.span(self.n)
        self += self.value
        self += Tag.button("+1", _onclick=self.inc)

    def inc(self, ev: Any) -> None:
        self.n += 1
        self.value.clear(self.n)


class Form(App):
    """bench/tags.py's 200-tag ``Form``, on htag 2: its button re-renders the whole form."""

    def init(self) -> None:
        self.round = 0
        self.form = Tag.form(_class="form")
        self += self.form
        self += Tag.button("validate", _onclick=self.validate)
        self.fill()

    def fill(self) -> None:
        self.form.clear()
        for i in range(40):
            self.form += Tag.div([
                Tag.label(f"Field {i}", _for=f"f{i}"),
                Tag.input(_name=f"f{i}", _value=f"value {i}.{self.round}", _type="text"),
                Tag.small(f"what field {i} is for"),
                Tag.span("" if self.round % 2 else f"field {i} is required", _class="error"),
            ], _class="field")  # fmt: skip

    def validate(self, ev: Any) -> None:
        self.round += 1
        self.fill()


class Push(App):
    """Each click starts a task that pushes ``time.monotonic()`` with ``tag.update()``."""

    def init(self) -> None:
        self.stamp = Tag.span("")
        self += self.stamp
        self += Tag.button("ping", _onclick=self.ping)

    def ping(self, ev: Any) -> None:
        asyncio.ensure_future(self.send())

    async def send(self) -> None:
        self.stamp.clear(repr(time.monotonic()))
        self.stamp.update()  # htag 2: schedules the broadcast (at most one per 50 ms)


counter = WebApp(Counter, debug=False).app
push = WebApp(Push, debug=False).app
form = WebApp(Form, debug=False).app
