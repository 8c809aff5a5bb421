"""htagui (shoelace flavour): live fields on Shoelace web components. htagui listens to their
``sl-change`` event and calls ``IField._iset_sl`` (bound with ``self.bind._iset_sl``), a method of a
mixin that comes after htag's ``Tag`` in the field's class hierarchy.

The Shoelace components themselves load from a CDN; without them the ``sl-*`` elements stay plain
elements, which is enough here: the test fires their ``sl-change`` event itself."""

import htagui.shoelace as ui
from htag import Tag


class App(ui.App):
    imports = ui.ALL

    def init(self):
        self.live = Tag.pre("no change", _class="live")
        self += ui.IText("", onchange=self.changed, _class="itext")
        self += self.live

    def changed(self, ev):
        self.live.clear(f"{type(ev.target).__name__}={ev.target.value!r}")
