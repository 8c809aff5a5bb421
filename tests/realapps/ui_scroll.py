"""htagui (basics): VScrollPager — scrolling to the end loads more items through the ``@expose``d ``_loadmore`` (a generator)."""

import htagui.basics as ui
from htag import Tag


class App(ui.App):
    imports = ui.ALL

    def init(self):
        creators = [lambda i=i: Tag.div(f"item {i}", _class="item", _style="height:30px") for i in range(1, 101)]
        self += Tag.div(ui.VScrollPager(creators, preload=20, moreload=10, _class="scroller"),
                        _style="height:300px;width:300px;border:1px solid black", _class="box")  # fmt: skip
