"""A counter kept in an ATTRIBUTE (not in ``tag.state``), and a button that removes itself.

htag's runner keeps the instance across a reload (F5): the count survives.
Double-clicking the self-removing button sends a second click to a removed tag.
"""

from htag import Tag


class App(Tag.div):
    def init(self):
        self.n = 0
        self.count = Tag.span("0", _class="count")
        self.note = Tag.span("", _class="note")
        self.once = Tag.button("remove me", _onclick=self.remove_button, _class="once")
        self += Tag.button("+1", _onclick=self.inc, _class="inc")
        self += self.count
        self += self.once
        self += self.note

    def inc(self, ev):
        self.n += 1
        self.count.clear(self.n)

    def remove_button(self, ev):
        self.once.remove()
        self.note.clear("button removed")
