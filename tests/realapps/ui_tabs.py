"""htagui (basics): Tabs — switched by the user, by code, and a tab added later."""

import htagui.basics as ui
from htag import Tag


class App(ui.App):
    imports = ui.ALL

    def init(self):
        self.info = Tag.span("no change", _class="tabinfo")
        self.tabs = ui.Tabs(
            Tag.div("content one", name="one", _class="pane"),
            Tag.div("content two", name="two", _class="pane"),
            Tag.div("content three", name="three", _class="pane"),
            onchange=lambda t: self.info.clear(f"selected {t.selected}"),
        )
        self += self.tabs
        self += ui.Button("select three", _onclick=self.select_three, _class="b-three")
        self += ui.Button("add a tab", _onclick=self.add_tab, _class="b-add")
        self += self.info

    def select_three(self, ev):
        self.tabs.selected = 2

    def add_tab(self, ev):
        self.tabs.add_tab(Tag.div("fresh content", name="fresh", _class="pane"))
