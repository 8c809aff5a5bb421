"""htbulma: Tabs, a paginated Table, Tags, Nav, HSplit and FileUpload (``self.bind._onchange``)."""

import hashlib

import htbulma as b
from htag import Tag


class App(Tag.div):
    def init(self):
        self.info = Tag.span("nothing", _class="info")
        self.nav = b.Nav("realapps")
        self.nav.addEntry("home", lambda: self.info.clear("nav: home"))
        self.nav.addEntry("about", lambda: self.info.clear("nav: about"))
        self += self.nav
        self += Tag.div(_style="height:60px")  # under the fixed navbar
        tabs = b.Tabs(_class="tabs-widget")
        tabs.addTab("One", Tag.div("pane one", _class="pane"))
        tabs.addTab("Two", Tag.div("pane two", _class="pane"))
        self += tabs
        self += b.Table([(f"row {i}", i * i) for i in range(1, 26)], cols=["name", "square"], pageSize=10,
                        _class="table-widget")  # fmt: skip
        self.tags = b.Tags(["apple"], ["apple", "pear", "plum"], _class="tags-widget")
        self += self.tags
        self += b.Button("show tags", _onclick=lambda o: self.info.clear("tags: " + ",".join(sorted(self.tags.tags))),
                         _class="b-tags")  # fmt: skip
        self += b.HSplit(
            Tag.div("left"), Tag.div("right"), _style="height:80px;width:400px;display:block", _class="split"
        )
        self.got = Tag.pre("no file", _class="got")
        self += b.FileUpload(self.received, _class="upload")
        self += self.got
        self += self.info

    def received(self, name: str, content: bytes):
        self.got.clear(f"{name} {len(content)} {hashlib.sha256(content).hexdigest()}")
