"""htag apps for the browser client's tests (tests/e2e/test_client.py).

Served at ``/<name>`` (and in parano mode at ``/parano/<name>``) by ``tests.support.serve:app``
with ``HTAG_SSE_TEST_APP=*``, beside the apps of tests/support/apps.py.
"""

from __future__ import annotations

import asyncio

from htag import Tag, expose


class Busy(Tag.div):
    """A slow handler (0.6 s) and a fast one."""

    def init(self):
        self.done = Tag.span("", _class="done")
        self.fasts = 0
        self += Tag.button("slow", _onclick=self.slow, _class="slow")
        self += Tag.button("fast", _onclick=self.fast, _class="fast")
        self += self.done

    async def slow(self, ev):
        await asyncio.sleep(0.6)
        self.done.clear("slow")

    def fast(self, ev):
        self.fasts += 1
        self.done.clear(f"fast {self.fasts}")


class Errors(Tag.div):
    """JS errors: at start, in a handler's self.call(...) and in a tag's js; an error htag's _error reports itself."""

    def init(self):
        self.js = "if (location.hash === '#boot-error') throw new Error('start failed on purpose')"
        self.count = Tag.span("0", _class="count")
        self.n = 0
        self += Tag.button("call", _onclick=self.call_error, _class="call")
        self += Tag.button("js", _onclick=self.js_error, _class="js")
        self += Tag.button("caught", _onclick=self.caught_error, _class="caught")
        self += Tag.button("+1", _onclick=self.inc, _class="inc")
        self += self.count

    def call_error(self, ev):
        self.call("nope_call_not_defined()")

    def js_error(self, ev):
        self += Tag.span("new", js="nope_js_not_defined()", _class="fresh")

    def caught_error(self, ev):
        self.call("try { nope_caught_not_defined() } catch (e) { _error(e, 'JS') }")

    def inc(self, ev):
        self.n += 1
        self.count.clear(self.n)


class ErrorElement(Errors):
    """The same, with an element id="error": window.error is that element, so errors go to the console only."""

    def init(self):
        super().init()
        self += '<div id="error">an element named error</div>'  # htag gives its tags their own ids: raw HTML


class Numbers(Tag.div):
    """Collects numbers sent by an exposed method; a button sends 1..22 at once from JS; a slow handler."""

    def init(self):
        self.got: list[int] = []
        self.shown = Tag.span("", _class="got")
        self.count = Tag.span("0", _class="count")
        self.n = 0  # held by the live instance only, not in the session
        self += Tag.button("burst", _onclick="for (let i = 1; i <= 22; i++) document.body.collect(i)", _class="burst")
        self += Tag.button("slow", _onclick=self.slow, _class="slow")
        self += Tag.button("+1", _onclick=self.inc, _class="inc")
        self += Tag.input(_class="memo", _onchange=self.bind(self.typed, b"this.value"))
        self.typed_shown = Tag.span("", _class="typed")
        self += self.typed_shown
        self += self.shown
        self += self.count

    @expose
    def collect(self, i):
        self.got.append(int(i))
        self.shown.clear(",".join(map(str, self.got)))

    async def slow(self, ev):
        await asyncio.sleep(0.8)

    def inc(self, ev):
        self.n += 1
        self.count.clear(self.n)

    def typed(self, ev, value):
        self.typed_shown.clear(value)


APPS: dict[str, type[Tag]] = {"busy": Busy, "errors": Errors, "error_element": ErrorElement, "numbers": Numbers}
