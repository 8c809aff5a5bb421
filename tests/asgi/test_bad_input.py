"""Bad input gets a clear 4xx JSON error, changes nothing, and the server keeps serving."""

import pytest

from htag_sse import MemoryStore

from ..support.apps import build
from ..support.rawtab import RawTab, text_of


@pytest.fixture
async def tab(asgi_client):
    app = build("counter", session_store=MemoryStore(), max_body_bytes=2048, max_interaction_bytes=4096)
    tab = await RawTab.open(asgi_client(app))
    assert text_of(await tab.click("inc")) == "1"
    tab.app = app
    return tab


async def assert_refused(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == code and response.json()["message"]


async def assert_unchanged(tab):
    """The count is still 1: the next click makes it 2."""
    assert text_of(await tab.click("inc")) == "2"


@pytest.mark.parametrize(
    "raw, code",
    [
        (b"{bad json", "bad_interaction"),
        (b'{"method": "__on__"}', "bad_interaction"),
        (b"[]", "bad_interaction"),
        (b"", "bad_interaction"),
    ],
)
async def test_malformed_or_incomplete_bodies(tab, raw, code):
    await assert_refused(await tab.post(None, raw=raw), 400, code)
    await assert_unchanged(tab)


async def test_an_oversized_body_is_413(tab):
    await assert_refused(await tab.post(None, raw=b"x" * 5000), 413, "too_large")

    async def chunks():  # no Content-Length: counted while streaming
        for _ in range(10):
            yield b"y" * 1000

    r = await tab.client.post(tab.url("interact"), content=chunks(), headers={"X-Htag-Token": tab.config["token"]})
    await assert_refused(r, 413, "too_large")
    await assert_unchanged(tab)


async def test_an_unknown_page_is_410_gone(tab):
    r = await tab.client.post(tab.url("interact").replace(tab.page, "nope.nope"), json=tab.calls["inc"])
    await assert_refused(r, 410, "page_gone")
    await assert_unchanged(tab)


async def test_a_tag_of_another_users_page_is_refused_and_their_state_unchanged(tab, asgi_client):
    other = await RawTab.open(asgi_client(tab.app))  # another browser: its own session
    r = await other.post(tab.calls["inc"])  # A's button id, on B's page
    await assert_refused(r, 404, "unknown_id")
    await assert_unchanged(tab)
    assert text_of(await other.click("inc")) == "1"


async def test_another_sessions_page_is_refused(tab, asgi_client):
    intruder = asgi_client(tab.app)
    r = await intruder.post(tab.url("interact"), json=tab.calls["inc"], headers={"X-Htag-Token": tab.config["token"]})
    await assert_refused(r, 410, "session_expired")  # no session at all: as if its cookie had expired
    await intruder.get("/")  # a session of its own
    r = await intruder.post(tab.url("interact"), json=tab.calls["inc"], headers={"X-Htag-Token": tab.config["token"]})
    await assert_refused(r, 403, "foreign_page")
    await assert_unchanged(tab)


@pytest.mark.parametrize("method", ["_private", "__class__", "__init__", "not_callable", "init", "remove", "exit"])
async def test_methods_the_page_may_not_call(tab, method):
    await assert_refused(await tab.call(method), 403, "forbidden_method")
    await assert_unchanged(tab)


async def test_a_handler_name_the_tag_does_not_have(tab):
    await assert_refused(await tab.post({**tab.calls["inc"], "args": ["onclick-1"]}), 400, "unknown_event")
    await assert_unchanged(tab)


@pytest.mark.parametrize("token", [None, "", "wrong"])
async def test_missing_or_wrong_token_is_403(tab, token):
    headers = {} if token is None else {"X-Htag-Token": token}
    r = await tab.client.post(tab.url("interact"), json=tab.calls["inc"], headers=headers)
    await assert_refused(r, 403, "bad_token")
    await assert_unchanged(tab)


async def test_a_foreign_origin_is_403(tab):
    await assert_refused(await tab.forge(tab.calls["inc"], {"Origin": "http://evil.test"}), 403, "bad_origin")
    await assert_unchanged(tab)


@pytest.mark.parametrize("seq", [b"abc", b"-1", "²".encode("latin-1"), b"1" * 20])
async def test_a_bad_sequence_header_is_400(tab, seq):
    await assert_refused(await tab.post(tab.calls["inc"], headers={"X-Htag-Seq": seq}), 400, "bad_seq")
    await assert_unchanged(tab)
