"""Forms as the browser sends them, for the test client: a form's entries by the rules of
``new FormData(form)`` (``Object.fromEntries`` of them, and their ``JSON.stringify``), its default
submit button, the submit event's fields, and the ``submit`` function a widget kit gives a form in
its script (htagui's and htbulma's ``Form``: ``self.submit=function() {…}``), so that a test fills
and sends a form without knowing how its kit wires it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .dom import HtagTestError, Node, interact_calls, js_value, resolve
from .element import Element

if TYPE_CHECKING:
    from .tab import Tab

#: What ``jevent(event)`` gives for a submit event in Chromium (plus ``timeStamp``).
SUBMIT_EVENT: dict[str, Any] = {"isTrusted": True, "type": "submit", "eventPhase": 2, "bubbles": True,
                                "cancelable": True, "composed": True, "cancelBubble": False}  # fmt: skip
#: ``Object.fromEntries(new FormData(this))`` (or ``self``, or ``document.getElementById(…)``).
FORM_DATA = re.compile(r"Object\.fromEntries\(\s*new\s+FormData\(\s*(this|self)\s*\)\s*\)")
NAMED = re.compile(r"(this|self)\.(\w+)\.(\w+)")  # this.<field name>.value
STRINGIFIED = re.compile(r"JSON\.stringify\(\s*(.*)\s*\)", re.DOTALL)
#: htag's IIFE around a tag's script: ``(function(self){ … })(document.getElementById('<id>'));``
IIFE = re.compile(r"\(function\(self\)\{ (.*?)\n \}\)\(document\.getElementById\('(\d+)'\)\);", re.DOTALL)
SUBMIT_FUNCTION = re.compile(r"\bself\.submit\s*=\s*function\s*\(\s*\)\s*\{")
METHOD_CALL = re.compile(r"\s*(?:self|this)\.(\w+)\((.*)\)\s*;?\s*", re.DOTALL)
FIELDS = ("input", "select", "textarea")
NOT_SENT = ("submit", "button", "reset", "image")


def form_of(node: Node) -> Node | None:
    """The form ``node`` is, or is in."""
    here: Node | None = node
    while here is not None and here.tag != "form":
        here = here.parent
    return here


def fields(form: Node, name: str) -> list[Node]:
    return [n for n in form.elements() if n.tag in FIELDS and n.attrs.get("name") == name]


def field_names(form: Node) -> list[str]:
    return [name for name in dict.fromkeys(n.attrs.get("name") for n in form.elements() if n.tag in FIELDS) if name]


def entries(form: Node) -> dict[str, Any]:
    """``Object.fromEntries(new FormData(form))``: the named, enabled fields in document order;
    a checkbox or radio only when checked (its ``value``, else ``"on"``); no buttons; a file as
    ``{}`` (what JSON makes of a File); a name seen twice keeps its first place and its last value."""
    out: dict[str, Any] = {}
    for node in form.elements():
        name = node.attrs.get("name")
        if node.tag not in FIELDS or not name or "disabled" in node.attrs:
            continue
        kind = (node.attrs.get("type") or "text").lower() if node.tag == "input" else node.tag
        if kind in NOT_SENT:
            continue
        if kind in ("checkbox", "radio"):
            if node.prop("checked"):
                out[name] = node.attrs["value"] or "" if "value" in node.attrs else "on"
        elif kind == "file":
            out[name] = {}
        elif kind == "range" and node.typed is None and "value" not in node.attrs:
            low, high = float(node.attrs.get("min") or 0), float(node.attrs.get("max") or 100)
            out[name] = _number(low + (high - low) / 2 if high >= low else low)
        else:
            out[name] = node.value()
    return out


def _number(x: float) -> str:
    return str(int(x)) if x == int(x) else str(x)


def stringify(value: Any) -> str:
    """``JSON.stringify(value)``: compact, non-ASCII kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def form_expression(expr: str, form: Node) -> Any:
    """The value of a JS expression about the form's data (``new FormData(this)`` and its JSON, a
    named field's property: ``this.q.value``), or raise :class:`KeyError` (not one)."""
    if FORM_DATA.fullmatch(expr.strip()):
        return entries(form)
    if (m := STRINGIFIED.fullmatch(expr.strip())) and FORM_DATA.fullmatch(m[1].strip()):
        return stringify(entries(form))
    if (m := NAMED.fullmatch(expr.strip())) and (found := fields(form, m[2])):
        return found[0].prop(m[3])
    raise KeyError(expr)


def default_button(form: Node) -> Node | None:
    """The button a browser clicks for Enter in a field (implicit submission): the first submit button."""
    for node in form.elements():
        kind = (node.attrs.get("type") or ("submit" if node.tag == "button" else "text")).lower()
        if node.tag == "button" and kind == "submit" or node.tag == "input" and kind in ("submit", "image"):
            return None if "disabled" in node.attrs else node
    return None


def submit_event(prevented: bool, time_stamp: float) -> dict[str, Any]:
    """The fields ``jevent(event)`` sends for the form's submit event, before or after ``preventDefault()``."""
    return {**SUBMIT_EVENT, "defaultPrevented": prevented, "returnValue": not prevented, "timeStamp": time_stamp}


def submit_function(form_id: str, sources: Iterable[str]) -> str | None:
    """The body of the ``submit`` function the page's scripts gave the form (newest first), if any."""
    for source in sources:
        for m in reversed(list(IIFE.finditer(source))):
            if m[2] == form_id and (found := SUBMIT_FUNCTION.search(m[1])):
                return _block(m[1], found.end())
    return None


def method_call(body: str) -> tuple[str, str] | None:
    """``self.<method>(<arguments>)``: the method and the arguments' text, when that is all the body does."""
    m = METHOD_CALL.fullmatch(body)
    return (m[1], m[2]) if m else None


def _block(js: str, start: int) -> str:
    """The text from ``start`` to the ``}`` closing the block opened just before it (strings skipped)."""
    depth, i, quote = 1, start, ""
    while i < len(js):
        c = js[i]
        if quote:
            i += c == "\\"
            quote = "" if c == quote else quote
        elif c in "\"'`":
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return js[start:i]
        i += 1
    raise HtagTestError(f"the test client cannot read this form's submit function: {js[start:][:200]}")


async def fill(tab: Tab, form: Node, name: str, value: Any) -> None:
    """Fill the field(s) named ``name`` as a user does, their handlers firing: text typed, a select's
    option chosen, a checkbox ticked (``True``/``False``; a list of values for several of one name),
    the radio button of that value checked."""
    found = fields(form, name)
    if not found:
        raise HtagTestError(f"{form.describe()} has no field named {name!r}: its fields are {field_names(form)}")
    kind = (found[0].attrs.get("type") or "text").lower() if found[0].tag == "input" else found[0].tag
    if kind == "radio":
        chosen = next((n for n in found if n.attrs.get("value") == str(value)), None)
        if chosen is None:
            raise HtagTestError(
                f"no radio button {name!r} has the value {value!r}: {[n.attrs.get('value') for n in found]}"
            )
        for other in found:
            other.typed = other is chosen
        await Element(tab, chosen).change(True)
    elif kind == "checkbox":
        wanted = {str(v) for v in value} if isinstance(value, (list, tuple, set)) else None
        for box in found:
            if wanted is None and not isinstance(value, bool):
                raise HtagTestError(f"checkbox {name!r}: give True or False (or a list of values), not {value!r}")
            await Element(tab, box).change((box.attrs.get("value") or "on") in wanted if wanted is not None else value)
    elif kind == "select":
        await Element(tab, found[0]).change(str(value))
    else:
        await Element(tab, found[0]).type(str(value))


async def send(tab: Tab, form: Node, values: dict[str, Any], button: Node | None) -> dict[str, Any]:
    """Fill ``values`` in, then do what a browser does for a click on the submit button (or Enter in a
    field): the button's click handlers, then the form's submit event — its ``onsubmit`` handlers,
    and the ``submit`` function a kit gave the form when they call ``this.submit()``."""
    for name, value in values.items():
        await fill(tab, form, name, value)
    answer: dict[str, Any] = {}
    clicked = button if button is not None else default_button(form)
    if clicked is not None:
        if "disabled" in clicked.attrs:
            raise HtagTestError(f"{clicked.describe()} is disabled: a browser does not submit with it")
        answer = await tab._send_all(tab._handlers(clicked, "click", {}))
    form = tab._by_id(form.attrs.get("id") or "") or form  # a click handler may have rendered it again
    text = form.attrs.get("onsubmit") or ""
    first = min((i for i in (text.find("interact("), text.find("submit()")) if i >= 0), default=len(text))
    prevented = 0 <= text.find("preventDefault()") < first
    event = submit_event(prevented, tab._clock())
    calls = tab._handlers(form, "submit", {k: event[k] for k in ("defaultPrevented", "returnValue")})
    if calls:
        answer = await tab._send_all(calls)
    if not re.search(r"\bthis\.submit\(\s*\)", text):
        if not calls:
            raise HtagTestError(f"{form.describe()} has no submit handler: a browser would send it itself (a page "
                                "load), which the test client does not follow")  # fmt: skip
        return answer
    body = submit_function(form.attrs.get("id") or "", [*reversed(tab.scripts), tab.html])
    if body is None:
        raise HtagTestError(f"{form.describe()} calls this.submit() but no script of the page defines it: a browser "
                            "would send the form itself (a page load), which the test client does not follow")  # fmt: skip
    evaluate = tab._evaluator(form, form, event, ())
    if found := list(interact_calls(body)):
        return await tab._send_all([resolve(call, evaluate) for _, call in found])
    if (called := method_call(body)) is not None:
        args = resolve(js_value(f"[{called[1]}]", 0)[0], evaluate)
        return await tab._call(called[0], tuple(args), form, event)
    raise HtagTestError(f"the test client cannot run this form's submit function: {body[:200]}")
