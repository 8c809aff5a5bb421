"""An element of a test tab's page, and what a user does with it: click, type, change, call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dom import HtagTestError, Node

if TYPE_CHECKING:
    from .tab import Tab


class Element:
    """An element of a tab's page. It follows its tag: once an update replaced it (same htag id),
    it reads the new one; after a rerun or a refresh it stays the element the morph kept."""

    def __init__(self, tab: Tab, node: Node) -> None:
        self._tab, self._node, self._id = tab, node, node.attrs.get("id")

    def _live(self) -> Node:
        if self._tab._attached(self._node):
            self._id = self._node.attrs.get("id")
        elif self._id is not None and (found := self._tab._by_id(self._id)) is not None:
            self._node = found
        return self._node

    def __repr__(self) -> str:
        return f"<Element {self._live().describe()}>"

    @property
    def text(self) -> str:
        """Its visible text."""
        return self._live().text()

    @property
    def html(self) -> str:
        """Its outer HTML, as the page holds it now."""
        return self._live().outer()

    @property
    def attrs(self) -> dict[str, str | None]:
        return dict(self._live().attrs)

    @property
    def value(self) -> str:
        """A form field's value: what the user typed, else what the HTML says."""
        return self._live().value()

    def find(self, selector: str | None = None, *, text: str | None = None) -> Element:
        return self._tab._find(self._live(), selector, text)[0]

    def find_all(self, selector: str | None = None, *, text: str | None = None) -> list[Element]:
        return self._tab._find(self._live(), selector, text, needed=False)

    async def click(self, **event: Any) -> dict[str, Any]:
        """Click it: its ``onclick`` handlers (its own and its parents') send their interactions; a
        checkbox or radio button is ticked first (then ``onchange`` too). ``event``: DOM event fields
        to change (``ctrlKey=True``). Returns the answer's actions."""
        node, tab = self._usable("click"), self._tab
        ticks = node.tag == "input" and node.attrs.get("type") in ("checkbox", "radio")
        if ticks:
            node.typed = True if node.attrs.get("type") == "radio" else not node.prop("checked")
        calls = tab._handlers(node, "click", event)
        if ticks:
            calls += tab._handlers(node, "input", {}) + tab._handlers(node, "change", {})
        elif not calls:
            with_handlers = ", ".join(n.describe() for n in tab._doc.elements() if n.attrs.get("onclick"))
            raise HtagTestError(f"{node.describe()} has no onclick handler, nor has any element around it: a click "
                                f"sends nothing. Elements with one: {with_handlers or 'none'}")  # fmt: skip
        return await tab._send_all(calls)

    async def type(self, text: str) -> dict[str, Any]:
        """Type ``text`` into this field (replacing its value) and leave it: ``oninput`` then, if the
        value changed, ``onchange``. Without handlers the value stays in the field (``{}``)."""
        return await self._edit(text, {"data": text, "inputType": "insertText", "isComposing": False})

    async def change(self, value: str | bool) -> dict[str, Any]:
        """Set a field's value (a checkbox's or radio's ``checked``, a select's option) and fire its
        ``oninput`` and ``onchange`` handlers."""
        return await self._edit(value, {})

    async def submit(self, values: dict[str, Any] | None = None, *, button: str | None = None) -> dict[str, Any]:
        """Send this form (or the form this element is in) as a user does: each field of ``values``
        filled as a user fills it (text typed, an option chosen, ``True``/``False`` for a checkbox,
        a radio button's value), its handlers firing; then the submit button's click (``button``, a
        selector in the form, else the first submit button, which Enter in a field clicks too) and
        the form's submit event: its ``onsubmit`` handlers and the ``submit`` function a widget kit
        gave the form (htagui's and htbulma's ``Form``), with the fields as ``new FormData(form)``
        gives them. Returns the last answer's actions."""
        from .forms import form_of, send

        node = self._live()
        form = form_of(node)
        if form is None or not self._tab._attached(form):
            raise HtagTestError(f"{node.describe()} is not a form, nor in one: nothing to submit")
        clicked = None
        if button is not None:
            matched = self._tab._find(form, button, None)
            clicked = matched[0]._live()
        return await send(self._tab, form, dict(values or {}), clicked)

    async def call(self, method: str, *args: Any) -> dict[str, Any]:
        """Call a method this element's tag exposes (``@expose``), as JS would: ``element.method(...args)``."""
        return await self._tab._call(method, args, self._live())

    async def _edit(self, value: str | bool, typing: dict[str, Any]) -> dict[str, Any]:
        node = self._usable("type into" if typing else "change", field=True)
        ticks = node.attrs.get("type") in ("checkbox", "radio")
        if ticks != isinstance(value, bool) or (typing and ticks):
            raise HtagTestError(f"{node.describe()}: change(True) or change(False) ticks a checkbox or radio, "
                                "type(text) or change(text) fills other fields")  # fmt: skip
        options = [o.option_value() for o in node.elements() if o.tag == "option"]
        if node.tag == "select" and value not in options:
            raise HtagTestError(f"{node.describe()} has no option {value!r}: its options are {options}")
        before, node.typed = node.prop("checked" if ticks else "value"), value
        calls = self._tab._handlers(node, "input", typing)
        if value != before:  # a browser fires change only for a new value
            calls += self._tab._handlers(node, "change", {})
        return await self._tab._send_all(calls)

    def _usable(self, action: str, field: bool = False) -> Node:
        node = self._live()
        if not self._tab._attached(node):
            raise HtagTestError(
                f"{node.describe()} is no longer in the page (an update removed it): cannot {action} it"
            )
        if "disabled" in node.attrs or (field and "readonly" in node.attrs):
            raise HtagTestError(f"{node.describe()} is disabled or read-only: a browser does not let users {action} it")
        if field and node.tag not in ("input", "textarea", "select"):
            raise HtagTestError(f"{node.describe()} is not a form field: cannot {action} it")
        return node
