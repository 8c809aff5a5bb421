"""Mistakes htag does not name, named at the app's first page: a method of the app's classes that
shadows htag's own ``Tag`` API (a handler named ``add``: the page came out empty, and nothing said why)."""

import logging
import re

from htag import Tag, expose

from htag_sse import HtagSSE, MemoryStore
from htag_sse.testing import HtagTestClient

from ..realapps import crud
from ..support.rawtab import RawTab


class Basket(Tag.div):
    """A handler named ``add``: ``self += ...`` calls it, so nothing is ever added."""

    def init(self):
        self += Tag.button("add", _onclick=self.add, _class="add")

    def add(self, ev):
        self.state["items"] = self.state.get("items", 0) + 1


def warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "htag_sse" and r.levelno == logging.WARNING]


def console(html):
    return re.findall(r'console\.warn\("htag-sse: ([^"]*)"\)', html)


async def test_a_handler_named_like_htags_add_is_named_in_the_log_and_the_console(caplog):
    async with HtagTestClient(Basket) as client:
        tab = await client.open()
        assert tab.text == ""  # what the user sees: nothing, htag says nothing
        (logged,) = warnings(caplog)
        assert f"{__name__}.Basket.add shadows htag's Tag.add" in logged and "Rename it" in logged
        assert console(tab.html) == [logged]
        caplog.clear()
        again = await client.open()  # once per app in the log; every page's console shows it
        assert warnings(caplog) == [] and console(again.html) == [logged]


class Shadowing(Tag.div):
    """Every kind: a handler, an htag property replaced, a push method replaced."""

    def init(self):
        self.box = Box()
        self += self.box
        self += Tag.button("x", _onclick=self.bind.pick())

    def remove(self, ev=None):
        pass

    def update(self):
        pass

    def pick(self):
        pass


class Box(Tag.span):
    event = "click"  # an attribute, not only methods

    def clear(self, content=None):
        super().clear(content)  # extends htag's: on purpose


async def test_each_shadowed_name_of_each_class_is_named_once(caplog):
    async with HtagTestClient(Shadowing) as client:
        await client.open()
    named = sorted(re.match(r"\S+ shadows htag's Tag\.(\w+)", m)[0].split(" ")[0] for m in warnings(caplog))
    assert named == [f"{__name__}.Box.event", f"{__name__}.Shadowing.remove", f"{__name__}.Shadowing.update"]


class Exposed(Tag.div):
    def init(self):
        self += Tag.span("ok")

    @expose
    def set(self, value):  # reachable on purpose
        pass

    def exit(self):  # htag's documented override point
        pass


async def test_names_reachable_on_purpose_and_exit_are_not_named(caplog):
    """htag's 7GUIs CRUD binds its own ``update`` (``self.bind.update()``): deliberate, it works, no warning."""
    for App in (crud.App, Exposed):
        async with HtagTestClient(App) as client:
            tab = await client.open()
            assert console(tab.html) == []
    assert warnings(caplog) == []


async def test_widget_kits_classes_are_not_named(caplog, asgi_client):
    """htbulma's ``Table`` has its own ``update`` (its redraw): not the app's to rename."""
    import htbulma as b

    class Listing(Tag.div):
        def init(self):
            self += b.Table([[1, "a"], [2, "b"]], cols=["n", "name"])

    tab = await RawTab.open(asgi_client(HtagSSE(Listing, session_store=MemoryStore())))
    assert "<table" in tab.html and console(tab.html) == [] and warnings(caplog) == []
