"""What an interaction may reach: its own page's tags, their handlers, and the methods the app's
own classes expose or bind — whatever their name — never what htag itself defines."""

import pytest
from htag import Tag, expose

from htag_sse.errors import RequestError
from htag_sse.htag1.access import callable_from_page, check_interaction
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


@pytest.mark.parametrize("method", ["plus", "inc", "secret"])
def test_public_methods_defined_by_the_app_are_callable(method):
    hr = renderer()
    check_interaction(hr, Interaction(id(hr.tag), method, (1,)))


@pytest.mark.parametrize("method", ["_onsubmit", "_submit", "update"])
def test_methods_the_app_binds_or_exposes_are_callable_whatever_their_name(method):
    hr = renderer(Form)
    check_interaction(hr, Interaction(id(hr.tag), method, (1,)))


def test_a_private_method_the_app_neither_exposes_nor_binds_is_refused():
    hr = renderer(Form)
    with pytest.raises(RequestError) as e:
        check_interaction(hr, Interaction(id(hr.tag), "_helper"))
    assert e.value.status == 403
    assert not callable_from_page(Form, "clear") and not callable_from_page(Form, "__init__")


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
