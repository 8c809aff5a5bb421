"""An interaction reaches only its own page's tags, and only callable-from-page methods."""

import pytest
from htag import Tag
from htag.render import HRenderer

from htag_sse.errors import RequestError
from htag_sse.security import check_interaction, check_origin, check_token
from htag_sse.wire import Interaction

from ..apps import Counter


def renderer():
    hr = HRenderer(Counter, js="", session={})
    str(hr)
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


def test_an_unknown_id_is_refused():
    with pytest.raises(RequestError) as e:
        check_interaction(renderer(), Interaction(12345, "__on__", ("x",)))
    assert e.value.status == 404


@pytest.mark.parametrize(
    "method", ["_private", "__class__", "__init__", "__dict__", "not_callable", "init", "clear", "remove", "update", "exit", "add", "nope"]
)
def test_private_dunder_htag_api_and_non_callable_names_are_refused(method):
    hr = renderer()
    with pytest.raises(RequestError) as e:
        check_interaction(hr, Interaction(id(hr.tag), method))
    assert e.value.status == 403


@pytest.mark.parametrize("method", ["plus", "inc", "secret"])
def test_methods_defined_by_the_app_are_callable(method):
    """@expose'd and bound methods: any public method of the app's own classes."""
    hr = renderer()
    check_interaction(hr, Interaction(id(hr.tag), method, (1,)))


def test_dispatchers_need_a_handler_the_tag_has():
    hr = renderer()
    b = button_of(hr)
    with pytest.raises(RequestError) as e:
        check_interaction(hr, Interaction(id(b), "__on_event__", ("onclick-999",)))
    assert e.value.status == 400
    with pytest.raises(RequestError):
        check_interaction(hr, Interaction(id(b), "__on__", ()))


def test_tokens_are_compared_in_constant_time_and_required():
    check_token("abc", "abc")
    for given in (None, "", "abd", "é"):
        with pytest.raises(RequestError) as e:
            check_token("abc", given)
        assert e.value.status == 403


def scope(client="203.0.113.9", **headers):
    return {"scheme": "http", "client": (client, 5000),
            "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]}


def test_origin_must_be_this_server_or_allowed():
    check_origin(scope(host="a.test", origin="http://a.test"))
    check_origin(scope(host="a.test"))  # no Origin (non-browser client): the token still protects
    check_origin(scope(host="a.test", referer="http://a.test/page?x=1"))
    behind_proxy = scope(client="127.0.0.1", host="10.0.0.1:8000", x_forwarded_host="a.test", origin="https://a.test")
    check_origin(behind_proxy, trusted=["127.0.0.1"])
    with pytest.raises(RequestError):  # X-Forwarded-Host counts only from a trusted proxy
        check_origin(behind_proxy, trusted=[])
    check_origin(scope(host="a.test", origin="https://b.test"), allowed={"https://b.test"})
    for bad in (scope(host="a.test", origin="http://evil.test"), scope(host="a.test", origin="null"),
                scope(host="a.test", referer="http://evil.test/x")):
        with pytest.raises(RequestError) as e:
            check_origin(bad)
        assert e.value.status == 403
