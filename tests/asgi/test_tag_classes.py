"""One class per tag name in a lean page's code (``Tag.span is Tag.span``), htag's own behaviour
everywhere else: ``lean=False`` pages, module level, code that is not a page's."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from htag import Tag

from htag_sse.testing import HtagTestClient

SEEN: dict[str, Any] = {}


class Probe(Tag.div):
    """Notes what ``Tag.<name>`` gives in init, in a handler, in render() and in a task it starts."""

    seen: ClassVar[dict[str, Any]] = SEEN

    def init(self) -> None:
        self.seen["init"] = (Tag.span, Tag.span)
        self.label = Tag.span("0")
        self += self.label
        self += Tag.button("go", _onclick=self.go)
        self.task = asyncio.ensure_future(self.later())

    async def later(self) -> None:
        self.seen["task"] = (Tag.span, Tag.span)

    def render(self) -> None:
        self.seen["render"] = (Tag.b, Tag.b)

    def go(self, ev: Any) -> None:
        self.seen["handler"] = (Tag.span, Tag.span, type(self.label))
        self.label.clear(Tag.span("clicked"))


async def test_a_lean_page_makes_one_class_per_tag_name():
    SEEN.clear()
    async with HtagTestClient(Probe) as client:
        tab = await client.open()
        await asyncio.sleep(0)
        await tab.find("button").click()
    for where in ("init", "task", "render", "handler"):
        first, second, *_ = SEEN[where]
        assert first is second, where
    assert SEEN["handler"][2] is SEEN["init"][0]  # the class of a tag made in init: the same
    assert SEEN["init"][0].__name__ == "TagSpan" and SEEN["init"][0].tag == "span"
    assert issubclass(SEEN["init"][0], Tag)
    assert tab.find("span", text="clicked") is not None


async def test_htags_own_behaviour_on_a_page_served_with_lean_false():
    SEEN.clear()
    async with HtagTestClient(Probe, lean=False) as client:
        tab = await client.open()
        await asyncio.sleep(0)
        await tab.find("button").click()
    for where in ("init", "task", "render", "handler"):
        first, second, *_ = SEEN[where]
        assert first is not second, where


async def test_htags_own_behaviour_outside_a_pages_code():
    async with HtagTestClient(Probe) as client:
        await client.open()
        assert Tag.span is not Tag.span  # the test's own code is no page's
    assert Tag.span is not Tag.span
    assert Tag.span("x").tag == "span"


async def test_names_starting_with_an_underscore_are_never_kept():
    SEEN.clear()

    class Under(Tag.div):
        def init(self) -> None:
            SEEN["under"] = (Tag._private, Tag._private)

    async with HtagTestClient(Under) as client:
        await client.open()
    first, second = SEEN["under"]
    assert first is not second
