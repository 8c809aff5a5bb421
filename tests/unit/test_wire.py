"""The wire format, without an event loop."""

import json

import pytest

from htag_sse.errors import RequestError
from htag_sse.wire import (
    MAX_BATCH,
    Interaction,
    clean_event,
    dumps,
    dumps_bytes,
    interaction_from,
    multi_poll_answer,
    parse_items,
    poll_answer,
    sse_event,
    sse_gone,
    sse_hello,
)


def parse_interaction(raw, max_fields=128):
    """One interaction, or the refusal it became."""
    items, batch = parse_items(raw, max_fields)
    assert not batch and len(items) == 1
    if isinstance(items[0], RequestError):
        raise items[0]
    return items[0]


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
        (b"7", "JSON object"),
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


def test_a_batch_is_a_list_of_interactions_and_each_bad_one_becomes_its_refusal():
    good = json.loads(body())
    items, batch = parse_items(json.dumps([good, {"id": "x"}, good]).encode(), 128)
    assert batch and items[0] == items[2] == interaction_from(good)
    assert isinstance(items[1], RequestError) and items[1].status == 400
    for bad in ([], [good] * (MAX_BATCH + 1)):
        items, batch = parse_items(json.dumps(bad).encode(), 128)
        assert not batch and isinstance(items[0], RequestError)  # one refusal: it uses up one number


def test_an_event_with_too_many_fields_is_refused_before_htag_builds_a_class_of_them():
    event = {f"f{i}": i for i in range(200)}
    with pytest.raises(RequestError) as e:
        parse_interaction(body(event=event), max_fields=128)
    assert "200 fields" in e.value.message and "max_event_fields" in e.value.message
    assert len(parse_interaction(body(event=dict(list(event.items())[:128]))).event) == 128


def test_sse_frames_are_sse_starlettes():
    assert sse_event(3, '{"a":1}') == b'id: 3\r\ndata: {"a":1}\r\n\r\n'
    assert sse_event(4, "{}", event="p.1") == b"id: 4\r\nevent: p.1\r\ndata: {}\r\n\r\n"
    assert sse_gone("p.1") == b'id: 0\r\nevent: gone\r\ndata: {"page":"p.1"}\r\n\r\n'
    hello = sse_hello(5, 2000, 16)
    assert hello.startswith(b": " + b" " * 16 + b"\r\n\r\n")
    assert hello.endswith(b"id: 5\r\nevent: hello\r\ndata: {}\r\nretry: 2000\r\n\r\n")


def test_json_answers_are_compact_and_keep_unicode():
    assert dumps({1: "é</script>"}) == '{"1":"é</script>"}'


def test_answers_are_json_javascript_reads_whatever_they_hold():
    assert dumps_bytes({1: "é\u2028", "n": 1.5, "t": (1, True, None)}) == '{"1":"é\u2028","n":1.5,"t":[1,true,null]}'.encode()
    assert json.loads(dumps(float("nan"))) is None  # the standard library wrote NaN, which JSON.parse refuses
    assert json.loads(dumps({"big": 2**70, 3: [2**64]})) == {"big": 2**70, "3": [2**64]}  # past orjson's 64 bits
    with pytest.raises(TypeError):
        dumps({"x": object()})


def test_poll_answers_embed_events_without_reencoding():
    assert json.loads(poll_answer([(1, '{"update":{}}'), (2, "{}")], 2)) == {"last": 2, "events": [[1, {"update": {}}], [2, {}]]}


def test_shared_poll_answers_group_events_by_page():
    raw = multi_poll_answer({"a.1": [(3, "{}")], "b.2": []}, ["c.3"])
    assert json.loads(raw) == {"pages": {"a.1": [[3, {}]], "b.2": []}, "gone": ["c.3"]}
