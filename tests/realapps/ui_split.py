"""htagui (basics): HSplit and VSplit — dragging a gutter reports the new sizes through the ``@expose``d ``_onchange``."""

import htagui.basics as ui
from htag import Tag


class App(ui.App):
    imports = ui.ALL

    def init(self):
        self.sizes = Tag.span("not resized", _class="sizes")
        self += ui.HSplit(Tag.div("left", _class="left"), Tag.div("right", _class="right"), sizes=[50, 50],
                          onchange=self.resized, _style="height:120px;width:600px", _class="hs")  # fmt: skip
        self += ui.VSplit(Tag.div("top"), Tag.div("bottom"), sizes=[50, 50], onchange=self.resized,
                          _style="height:200px;width:300px", _class="vs")  # fmt: skip
        self += self.sizes

    def resized(self, split):
        self.sizes.clear(f"{type(split).__name__} {[round(s) for s in split.sizes]}")
