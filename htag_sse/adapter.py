"""Everything that touches htag v1's internals (``HRenderer``, ``Tag`` private
attributes) lives here: the seam a second htag adapter (htag 2) plugs into."""

from __future__ import annotations

import functools
from typing import Any

from htag import Tag
from htag.render import HRenderer

#: Stands for the page's boot call in the page script template.
_BOOT = "\x00htag-sse-boot\x00"
_START = "function start() {  }"


class _Probe(Tag.div):  # type: ignore[misc]
    imports: list[type] = []  # no statics scan


@functools.cache
def _script_template() -> tuple[str, str, str]:
    """htag's page script (``start()``, ``action()``, ``jevent()``...) split around the
    body of ``start()`` and the boot call, taken from htag itself."""
    hr = HRenderer(_Probe, _BOOT, statics=[])
    text = str(hr._statics[-1].childs[0])
    before, found, after = text.partition(_START)
    middle, found_boot, end = after.partition(_BOOT)
    if not found or not found_boot:
        raise RuntimeError("htag's page script does not look like htag 1.0's: cannot render a page again")
    return before + "function start() { ", " }" + middle, end


def page_script(hr: HRenderer, boot: str) -> str:
    """htag's page script for the current state of ``hr``'s tags, ending with ``boot``."""
    before, middle, end = _script_template()
    start = "\n".join(hr.tag._getAllJs())
    return before + start + middle + boot + end


def document(hr: HRenderer, statics: list[Any], boot: str) -> str:
    """The whole HTML document of a live renderer, again (htag renders it once, at creation)."""
    hr._statics = [*statics, Tag.script(page_script(hr, boot))]
    try:
        return str(hr)
    finally:
        hr._statics = []
