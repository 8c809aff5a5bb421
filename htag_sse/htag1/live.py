"""htag v1 behind the adapter's typed face: :class:`Htag1` makes live apps (:class:`Htag1Page`)
of ``Tag`` subclasses, on the lean path (``lean=True``) or on htag's own ``HRenderer``."""

from __future__ import annotations

from typing import Any, TypeGuard

from htag import Tag
from htag.render import HRenderer

from ..adapter import Actions, AppClass, Init, Push
from ..wire import Interaction
from .access import check_interaction
from .classes import install, lean_code
from .document import document, refresh, statics_of, title_of
from .mistakes import page_notes
from .renderer import init_of, renderer


class Htag1Page:
    """One page's live htag app: its renderer (htag's ``HRenderer``, or the lean one). On the lean
    path its code runs with one class per tag name (:mod:`~htag_sse.htag1.classes`)."""

    __slots__ = ("cls", "hr", "lean")

    def __init__(self, cls: type[Tag], hr: HRenderer, lean: bool = False) -> None:
        self.cls, self.hr, self.lean = cls, hr, lean

    @property
    def root(self) -> Tag:
        return self.hr.tag

    def check(self, item: Interaction) -> None:
        check_interaction(self.hr, item)

    async def interact(self, item: Interaction) -> Actions:
        token = lean_code.set(self.lean)
        try:
            actions: Actions = await self.hr.interact(item.id, item.method, list(item.args), item.kargs, item.event)
        finally:
            lean_code.reset(token)
        return actions

    def refresh(self) -> Actions:
        token = lean_code.set(self.lean)
        try:
            return refresh(self.hr)
        finally:
            lean_code.reset(token)

    def document(self, head: str, boot: str) -> str:
        token = lean_code.set(self.lean)
        try:
            root = self.hr.tag
            return document(self.hr, head, statics_of(self.cls), boot, title_of(self.cls),
                            notes=lambda: page_notes(self.cls, root))  # fmt: skip
        finally:
            lean_code.reset(token)

    def close(self) -> None:
        self.hr._loop.clear()  # pending generators go with the page


class Htag1:
    """The adapter for htag v1 apps (``class App(Tag.div)``)."""

    def __init__(self, *, lean: bool = True) -> None:
        self.lean = lean
        if lean:
            install()

    def is_app(self, obj: object) -> bool:
        return is_app(obj)

    def init_of(self, url: str) -> Init:
        return init_of(url)

    def start(self, cls: AppClass, init: Init, session: Any, push: Push | None, *, debug: bool) -> Htag1Page:
        token = lean_code.set(self.lean)  # init, and the tasks it starts, run with one class per tag name
        try:
            return Htag1Page(cls, renderer(cls, init, session, push, debug=debug, lean=self.lean), self.lean)
        finally:
            lean_code.reset(token)


def is_app(obj: object) -> TypeGuard[type[Tag]]:
    """Whether ``obj`` is an htag v1 app class (a subclass of ``htag.Tag``)."""
    return isinstance(obj, type) and issubclass(obj, Tag)
