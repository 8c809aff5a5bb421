"""htbulma: ``LocalStorage``, as htbulma's own storage example uses it — a dict kept in the
browser's localStorage, loaded at start, set and cleared by buttons, the page redrawn each time.
htbulma reaches the server with a function it sets on the app instance; nothing in this module
names it (the server must not depend on this file's text)."""

import htbulma as b
from htag import Tag


class App(Tag.div):
    imports = []  # htag's statics scan: none (htbulma's example does the same)

    def init(self):
        self.conf = b.LocalStorage(self.redraw, key="realapps")
        self += Tag.span("not loaded", _class="shown")

    def redraw(self):
        self.clear()
        self += Tag.span(f"hello {self.conf['v'] or '?'}", _class="shown")
        self += Tag.button("set 1", _onclick=self.set1, _class="b-set1")
        self += Tag.button("set 2", _onclick=self.set2, _class="b-set2")
        self += Tag.button("clear", _onclick=self.forget, _class="b-clear")
        self += Tag.hr()
        self += self.conf  # htbulma's example shows the store: its repr

    def set1(self, o):
        self.conf["v"] = 1
        self.redraw()

    def set2(self, o):
        self.conf["v"] = 2
        self.redraw()

    def forget(self, o):
        self.conf.clear()
        self.redraw()
