"""A small model of an htag page's HTML, for the test client (:mod:`htag_sse.testing`): parsing,
the morph a new body gets, CSS-like selectors, and reading the arguments of the ``interact( … )``
calls htag writes into handlers (JSON values, and raw JS expressions like ``this.value``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from html import escape
from html.parser import HTMLParser
from typing import Any

from ..errors import HtagSSEError

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})
BLOCK = frozenset({"article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset", "figure", "footer",
                   "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "option", "p",
                   "pre", "section", "table", "tr", "ul"})  # fmt: skip
HIDDEN = frozenset({"head", "script", "style", "template", "title"})
CALL = re.compile(r"\binteract\(\s*(?=\{)")
LITERAL = re.compile(r'"|-?\d|(?:true|false|null)\b')
DECODE = json.JSONDecoder().raw_decode
STRING_PROPS = ("id", "name", "type", "href", "src", "title", "placeholder")


class HtagTestError(HtagSSEError, AssertionError):
    """What a test asked cannot be done as a browser would (no such element, no handler, ...)."""


class PushTimeout(HtagTestError, TimeoutError):
    """No push came in time."""


class JS(str):
    """A raw JS expression among the values of an ``interact( … )`` call (htag's bytes arguments)."""


class Node:
    __slots__ = ("attrs", "children", "parent", "tag", "typed")

    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag, self.attrs = tag, attrs
        self.children: list[Node | str] = []
        self.parent: Node | None = None
        self.typed: str | bool | None = None  # what the user typed or ticked: kept by a morph, as browsers do

    def elements(self) -> Iterator[Node]:
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.elements()

    def adopt(self, children: list[Node | str]) -> list[Node | str]:
        for child in children:
            if isinstance(child, Node):
                child.parent = self
        return children

    def outer(self) -> str:
        attrs = "".join(f" {k}" if v is None else f' {k}="{escape(v)}"' for k, v in self.attrs.items())
        return f"<{self.tag}{attrs}>" + ("" if self.tag in VOID else f"{self.inner()}</{self.tag}>")

    def inner(self) -> str:
        raw = self.tag in ("script", "style")
        return "".join(c.outer() if isinstance(c, Node) else c if raw else escape(c, False) for c in self.children)

    def text(self) -> str:
        """The visible text (``innerText``-like): block elements on their own lines, spaces collapsed."""
        parts: list[str] = []

        def walk(node: Node) -> None:
            for c in node.children:
                if isinstance(c, str):
                    parts.append(c)
                elif c.tag not in HIDDEN:
                    parts.append("\n" if c.tag in BLOCK else "")
                    walk(c)
                    parts.append("\n" if c.tag in BLOCK else "")

        walk(self)
        return "\n".join(line for line in (" ".join(s.split()) for s in "".join(parts).split("\n")) if line)

    def value(self) -> str:
        if isinstance(self.typed, str):
            return self.typed
        if self.tag == "textarea":
            return "".join(c for c in self.children if isinstance(c, str))
        if self.tag == "select":
            options = [o for o in self.elements() if o.tag == "option"]
            chosen = next((o for o in options if "selected" in o.attrs), options[0] if options else None)
            return "" if chosen is None else chosen.option_value()
        return self.attrs.get("value") or ("on" if self.attrs.get("type") in ("checkbox", "radio") else "")

    def option_value(self) -> str:
        return self.attrs.get("value") or "" if "value" in self.attrs else self.text()

    def prop(self, name: str) -> Any:
        """What the JS expression ``this.<name>`` gives (the few a handler's arguments use)."""
        if name == "value":
            return self.value()
        if name == "checked":
            return self.typed if isinstance(self.typed, bool) else "checked" in self.attrs
        if name in STRING_PROPS:
            return self.attrs.get(name) or ""
        if m := re.fullmatch(r"getAttribute\(['\"]([\w-]+)['\"]\)", name):
            return self.attrs.get(m[1])
        if name in ("innerHTML", "innerText"):
            return self.inner() if name == "innerHTML" else self.text()
        if name == "textContent":
            return "".join(c if isinstance(c, str) else c.prop(name) for c in self.children)
        raise KeyError(name)

    def describe(self) -> str:
        attrs = "".join(f' {k}="{self.attrs[k]}"' for k in ("class", "id", "name") if self.attrs.get(k))
        text = " ".join(self.text().split())
        return f"<{self.tag}{attrs}>" + (f' "{text[:40]}"' if text else "")


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.top = Node("#fragment", {})
        self.stack = [self.top]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        node.parent = self.stack[-1]
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:  # htag closes void tags too (</input>): ignored
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> list[Node | str]:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    for child in builder.top.children:
        if isinstance(child, Node):
            child.parent = None
    return builder.top.children


def morph(old: Node, new: Node, by_id: bool = False) -> None:
    """Make ``old`` look like ``new`` as static/morph.js does: nodes kept where paired — by id within
    ``old`` (``by_id``: an update, the same page's tags), else by position and tag. What the user
    typed or ticked stays, unless the server's new rendering of that field changed (it wins)."""
    pool = {n.attrs["id"]: n for n in old.elements() if n.attrs.get("id")} if by_id else {}
    _morph(old, new, pool, {id(old)})


def _morph(old: Node, new: Node, pool: dict[str | None, Node], used: set[int]) -> None:
    if _rendered(old) != _rendered(new):  # the server changed this field's value: the user's goes
        for field in (old, *old.elements()):
            field.typed = None
    old.attrs = new.attrs
    kept: list[Node | str] = []
    at = 0  # the next old child that may be paired by position
    for child in new.children:
        node: Node | str = child
        ident = node.attrs.get("id") if pool and isinstance(node, Node) else None
        was: Node | str | None = None
        if ident:
            found = pool.get(ident)
            if found is not None and id(found) not in used and isinstance(node, Node) and found.tag == node.tag:
                was = found
        else:
            while at < len(old.children) and isinstance(c := old.children[at], Node) and id(c) in used:
                at += 1
            cursor = old.children[at] if at < len(old.children) else None
            if isinstance(node, Node) and isinstance(cursor, Node) and cursor.tag == node.tag:
                if not (pool and cursor.attrs.get("id")):  # an element with an id pairs by it only
                    was, at = cursor, at + 1
            elif isinstance(cursor, str) and isinstance(node, str):
                at += 1
        if isinstance(was, Node) and isinstance(node, Node):
            used.add(id(was))
            _morph(was, node, pool, used)
            node = was
        elif isinstance(node, Node) and pool:  # a new element, which may hold tags of the old tree
            fresh = Node(node.tag, node.attrs)
            _morph(fresh, node, pool, used)
            node = fresh
        kept.append(node)
    staying = {id(k) for k in kept}
    for gone in old.children:
        if isinstance(gone, Node) and id(gone) not in staying and gone.parent is old:
            gone.parent = None
    old.children = old.adopt(kept)


def _rendered(node: Node) -> Any:
    """What the server's rendering says of a form field's value (``None``: not a field)."""
    if node.tag == "input":
        return node.attrs.get("value"), "checked" in node.attrs
    if node.tag == "textarea":
        return node.inner()
    if node.tag == "select":
        return tuple("selected" in o.attrs for o in node.elements() if o.tag == "option")
    return None


def matcher(selector: str) -> Callable[[Node], bool]:
    """``tag``, ``#id``, ``.class``, ``[attr]``, ``[attr=value]``, combined (``button.inc``), and
    descendants (``.items li``)."""
    steps = []
    for compound in re.findall(r"(?:[^\s\[]+|\[[^\]]*\])+", selector):
        m = re.fullmatch(r"([\w-]+|\*)?((?:[#.][\w-]+|\[[^\]]*\])*)", compound)
        if not m or not compound:
            raise HtagTestError(f"selector {selector!r} not understood: use tag, #id, .class, [attr=value], spaces")
        found = list(re.finditer(r"([#.])([\w-]+)|\[\s*([\w-]+)\s*(?:=\s*(\"[^\"]*\"|'[^']*'|[^\]]*?)\s*)?\]", m[2]))
        if "".join(p[0] for p in found) != m[2]:
            raise HtagTestError(f"selector {selector!r} not understood: use tag, #id, .class, [attr=value], spaces")
        steps.append((m[1], [(p[1], p[2], None) if p[1] else ("[", p[3], p[4] and p[4].strip("\"'")) for p in found]))

    def one(node: Node, tag: str | None, parts: list[tuple[str, str, str | None]]) -> bool:
        if tag not in (None, "*") and node.tag != tag:
            return False
        classes = (node.attrs.get("class") or "").split()
        return all(node.attrs.get("id") == n if k == "#" else n in classes if k == "." else
                   n in node.attrs and (v is None or node.attrs[n] == v) for k, n, v in parts)  # fmt: skip

    def match(node: Node) -> bool:
        if not steps or not one(node, *steps[-1]):
            return False
        rest, up = steps[:-1], node.parent
        while rest and up is not None:
            if one(up, *rest[-1]):
                rest = rest[:-1]
            up = up.parent
        return not rest

    return match


def _skip(s: str, i: int) -> int:
    while i < len(s) and s[i].isspace():
        i += 1
    return i


def js_value(s: str, i: int) -> tuple[Any, int]:
    """The value at ``s[i:]`` and where it ends: JSON, in which htag writes some values as raw JS."""
    i = _skip(s, i)
    if s[i] in "{[":
        close = "}" if s[i] == "{" else "]"
        out: Any = {} if close == "}" else []
        i += 1
        while (i := _skip(s, i)) < len(s) and s[i] != close:
            if isinstance(out, dict):
                key, i = DECODE(s, i)
                i = s.index(":", i) + 1
                out[key], i = js_value(s, i)
            else:
                value, i = js_value(s, i)
                out.append(value)
            i = _skip(s, i)
            if s[i] == ",":
                i += 1
            elif s[i] != close:
                raise ValueError(f"unexpected {s[i]!r} at {i}")
        return out, i + 1
    if LITERAL.match(s, i):
        return DECODE(s, i)
    depth, j, quote = 0, i, ""
    while j < len(s):  # raw JS: up to a , ] or } outside brackets and strings
        c = s[j]
        if quote:
            j += c == "\\"
            quote = "" if c == quote else quote
        elif c in "\"'`":
            quote = c
        elif c in "([{":
            depth += 1
        elif depth == 0 and c in ",)]}":
            break
        elif c in ")]}":
            depth -= 1
        j += 1
    return JS(s[i:j].strip()), j


def interact_calls(js: str, pattern: re.Pattern[str] = CALL) -> Iterator[tuple[re.Match[str], dict[str, Any]]]:
    for m in pattern.finditer(js):
        try:
            call = js_value(js, m.end())[0]
        except (ValueError, IndexError) as e:
            raise HtagTestError(
                f"the test client cannot read this interact() call ({e}): {js[m.start() :][:200]}"
            ) from None
        yield m, call


def resolve(value: Any, evaluate: Callable[[JS], Any]) -> Any:
    if isinstance(value, JS):
        return evaluate(value)
    if isinstance(value, dict):
        return {k: resolve(v, evaluate) for k, v in value.items()}
    if isinstance(value, list):
        out: list[Any] = []
        for v in value:
            if isinstance(v, JS) and v == "...arguments":  # an exposed method's arguments
                out.extend(evaluate(v))
            else:
                out.append(resolve(v, evaluate))
        return out
    return value
