"""htag_sse.testing: forms sent as a browser sends them — fields filled as a user fills them, the
submit button's click, the submit event, ``new FormData(form)`` — whatever wires the form: htag's
own binding on ``onsubmit``, or a kit's ``submit`` function (htagui, htbulma; compared with
Chromium in tests/e2e/test_realapps.py)."""

import json

import pytest
from htag import Tag, expose

from htag_sse.testing import HtagTestClient, HtagTestError


class KitForm(Tag.form):
    """A form wired as htagui's: its script gives it a ``submit`` function calling an exposed method."""

    def init(self, got, **a):
        self.got = got
        self.js = "self.submit=function() {self._got(Object.fromEntries(new FormData( self )))}"
        self["onsubmit"] = "event.preventDefault();this.submit()"

    @expose
    def _got(self, data):
        self.got.clear(json.dumps(data))


class Fields(Tag.div):
    """Every kind of field FormData reads, and some it does not."""

    def init(self):
        self.out = Tag.pre("", _class="out")
        self.changes = []
        form = KitForm(self.out)
        form += Tag.input(_name="text", _value="initial")
        form += Tag.input(_name="hidden", _type="hidden", _value="h")
        form += Tag.textarea("", _name="memo")
        form += Tag.select([Tag.option("A", _value="a"), Tag.option("B", _value="b")], _name="pick")
        form += Tag.input(_name="ok", _type="checkbox", _onchange=self.bind.changed("ok", b"this.checked"))
        form += Tag.input(_name="off", _type="checkbox", _value="yes")
        for color in ("red", "green"):
            form += Tag.input(_name="color", _type="radio", _value=color)
        form += Tag.input(_name="level", _type="range", _min="0", _max="10")
        form += Tag.input(_name="gone", _value="x", _disabled=True)
        form += Tag.input(_value="nameless")
        form += Tag.input(_name="dup", _value="1")
        form += Tag.input(_name="dup", _value="2")
        form += Tag.button("send", _name="btn", _value="b", _class="send")
        self += form
        self += self.out

    def changed(self, name, value):
        self.changes.append((name, value))


async def test_a_kits_form_sends_the_fields_as_formdata_gives_them():
    async with HtagTestClient(Fields) as client:
        tab = await client.open()
        await tab.submit("form", {"memo": "two\nlines", "pick": "b", "ok": True, "color": "green"})
        assert json.loads(tab.find(".out").text) == {
            "text": "initial", "hidden": "h", "memo": "two\nlines", "pick": "b", "ok": "on", "color": "green",
            "level": "5", "dup": "2",
        }  # fmt: skip
        assert client.app.pages.get(tab.id).root.changes == [("ok", True)]  # the checkbox's handler ran, as a user's tick


async def test_filling_unknown_fields_or_values_says_what_the_form_has():
    async with HtagTestClient(Fields) as client:
        tab = await client.open()
        with pytest.raises(HtagTestError, match=r"has no field named 'nope': its fields are \['text', 'hidden', 'memo'"):
            await tab.submit("form", {"nope": 1})
        with pytest.raises(HtagTestError, match=r"no radio button 'color' has the value 'blue'"):
            await tab.submit("form", {"color": "blue"})
        with pytest.raises(HtagTestError, match="give True or False"):
            await tab.submit("form", {"ok": "yes"})


class Todo(Tag.div):
    """htag's todomvc way: ``_onsubmit=self.bind.m(b"this.q.value") + "return false"``, a button's
    own click handler before the submit."""

    def init(self):
        self.items = Tag.ul(_class="items")
        self.clicks = Tag.span("0", _class="clicks")
        form = Tag.form(_onsubmit=self.bind.add_todo(b"this.q.value") + "return false")
        form += Tag.input(_name="q")
        form += Tag.button("add", _onclick=self.bind.clicked())
        self += form
        self += self.items
        self += self.clicks

    def add_todo(self, text):
        self.items += Tag.li(text)

    def clicked(self):
        self.clicks.clear(int(self.clicks.childs[0]) + 1)


async def test_an_htag_bound_submit_gets_the_field_and_the_button_is_clicked_first():
    async with HtagTestClient(Todo) as client:
        sent = []

        async def record(request):
            if request.url.path.endswith("/interact"):
                sent.append(json.loads(request.content))

        client.http.event_hooks["request"].append(record)
        tab = await client.open()
        await tab.submit("form", {"q": "milk"})
        await tab.find("form").submit({"q": "bread"})
        assert [li.text for li in tab.find_all(".items li")] == ["milk", "bread"]
        assert tab.find(".clicks").text == "2"
    assert [(s["method"], s["args"]) for s in sent] == [("clicked", []), ("add_todo", ["milk"]), ("clicked", []),
                                                         ("add_todo", ["bread"])]  # fmt: skip
    submit = sent[1]["event"]  # interact() runs before "return false": the default is not prevented yet
    assert (submit["type"], submit["defaultPrevented"], submit["returnValue"], submit["cancelable"]) == (
        "submit", False, True, True)  # fmt: skip


class Plain(Tag.div):
    def init(self):
        form = Tag.form(_action="/elsewhere")
        form += Tag.input(_name="q")
        self += form
        self += Tag.p("outside", _class="outside")


async def test_a_form_without_a_submit_handler_would_load_a_page_said_so():
    async with HtagTestClient(Plain) as client:
        tab = await client.open()
        with pytest.raises(HtagTestError, match="no submit handler: a browser would send it itself"):
            await tab.submit("form", {"q": "x"})
        with pytest.raises(HtagTestError, match="is not a form, nor in one"):
            await tab.find(".outside").submit()
