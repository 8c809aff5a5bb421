"""Parano mode: bodies, answers and events sealed with AES-GCM under a per-page key."""

import json

import pytest

from htag_sse import MemoryStore
from htag_sse.parano import DOWN, EVENT, RERUN, UP, Cipher, b64, unb64

from ..support.apps import build
from ..support.rawtab import RawTab


@pytest.fixture
async def vault(asgi_client):
    app = build("vault", session_store=MemoryStore(), parano=True)
    tab = await RawTab.open(asgi_client(app))
    tab.app = app
    tab.cipher = Cipher(unb64(tab.config["key"]))
    return tab


async def send(tab, message, cipher=None):
    sealed = (cipher or tab.cipher).seal(UP, message)
    return await tab.post(None, raw=sealed.encode(), headers={"Content-Type": "text/plain"}), sealed


async def test_the_page_gets_its_own_256_bit_key(vault, asgi_client):
    other = await RawTab.open(asgi_client(vault.app))
    assert vault.config["parano"] is True and len(unb64(vault.config["key"])) == 32
    assert vault.config["key"] != other.config["key"]


async def test_a_sealed_click_is_answered_sealed(vault):
    r, _ = await send(vault, {"n": 1, "o": vault.calls["open"]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert b"treasure" not in r.content and b"update" not in r.content
    _, answer = vault.cipher.open(DOWN, r.text)
    assert answer["n"] == 1 and "treasure-7731" in json.dumps(answer["a"])


async def test_a_replayed_message_is_refused_and_a_retry_runs_once(vault):
    first, sealed = await send(vault, {"n": 1, "o": vault.calls["inc"]})
    replay = await vault.post(None, raw=sealed.encode())
    assert replay.status_code == 409 and replay.json()["error"] == "replayed"
    retry, _ = await send(vault, {"n": 1, "o": vault.calls["inc"]})  # same counter, fresh nonce: the client retrying
    assert retry.text == first.text
    second, _ = await send(vault, {"n": 2, "o": vault.calls["inc"]})
    assert "clicked-2-times" in json.dumps(vault.cipher.open(DOWN, second.text)[1])  # the retry did not run again


async def test_reordered_tampered_foreign_and_plain_messages_are_refused(vault, asgi_client):
    skipped, _ = await send(vault, {"n": 5, "o": vault.calls["inc"]})
    assert skipped.status_code == 409
    _, sealed = await send(vault, {"n": 1, "o": vault.calls["inc"]})
    raw = bytearray(unb64(sealed))
    raw[20] ^= 1
    for body in (b64(bytes(raw)), "not base64 !", "", b64(b"short")):
        r = await vault.post(None, raw=body.encode())
        assert r.status_code == 400 and r.json()["error"] == "bad_ciphertext", body
    plain = await vault.post(vault.calls["inc"])
    assert plain.status_code == 400
    other = await RawTab.open(asgi_client(vault.app))
    foreign, _ = await send(vault, {"n": 2, "o": vault.calls["inc"]}, cipher=Cipher(unb64(other.config["key"])))
    assert foreign.status_code == 400
    as_answer = vault.cipher.seal(DOWN, {"n": 2, "o": vault.calls["inc"]})  # right key, wrong direction
    assert (await vault.post(None, raw=as_answer.encode())).status_code == 400


async def test_pushed_events_are_sealed_with_their_id(vault):
    answer = (await vault.client.get(vault.url("poll?after=0"))).json()
    event_id, sealed = answer["events"][0]
    assert isinstance(sealed, str) and "whisper" not in sealed
    _, message = vault.cipher.open(EVENT, sealed)
    assert message["i"] == event_id and "whisper-" in json.dumps(message["a"])


async def test_a_rerun_answer_is_sealed_with_the_old_key_and_brings_a_new_one(vault):
    vault.app.pages.drop(vault.app.pages.get(vault.page), "test")
    r = await vault.client.post(vault.url("rerun"), headers={"X-Htag-Token": vault.config["token"]})
    assert r.status_code == 200 and b"treasure" not in r.content and b"body" not in r.content
    _, fresh = vault.cipher.open(RERUN, r.text)
    assert fresh["page"] != vault.page and len(unb64(fresh["key"])) == 32 and fresh["body"].startswith("<body")
