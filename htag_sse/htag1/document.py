"""An htag v1 page's whole HTML document: its statics (found once per app class), htag's page
script, the head tags and the boot call; and the body alone, for a refresh."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from typing import Any, ClassVar, cast

from htag import Tag
from htag.render import HRenderer

from .markup import all_js, html_of
from .renderer import Renderer

#: Stands for the page's boot call in the page script template.
_BOOT = "\x00htag-sse-boot\x00"
_START = "function start() {  }"


def statics_of(cls: type[Tag]) -> tuple[Tag, ...]:
    """The app's statics (``statics``, ``imports``), found with htag's rules, once per class."""
    return _statics_of(cast(type, cls))


@functools.cache
def _statics_of(cls: type) -> tuple[Tag, ...]:
    """The app's statics (``statics``, ``imports``), found with htag's rules, once per class.

    htag scans the ``imports`` tree, or else every Tag class alive when the
    page is made; here that scan is done for the first page of a class only
    (classes imported later are not seen).
    """
    found: list[Tag] = []
    hashes: set[Any] = set()
    for klass in _import_tree(cls) if getattr(cls, "imports", None) is not None else _subclasses(Tag):
        for item in _statics_of_class(klass):
            if item._hash_ not in hashes:
                hashes.add(item._hash_)
                found.append(item)
    return tuple(found)


class _Probe(Tag.div):  # type: ignore[misc]
    imports: ClassVar[list[type]] = []  # no statics scan


def _import_tree(cls: type[Tag]) -> list[type[Tag]]:
    """``cls`` and its ``imports``, depth first, as htag walks them."""
    out = [cls]
    imports = getattr(cls, "imports", None)
    if imports is not None:
        for c in imports if isinstance(imports, (list, tuple)) else [imports]:
            if not (isinstance(c, type) and issubclass(c, Tag)):
                raise TypeError(f"imports can contain only Tag classes, got {c!r}")
            out += _import_tree(c)
    return out


def _subclasses(cls: type[Tag]) -> list[type[Tag]]:
    """Every subclass, depth first, as htag walks them."""
    out: list[type[Tag]] = []
    for c in cls.__subclasses__():
        out.append(c)
        out += _subclasses(c)
    return out


def _statics_of_class(klass: type) -> list[Tag]:
    items: list[Any] = []
    for base in klass.__bases__:
        if issubclass(base, Tag):
            items.extend(_as_list(getattr(base, "statics", [])))
    items.extend(_as_list(getattr(klass, "statics", [])))
    out: list[Tag] = []
    for i in items:
        if isinstance(i, Tag):
            out.append(i)
        elif isinstance(i, str):
            out.append(Tag.style(i))
        elif isinstance(i, bytes):
            out.append(Tag.script(i.decode()))
        else:
            raise TypeError(f"a static of {klass.__name__} is neither a Tag, a str nor bytes: {i!r}")
    return out


def _as_list(x: Any) -> list[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


@functools.cache
def _script_template() -> tuple[str, str, str]:
    """htag's page script (``start()``, ``action()``, ``jevent()``...) split around the
    body of ``start()`` and the boot call, taken from htag itself."""
    hr = HRenderer(_Probe, _BOOT, statics=[])
    text = str(hr._statics[-1].childs[0])
    before, found, after = text.partition(_START)
    middle, found_boot, end = after.partition(_BOOT)
    if not found or not found_boot:
        raise RuntimeError("htag's page script does not look like htag 1.0's: cannot render a page")
    return before + "function start() { ", " }" + middle, end


def document(
    hr: HRenderer, head: str, statics: tuple[Tag, ...], boot: str, title: str | None = None,
    notes: Callable[[], str] | None = None,
) -> str:  # fmt: skip
    """The page's whole HTML document: ``head`` (HTML), statics, htag's page script for the
    current state of its tags (pending ``self.call`` scripts included), then ``boot``, then
    ``notes()`` (JS asked for once the body is rendered: its bindings are known then).

    The very text htag's ``str(HRenderer)`` writes, put together without its seven new
    ``Tag.<name>`` classes per page (htag makes a class at each ``Tag.head()``...)."""
    before, middle, end = _script_template()
    start = "\n".join(_scripts(hr) + hr._interaction_scripts)
    hr._interaction_scripts = []
    body = html_of(hr.tag) if isinstance(hr, Renderer) else str(hr.tag)
    name = type(hr.tag).__name__ if title is None else html.escape(title)
    late = notes() if notes is not None else ""
    return "".join([
        "<!DOCTYPE html><html><head>", _metas(), head, *(str(t) for t in statics),
        "<script>", before, start, middle, boot, late, end, f"</script><title>{name}</title></head>", body, "</html>",
    ])  # fmt: skip


@functools.cache
def _metas() -> str:
    """The meta tags htag puts first in every page's head."""
    from htag import __version__

    metas = (Tag.meta(_charset="utf-8"), Tag.meta(_name="viewport", _content="width=device-width, initial-scale=1"),
             Tag.meta(_name="version", _content=f"htag {__version__}"))  # fmt: skip
    return "".join(str(m) for m in metas)


def title_of(cls: type[Tag]) -> str | None:
    """An app's own title (a ``title`` string on its class), else None: htag's default, the class name."""
    title = getattr(cls, "title", None)
    return title if isinstance(title, str) else None


def refresh(hr: HRenderer) -> dict[str, Any]:
    """Actions replacing the whole body with the page's current state (and its scripts)."""
    return {"body": html_of(hr.tag) if isinstance(hr, Renderer) else str(hr.tag), "post": "\n".join(_scripts(hr))}


def _scripts(hr: HRenderer) -> list[str]:
    return all_js(hr.tag) if isinstance(hr, Renderer) else list(hr.tag._getAllJs())


def drop(hr: HRenderer) -> None:
    """The page is gone: let its pending generators go."""
    hr._loop.clear()
