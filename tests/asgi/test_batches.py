"""A burst of interactions goes in one POST; a refused interaction uses up its number, the next click works."""

import json

from htag_sse import MemoryStore
from htag_sse.parano import DOWN, UP, Cipher, unb64

from ..support.apps import build
from ..support.rawtab import RawTab, text_of


async def tally(asgi_client, **options):
    app = build("tally", session_store=MemoryStore(), **options)
    return app, await RawTab.open(asgi_client(app))


async def test_a_batch_runs_in_order_and_answers_each_interaction(asgi_client):
    _, tab = await tally(asgi_client)
    r = await tab.post([tab.calls["inc"]] * 22)
    answers = r.json()
    assert r.status_code == 200 and len(answers) == 22
    assert [text_of(a) for a in answers] == [str(n) for n in range(1, 23)]
    assert text_of(await tab.click("inc")) == "23"  # numbering went on from 22


async def test_a_refused_interaction_in_a_batch_is_answered_alone_and_the_rest_runs(asgi_client):
    _, tab = await tally(asgi_client)
    unknown = {**tab.calls["inc"], "id": 12345}
    r = await tab.post([tab.calls["inc"], unknown, {"id": "x"}, tab.calls["inc"]])
    first, refused, bad, last = r.json()
    assert text_of(first) == "1" and text_of(last) == "2"
    assert refused == {"error": "unknown_id", "message": refused["message"], "status": 404}
    assert bad["error"] == "bad_interaction" and bad["status"] == 400


async def test_a_double_click_on_a_button_that_removes_itself_does_not_break_the_page(asgi_client):
    _, tab = await tally(asgi_client)
    assert text_of(await tab.click("once")).startswith("100")
    again = await tab.post(tab.calls["once"])  # the second click of the double click: its tag is gone
    assert again.status_code == 404 and again.json()["error"] == "unknown_id"
    assert text_of(await tab.click("inc")) == "101"  # no 409: the refusal used up its number


async def test_every_kind_of_refusal_uses_up_its_number(asgi_client):
    app, tab = await tally(asgi_client, max_body_bytes=1024, max_interaction_bytes=4096)
    refusals = [
        (await tab.post(None, raw=b"{not json"), 400),
        (await tab.post({**tab.calls["inc"], "method": "__init__"}), 403),
        (await tab.post({**tab.calls["inc"], "args": ["onclick-0"]}), 400),
        (await tab.post(None, raw=b"x" * 5000), 413),
    ]
    assert [r.status_code for r, _ in refusals] == [status for _, status in refusals]
    assert text_of(await tab.click("inc")) == "1"


async def test_a_retried_batch_runs_once_and_gets_the_same_answers(asgi_client):
    _, tab = await tally(asgi_client)
    batch = [tab.calls["inc"]] * 3
    first = await tab.post(batch, headers={"X-Htag-Seq": "1"})
    retry = await tab.post(batch, headers={"X-Htag-Seq": "1"})
    assert retry.content == first.content
    longer = await tab.post([*batch, tab.calls["inc"]], headers={"X-Htag-Seq": "1"})  # 1-3 answered, 4 is new
    assert [text_of(a) for a in longer.json()] == ["1", "2", "3", "4"]
    skipped = await tab.post(batch, headers={"X-Htag-Seq": "9"})
    assert skipped.status_code == 409 and skipped.json()["error"] == "out_of_order"


async def test_a_sealed_batch_is_answered_sealed_and_refusals_do_not_echo_the_request(asgi_client):
    app = build("vault", session_store=MemoryStore(), parano=True)
    tab = await RawTab.open(asgi_client(app))
    cipher = Cipher(unb64(tab.config["key"]))
    secret_name = "no_such_method_a1b2"
    message = {"n": 1, "o": [tab.calls["inc"], {**tab.calls["inc"], "method": secret_name}, tab.calls["inc"]]}
    r = await tab.post(None, raw=cipher.seal(UP, message).encode(), headers={"Content-Type": "text/plain"})
    assert r.status_code == 200 and secret_name.encode() not in r.content
    _, answer = cipher.open(DOWN, r.text)
    first, refused, last = answer["a"]
    assert answer["n"] == 1 and "clicked-1-times" in json.dumps(first) and "clicked-2-times" in json.dumps(last)
    assert refused["status"] == 403 and secret_name not in json.dumps(refused)
    single = {"n": 4, "o": {**tab.calls["inc"], "method": secret_name}}
    r = await tab.post(None, raw=cipher.seal(UP, single).encode(), headers={"Content-Type": "text/plain"})
    assert r.status_code == 403 and secret_name.encode() not in r.content
