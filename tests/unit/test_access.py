"""What an interaction may reach: its own page's tags, their handlers, and the methods the app
exposes or the page's code binds for that very tag — whatever their name — never what htag itself
defines, never what is merely there."""

import gc
import tracemalloc

import htbulma
import pytest
from htag import Tag, expose
from htag.render import HRenderer

from htag_sse.errors import RequestError
from htag_sse.htag1.access import callable_from_page, check_interaction, written
from htag_sse.htag1.renderer import Renderer
from htag_sse.wire import Interaction

from ..support.apps import Counter


class Form(Tag.div):
    """A widget kit's style: private methods reached through @expose or self.bind, an own `update`."""

    def init(self):
        self += Tag.button("save", _onclick=self.bind._onsubmit("x"))
        self += Tag.button("edit", _onclick=self.bind.update(1))

    def _onsubmit(self, data):
        self.state["data"] = data

    @expose
    def _submit(self, data):
        self.state["submitted"] = data

    def update(self, n):  # the app's own `update` (shadows htag's), bound above
        self.state["updated"] = n

    def _helper(self):  # private, neither exposed nor bound
        self.state["helped"] = True


def renderer(cls=Counter):
    hr = Renderer(cls, ((), {}), {}, None, False)
    str(hr.tag)
    return hr


def button_of(hr):
    return next(t for t in hr.tag.childs if isinstance(t, Tag) and t.tag == "button")


def test_a_click_on_this_pages_button_is_allowed():
    hr = renderer()
    b = button_of(hr)
    check_interaction(hr, Interaction(id(b), "__on__", (f"onclick-{id(b)}",)))


def test_a_tag_of_another_page_is_refused_as_unknown():
    mine, theirs = renderer(), renderer()
    b = button_of(theirs)
    with pytest.raises(RequestError) as e:
        check_interaction(mine, Interaction(id(b), "__on__", (f"onclick-{id(b)}",)))
    assert e.value.status == 404


def test_an_unknown_id_and_a_tag_removed_from_the_page_are_refused_as_unknown(caplog):
    hr = renderer()
    b = button_of(hr)
    b.remove()
    with pytest.raises(RequestError) as e:
        check_interaction(hr, Interaction(id(b), "__on__", (f"onclick-{id(b)}",)))
    assert e.value.status == 404 and "belongs to another page" not in caplog.text
    with pytest.raises(RequestError) as e:
        check_interaction(hr, Interaction(12345, "__on__", ("x",)))
    assert e.value.status == 404


@pytest.mark.parametrize(
    "method", ["_private", "__class__", "__init__", "__dict__", "not_callable", "init", "clear", "remove", "update",
               "exit", "add", "nope", "__on__", "_getAllJs"],
)
def test_private_dunder_htag_api_and_non_callable_names_are_refused(method):
    hr = renderer()
    with pytest.raises(RequestError) as e:
        check_interaction(hr, Interaction(id(hr.tag), method))
    assert e.value.status in (400, 403)


def test_an_exposed_method_is_callable():
    hr = renderer()
    check_interaction(hr, Interaction(id(hr.tag), "plus", (1,)))


@pytest.mark.parametrize("method", ["inc", "secret", "render", "init"])
def test_a_public_method_nothing_binds_nor_exposes_is_refused(method):
    """``inc`` is a handler (reached through htag's dispatcher, never by name), ``secret`` is bound
    nowhere, ``render`` and ``init`` are the app's own but the page never asks for them."""
    hr = renderer()
    with pytest.raises(RequestError) as e:
        check_interaction(hr, Interaction(id(hr.tag), method, (1,)))
    assert e.value.status == 403


@pytest.mark.parametrize("method", ["_onsubmit", "_submit", "update"])
def test_methods_the_app_binds_or_exposes_are_callable_whatever_their_name(method):
    hr = renderer(Form)
    check_interaction(hr, Interaction(id(hr.tag), method, (1,)))


def test_a_private_method_the_app_neither_exposes_nor_binds_is_refused():
    hr = renderer(Form)
    with pytest.raises(RequestError) as e:
        check_interaction(hr, Interaction(id(hr.tag), "_helper"))
    assert e.value.status == 403
    assert not callable_from_page(hr.tag, "clear") and not callable_from_page(hr.tag, "__init__")


def test_dispatchers_need_a_handler_the_tag_has():
    hr = renderer()
    b = button_of(hr)
    with pytest.raises(RequestError) as e:
        check_interaction(hr, Interaction(id(b), "__on_event__", ("onclick-999",)))
    assert e.value.status == 400
    with pytest.raises(RequestError):
        check_interaction(hr, Interaction(id(b), "__on__", ()))


class Field:
    """A widget kit's mixin, after htag's Tag in the MRO (htagui's IField)."""

    def _iset(self, value):
        self.state["value"] = value


class Input(Tag.input, Field):
    def init(self):
        self["onchange"] = self.bind._iset(b"this.value")
        self._loader = self._load  # a function set on the tag itself (htbulma's LocalStorage)
        self.js = "window.ready=function(){%s}" % self.bind._loader(1)

    def _load(self, n):
        self.state["loaded"] = n


def test_a_mixin_after_htags_tag_and_a_function_set_on_the_tag_are_reachable_when_bound():
    hr = renderer(Input)
    check_interaction(hr, Interaction(id(hr.tag), "_iset", ("x",)))
    check_interaction(hr, Interaction(id(hr.tag), "_loader", (1,)))
    hr.tag._sneaky = lambda: None  # set on the tag, but bound nowhere
    with pytest.raises(RequestError):
        check_interaction(hr, Interaction(id(hr.tag), "_sneaky"))


class Pair(Tag.div):
    """Two tags of one class; the page binds ``_pick`` of the first only."""

    def init(self):
        self.first, self.second = Cell(), Cell()
        self += self.first
        self += self.second
        self += Tag.button("pick", _onclick=self.first.bind._pick(1))


class Cell(Tag.span):
    def _pick(self, n):
        self.state["picked"] = n


def test_a_binding_allows_that_method_of_that_tag_only():
    hr = renderer(Pair)
    check_interaction(hr, Interaction(id(hr.tag.first), "_pick", (1,)))
    with pytest.raises(RequestError) as e:
        check_interaction(hr, Interaction(id(hr.tag.second), "_pick", (1,)))
    assert e.value.status == 403


class Forged(Tag.div):
    """What a user typed, shown unescaped (htag does not escape text): it may look like a binding."""

    def init(self, said=""):
        self += Tag.p(said)

    def _wipe(self):
        self.state["wiped"] = True


def test_text_that_looks_like_a_binding_allows_nothing():
    hr = renderer(Forged)
    forged = f'<button onclick=\'interact({{"id": {id(hr.tag)}, "method": "_wipe", "args": []}})\'>x</button>'
    hr.tag.childs[0].clear(forged)
    assert forged in str(hr.tag)
    with pytest.raises(RequestError) as e:
        check_interaction(hr, Interaction(id(hr.tag), "_wipe"))
    assert e.value.status == 403


class Storage(Tag.div):
    """htbulma's LocalStorage: a function set on the app instance, called with ``self.call``;
    this module's text never names it."""

    def init(self):
        self.conf = htbulma.LocalStorage(self.redraw, key="k")

    def redraw(self):
        self.state["loaded"] = dict(self.conf.items())


@pytest.mark.parametrize("lean", [True, False])
def test_htbulmas_local_storage_loader_is_callable_on_both_renderers(lean):
    hr = renderer(Storage) if lean else HRenderer(Storage, "", statics=[])
    name = next(n for n in vars(hr.tag) if n.startswith("_local"))  # htbulma's name, not written here
    check_interaction(hr, Interaction(id(hr.tag), name, ('{"a": 1}',)))
    hr.tag.__dict__[name]('{"a": 1}')
    assert hr.tag.state["loaded"] == {"a": 1}


def test_what_is_recorded_goes_with_its_tags():
    gc.collect()
    before = len(written)
    pages = [renderer(Pair) for _ in range(50)]
    assert len(written) >= before + 50
    del pages
    gc.collect()
    assert len(written) <= before


def test_ten_thousand_method_names_asked_for_keep_nothing():
    """Every name a client asks for was kept forever (an unbounded cache keyed by it): memory grew
    with each distinct name. Now nothing is kept per name asked."""
    hr = renderer()
    warm_up, measured = (
        [Interaction(id(hr.tag), f"no_such_method_{kind}{i:05d}_" + "x" * 150) for i in range(10_000)]
        for kind in "ab"
    )

    def refuse_all(interactions):
        for inter in interactions:
            with pytest.raises(RequestError):
                check_interaction(hr, inter)

    refuse_all(warm_up)  # whatever is made once
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        refuse_all(measured)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 100_000, f"{grown} bytes kept after asking for 10,000 names"
