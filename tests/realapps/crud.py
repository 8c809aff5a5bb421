"""A CRUD app in the style of htag's examples (7GUIs' "CRUD" task): names in an attribute,
a ``render()`` method, and its own ``update`` method bound with ``self.bind.update()``."""

from htag import Tag


class App(Tag.body):
    def init(self):
        self.names = ["Emil, Hans", "Mustermann, Max", "Tisch, Roman"]
        self.selected = None
        self.prefix = ""
        self.name = ""

    def render(self):
        self.clear()
        shown = [(i, n) for i, n in enumerate(self.names) if n.startswith(self.prefix)]
        self += Tag.input(_value=self.prefix, _placeholder="filter prefix", _class="filter",
                          _onchange=self.bind.set_prefix(b"this.value"))  # fmt: skip
        self += Tag.select([Tag.option(n, _value=i, _selected=i == self.selected) for i, n in shown], _size=6,
                           _class="names", _onchange=self.bind.select(b"this.value"))  # fmt: skip
        self += Tag.input(_value=self.name, _class="name", _onchange=self.bind.set_name(b"this.value"))
        self += Tag.button("create", _onclick=self.bind.create(), _class="create")
        self += Tag.button("update", _onclick=self.bind.update(), _class="update")
        self += Tag.button("delete", _onclick=self.bind.delete(), _class="delete")

    def set_prefix(self, value):
        self.prefix = value

    def select(self, value):
        self.selected = int(value)
        self.name = self.names[self.selected]

    def set_name(self, value):
        self.name = value

    def create(self):
        self.names.append(self.name)

    def update(self):
        if self.selected is not None:
            self.names[self.selected] = self.name

    def delete(self):
        if self.selected is not None:
            del self.names[self.selected]
            self.selected = None
