"""htagui (basics): Sortable — dragging an item reports the new order through the ``@expose``d ``onupdate``."""

import htagui.basics as ui
from htag import Tag


class App(ui.App):
    imports = ui.ALL

    def init(self):
        self.order = Tag.span("not sorted", _class="order")
        items = [
            Tag.div(name, _class=f"item item-{name}", _style="padding:8px;border:1px solid #888") for name in "abcd"
        ]
        self += ui.Sortable(items, onchange=self.sorted, _class="sortable", _style="width:200px")
        self += self.order

    def sorted(self, sortable):
        self.order.clear(" ".join(item.innerHTML for item in sortable.values))
