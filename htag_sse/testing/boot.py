"""Reading an htag-sse page as its browser does: the boot settings (``htagSSE({...})``) and
the interactions its elements' handlers send. One parser for the test client, the project's
own tests and its benchmarks."""

from __future__ import annotations

import re
from typing import Any

from .dom import JS, HtagTestError, Node, interact_calls, parse

BOOT = re.compile(r"\bhtagSSE\(\s*(?=\{)")
#: The handlers :func:`interactions` reads, in this order.
HANDLERS = ("onclick", "onchange", "oninput", "onkeyup", "onsubmit")


def boot_config(html: str) -> dict[str, Any]:
    """The settings a page boots its client with (``page``, ``token``, ``base``, ``last``...)."""
    found = next(interact_calls(html, BOOT), None)
    if found is None:
        raise HtagTestError(f"not an htag-sse page (no htagSSE({{...}}) boot call): {html[:200]}")
    return dict(found[1])


def interactions(html: str) -> dict[str, dict[str, Any]]:
    """Each element's first interaction (its first handler among :data:`HANDLERS`), keyed by the
    element's ``class``, else its ``id``, else its tag name. Raw JS arguments (``this.value``,
    are kept as their text; ``jevent(event)`` (the DOM event's fields) becomes ``{}``."""
    found: dict[str, dict[str, Any]] = {}
    for node in _elements(parse(html)):
        for name in HANDLERS:
            call = next(interact_calls(node.attrs.get(name) or ""), None)
            if call is not None:
                key = node.attrs.get("class") or node.attrs.get("id") or node.tag
                found.setdefault(key, _plain(call[1]))
                break
    return found


def pulls(js: str) -> list[dict[str, Any]]:
    """The interactions a script sends (a generator's ``next``: the pull of its next item)."""
    return [_plain(call) for _, call in interact_calls(js)]


def _elements(nodes: list[Node | str]) -> list[Node]:
    return [e for n in nodes if isinstance(n, Node) for e in (n, *n.elements())]


def _plain(value: Any) -> Any:
    if isinstance(value, JS):
        return {} if value.startswith("jevent(") else str(value)  # the event's fields: none, in a test
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
