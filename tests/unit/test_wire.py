"""The wire format, without an event loop."""

import json

import pytest

from htag_sse.errors import RequestError
from htag_sse.wire import (
    Interaction,
    multi_poll_answer,
    clean_event,
    dumps,
    parse_event_id,
    parse_interaction,
    poll_answer,
    sse_event,
    sse_hello,
)


def body(**fields):
    return json.dumps({"id": 1, "method": "__on__", "args": ["onclick-1"], "kargs": {}, "event": {}, **fields}).encode()


def test_a_click_as_htag_sends_it_is_parsed():
    inter = parse_interaction(body(event={"value": "x", "clientX": 3}))
    assert inter == Interaction(1, "__on__", ("onclick-1",), {}, {"value": "x", "clientX": 3})


def test_a_generator_pull_has_no_method_nor_args():
    raw = json.dumps({"id": 7, "method": None, "args": None, "kargs": None, "event": {}}).encode()
    assert parse_interaction(raw) == Interaction(7, None, (), {}, {})


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (body(id="12"), "'id' must be an integer"),
        (body(id=True), "'id' must be an integer"),
        (body(method=""), "'method'"),
        (body(method="x" * 500), "'method'"),
        (body(method=3), "'method'"),
        (body(args={"a": 1}), "'args' must be a list"),
        (body(kargs=[1]), "'kargs'"),
        (body(kargs={"not a name": 1}), "'kargs'"),
        (body(event="click"), "'event' must be an object"),
        (body(event={"value": {"nested": 1}}), "event field"),
    ],
)
def test_bad_bodies_are_refused_with_a_400_saying_why(raw, words):
    with pytest.raises(RequestError) as e:
        parse_interaction(raw)
    assert e.value.status == 400 and words in e.value.message


def test_event_fields_htag_cannot_use_are_dropped():
    assert clean_event({"target": 1, "_x": 2, "class": 3, "1a": 4, "ok": 5}) == {"ok": 5}


def test_sse_frames():
    assert sse_event(3, '{"a":1}') == b'id: 3\ndata: {"a":1}\n\n'
    assert sse_event(0, "{}", event="gone") == b"event: gone\nid: 0\ndata: {}\n\n"
    hello = sse_hello(5, 2000, 16)
    assert hello.startswith(b"retry: 2000\n:" + b" " * 16 + b"\n") and hello.endswith(b"event: hello\nid: 5\ndata: {}\n\n")


def test_json_answers_are_compact_and_keep_unicode():
    assert dumps({1: "é</script>"}) == '{"1":"é</script>"}'


@pytest.mark.parametrize("raw, expected", [("12", 12), ("0", 0), (None, None), ("", None), ("-1", None), ("1e3", None), ("9" * 30, None), ("²", None), ("٣", None)])
def test_event_ids_from_the_client(raw, expected):
    assert parse_event_id(raw) == expected


def test_poll_answers_embed_events_without_reencoding():
    assert json.loads(poll_answer([(1, '{"update":{}}'), (2, "{}")], 2)) == {"last": 2, "events": [[1, {"update": {}}], [2, {}]]}


def test_shared_poll_answers_group_events_by_page():
    raw = multi_poll_answer({"a.1": [(3, "{}")], "b.2": []}, ["c.3"])
    assert json.loads(raw) == {"pages": {"a.1": [[3, {}]], "b.2": []}, "gone": ["c.3"]}
