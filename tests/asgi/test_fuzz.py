"""Fuzzing: thousands of malformed bodies, ids, methods, headers and ciphertexts
thrown at every endpoint by an attacker with a session of its own. Never a 5xx;
the server keeps serving; a control session's state is intact.

CI runs ``HTAG_SSE_FUZZ_EXAMPLES`` (default 1000) examples per test; for a
longer run: ``HTAG_SSE_FUZZ_EXAMPLES=20000 scripts/test tests/asgi/test_fuzz.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from htag_sse import HtagSSE, MemoryStore
from htag_sse.parano import UP, Cipher, b64, unb64

from ..support.apps import Counter, Vault
from ..support.rawtab import RawTab, text_of

EXAMPLES = int(os.environ.get("HTAG_SSE_FUZZ_EXAMPLES", "1000"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    app: HtagSSE
    control: RawTab  # a victim's page, clicked 3 times
    mine: RawTab  # the attacker's own page
    vault: RawTab  # the attacker's own parano page
    cipher: Cipher

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @property
    def ids(self) -> list[int]:
        """Tag ids the attacker may try: its own and the victim's."""
        return [c["id"] for tab in (self.control, self.mine, self.vault) for c in tab.calls.values()]


@pytest.fixture(scope="module")
def world():
    loop = asyncio.new_event_loop()

    async def vault_route(request):
        return await app.handle(request, Vault, parano=True)

    app = HtagSSE(Counter, session_store=MemoryStore(), max_body_bytes=4096, poll_timeout_s=0.05, grace_s=3600,
                  max_new_sessions_per_minute=10**6, routes=[Route("/vault", vault_route)])  # fmt: skip

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    async def setup() -> World:
        control = await RawTab.open(client())
        for _ in range(3):
            await control.click("inc")
        attacker = client()
        mine, vault = await RawTab.open(attacker), await RawTab.open(attacker, "/vault")
        return World(loop, app, control, mine, vault, Cipher(unb64(vault.config["key"])))

    world = loop.run_until_complete(setup())
    yield world
    # the server keeps serving, and the victim's state is intact
    assert text_of(world.run(world.control.click("inc"))) == "4"
    assert world.run(world.mine.client.get("/")).status_code == 200
    loop.run_until_complete(shutdown(app))
    loop.close()


async def shutdown(app: HtagSSE) -> None:
    await app.stop()
    tasks = asyncio.all_tasks() - {asyncio.current_task()}
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
methods = st.sampled_from(
    ["__on__", "__on_event__", "inc", "plus", "secret", "_private", "__class__", "__init__", "__dict__",
     "__getattribute__", "__reduce__", "init", "update", "remove", "clear", "add", "exit", "not_callable", "bind", "call"]
) | st.text(max_size=30) | st.none() | st.integers()  # fmt: skip
headers = st.dictionaries(
    st.sampled_from(["X-Htag-Token", "X-Htag-Seq", "Origin", "Referer", "Content-Type", "Last-Event-ID", "X-Forwarded-For"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    max_size=4,
)


def interaction(world: World) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {"id": st.sampled_from(world.ids) | st.integers() | st.text(max_size=5), "method": methods},
        optional={"args": st.lists(json_values, max_size=3) | json_values, "kargs": json_values, "event": json_values},
    )


def check(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:300])


@given(data=st.data())
@FUZZ
def test_interactions_of_every_shape(world, data):
    tab = data.draw(st.sampled_from([world.mine, world.control]), label="page")  # the control's: foreign
    body = data.draw(interaction(world) | json_values, label="body")
    extra = data.draw(headers, label="headers")
    url = tab.url("interact")
    token = {"X-Htag-Token": tab.config["token"]}
    check(world.run(world.mine.client.post(url, content=json.dumps(body), headers={**token, **extra})))


@given(raw=st.binary(max_size=6000), extra=headers, which=st.sampled_from(["interact", "rerun", "alive", "poll"]))
@FUZZ
def test_raw_bytes_and_headers_at_every_endpoint(world, raw, extra, which):
    url = world.mine.url(which)
    call = world.mine.client.get(url, headers=extra) if which in ("alive", "poll") else \
        world.mine.client.post(url, content=raw, headers={"X-Htag-Token": world.mine.config["token"], **extra})  # fmt: skip
    check(world.run(call))


@given(
    pid=st.text(max_size=40) | st.sampled_from(["", ".", "x.y", "../static/htag-sse.js"]),
    which=st.sampled_from(["interact", "events", "poll", "rerun", "alive"]),
    query=st.text(max_size=60),
)
@FUZZ
def test_unknown_and_foreign_page_ids(world, pid, which, query):
    pid = pid if pid != world.mine.page else "x"  # a live page of ours would stream forever
    url = f"{world.mine.config['base']}/{quote(pid, safe='')}/{which}?{quote(query, safe='=&')}"
    method = "POST" if which in ("interact", "rerun") else "GET"
    check(world.run(world.mine.client.request(method, url)))


@given(params=st.lists(st.text(max_size=50), max_size=70), which=st.sampled_from(["events", "poll"]))
@FUZZ
def test_shared_stream_and_poll_parameters(world, params, which):
    params = [p for p in params if not p.startswith(world.mine.page) and not p.startswith(world.vault.page)]
    url = f"{world.mine.config['base']}/{which}"
    check(world.run(world.mine.client.get(url, params=[("p", p) for p in params])))


@given(data=st.data())
@FUZZ
def test_ciphertexts_for_a_parano_page(world, data):
    sealed = world.cipher.seal(UP, {"n": data.draw(st.integers(), label="n"), "o": data.draw(interaction(world))})
    raw = bytearray(unb64(sealed))
    kind = data.draw(st.sampled_from(["flip", "cut", "random", "text", "sealed-garbage"]), label="kind")
    if kind == "flip":
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= data.draw(st.integers(1, 255))
        body = b64(bytes(raw))
    elif kind == "cut":
        body = b64(bytes(raw[: data.draw(st.integers(0, len(raw) - 1))]))
    elif kind == "random":
        body = b64(data.draw(st.binary(max_size=300)))
    elif kind == "text":
        body = data.draw(st.text(max_size=300))
    else:  # well sealed, but its content is junk
        body = world.cipher.seal(UP, data.draw(st.dictionaries(st.text(max_size=5), json_values, max_size=3)))
    r = world.run(world.vault.post(None, raw=body.encode(), headers={"Content-Type": "text/plain"}))
    check(r)
