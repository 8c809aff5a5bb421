"""Mistakes in an htag v1 app that htag does not name, named at the app's first page: a method
(or attribute) of the app's classes that shadows htag's own ``Tag`` API (a handler named ``add``:
``self += x`` calls it, and the page comes out empty, without an error).

The rule (docs/devserver.md, "Mistakes named"): a name of htag's ``Tag`` API defined again by
one of the app's own classes — not htag's, not an installed widget kit's — is named in the log
(once per app class and process) and in the browser console of the app's pages, unless the
app made it reachable on purpose (``@expose``, or bound by name for a tag of that class on the
first page: ``self.bind.update()``), or extends htag's (its code calls ``super()``). ``exit``
is htag's documented override point: never named.
"""

from __future__ import annotations

import json
import logging
import sys
import types
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from htag import Tag

from .access import exposed, written_for
from .markup import is_htags

log = logging.getLogger("htag_sse")

#: htag's ``Tag`` API an app class must not define again, and what breaks when it does.
SHADOWED = {
    "add": "htag calls it for `self += x` and for a tag's content: nothing gets added (an empty page)",
    "clear": "htag calls it to set a tag's content and to empty it",
    "remove": "htag calls it to take a tag out of its parent: tags are no longer removed",
    "update": "`await tag.update()` calls it to push changes: pushes stop working",
    "set": "it is htag's `set(content)`",
    "bind": "`self.bind.<method>()` stops working for this class",
    "call": "`self.call(...)` stops working for this class",
    "root": "htag reads it to find the page of every tag",
    "parent": "htag reads it to find the page of every tag",
    "session": "it is the user's session",
    "event": "it is the DOM event of an interaction",
    "childs": "it is htag's list of children",
    "attrs": "it is htag's dict of attributes",
    "innerHTML": "it is htag's rendering of the children",
    "find_tag": "htag finds the tags of interactions with it",
}


@dataclass(frozen=True)
class Shadow:
    """``klass.name`` shadows htag's ``Tag.name``."""

    klass: type
    name: str

    def __str__(self) -> str:
        where = f"{self.klass.__module__}.{self.klass.__qualname__}"
        return (
            f"{where}.{self.name} shadows htag's Tag.{self.name}: {SHADOWED[self.name]}. "
            f"Rename it (e.g. {self.name}_item or on_{self.name}); if this is on purpose, "
            f"call super().{self.name}(...) in it, or bind it by name (self.bind.{self.name}())"
        )


#: The console script of each app class checked so far (the classes of this process's apps).
_checked: weakref.WeakKeyDictionary[type, str] = weakref.WeakKeyDictionary()


def page_notes(cls: type, root: Tag) -> str:
    """JS for the page's start: a ``console.warn`` per mistake of ``cls``'s app, found (and logged)
    at its first page, once its tags are rendered (so that their bindings are known)."""
    script = _checked.get(cls)
    if script is None:
        found = shadows(root)
        for shadow in found:
            log.warning("%s", shadow)
        script = "".join(f"console.warn({_js_string('htag-sse: ' + str(s))});" for s in found)
        _checked[cls] = script
    return script


def shadows(root: Tag) -> list[Shadow]:
    """The app's names that shadow htag's API, among the classes of the tags under ``root``."""
    tags: dict[type, list[Tag]] = {}
    for tag in _walk(root):
        tags.setdefault(type(tag), []).append(tag)
    found: dict[tuple[type, str], Shadow] = {}
    for cls, instances in tags.items():
        reachable = set(exposed(cls)).union(*(written_for(t) for t in instances))
        for klass in cls.__mro__:
            if is_htags(klass) or _installed(klass):
                continue
            for name in SHADOWED.keys() & vars(klass).keys():
                if name not in reachable and not _extends(vars(klass)[name]):
                    found.setdefault((klass, name), Shadow(klass, name))
    return list(found.values())


def _walk(tag: Tag) -> list[Tag]:
    out, todo = [], [tag]
    while todo:
        t = todo.pop()
        out.append(t)
        todo.extend(c for c in t._childs if isinstance(c, Tag))
    return out


def _extends(value: Any) -> bool:
    """A method that calls htag's own (``super().add(x)``) extends it on purpose."""
    function = getattr(value, "__func__", value)
    code = getattr(function, "__code__", None)
    return isinstance(code, types.CodeType) and "super" in code.co_names


def _installed(klass: type) -> bool:
    """A class of an installed package (a widget kit's, htbulma's ``Table.update``): not the app's to rename."""
    file = getattr(sys.modules.get(klass.__module__), "__file__", None)
    return file is not None and bool({"site-packages", "dist-packages"} & set(Path(file).parts))


def _js_string(text: str) -> str:
    return json.dumps(text).replace("</", "<\\/")
