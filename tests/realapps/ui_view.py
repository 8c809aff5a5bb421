"""htagui (basics): View — hash navigation; ``view.go()`` sets the location hash and the browser's
``hashchange`` event calls the ``@expose``d ``_hashchange``."""

import htagui.basics as ui
from htag import Tag


class App(ui.App):
    imports = ui.ALL

    def init(self):
        page1 = Tag.div("this is page 1", _class="p1")
        page2 = Tag.div("this is page 2", _class="p2")
        self.view = ui.View(Tag.div("welcome", _class="welcome"), _class="view")
        self += ui.Button("page 1", _onclick=lambda ev: self.view.go(page1, "p1"), _class="b-p1")
        self += ui.Button("page 2", _onclick=lambda ev: self.view.go(page2, "p2"), _class="b-p2")
        self += self.view
