"""htbulma: ``LocalStorage`` — a dict kept in the browser's localStorage. At start it asks the
browser for the stored JSON through ``self.call._localstorage_loader(...)``: a function that
htbulma sets on the app INSTANCE (not on its class) under a private name."""

import htbulma as b
from htag import Tag


class App(Tag.div):
    def init(self):
        self.shown = Tag.span("not loaded", _class="shown")
        self.store = b.LocalStorage(self.loaded, key="realapps")
        self += b.Button("visit", _onclick=self.visit, _class="b-visit")
        self += self.shown

    def loaded(self):
        self.shown.clear(f"visits: {self.store['visits'] or 0}")

    def visit(self, o):
        self.store["visits"] = (self.store["visits"] or 0) + 1
        self.shown.clear(f"visits: {self.store['visits']}")
