"""The hardening of the audit's findings, attacked in-process: a private session directory,
refusals before any body is read, bounded work per request, escaped error pages, expired
sessions, login rotations and new-session limits, tokens and foreign pages, parano answers.

The same attacks against real server processes: ``tests/e2e/test_faults.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import json
import os
import stat
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from htag_sse import HtagSSE, MemoryStore
from htag_sse.errors import ConfigError
from htag_sse.parano import DOWN, UP, Cipher, unb64

from ..support.faultapps import Rendered, build
from ..support.faults import Exchange, tree_mode
from ..support.rawtab import RawTab, text_of
from ..support.sse import open_stream

XSS = "<img src=x onerror=alert(document.domain)>"


class Kit:
    """Apps and clients of one test, stopped afterwards as a server stops them."""

    def __init__(self) -> None:
        self.apps: list[HtagSSE] = []
        self.clients: list[httpx.AsyncClient] = []

    def app(self, name: str = "counter", **options: Any) -> HtagSSE:
        app = build(name, **options)
        self.apps.append(app)
        return app

    def client(self, app: HtagSSE, ip: str = "127.0.0.1") -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 4321)), base_url="http://testserver")
        self.clients.append(c)
        return c


@pytest.fixture
async def kit() -> AsyncIterator[Kit]:
    k = Kit()
    yield k
    for c in k.clients:
        await c.aclose()
    for app in k.apps:
        await app.stop()


def cookie_of(client: httpx.AsyncClient) -> str:
    return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def post_headers(tab: RawTab, seq: int, **extra: str) -> dict[str, str]:
    return {"cookie": cookie_of(tab.client), "x-htag-token": tab.config["token"], "x-htag-seq": str(seq),
            "content-type": "application/json", **extra}  # fmt: skip


# ---------------------------------------------------------------- 1. local takeover


async def test_a_fresh_session_directory_and_all_its_files_are_private_under_umask_022(kit, tmp_path):
    where = tmp_path / "fresh" / "sessions"
    old = os.umask(0o022)
    try:
        app = kit.app("counter", session_dir=where)
        c = kit.client(app)
        tab = await RawTab.open(c)
        assert text_of(await tab.click("inc")) == "1"
        big = await c.get("/mint", params={"photo": "x" * 60_000})  # over diskcache's 32 KB: a file of its own
        assert big.status_code == 200
    finally:
        os.umask(old)
    modes = tree_mode(where)
    wrong = {p: m for p, m in modes.items() if m != oct(0o700 if (where / p).is_dir() else 0o600)}
    assert not wrong, f"readable or writable by others under {where}: {wrong}"


@pytest.mark.parametrize("mode, why", [(0o777, "can be written by other users"), (0o770, "can be written by other users"),
                                       (0o1777, "can be written by other users")])  # fmt: skip
def test_a_session_directory_others_may_write_is_refused(tmp_path, mode, why):
    where = tmp_path / "shared"
    where.mkdir()
    where.chmod(mode)
    with pytest.raises(ConfigError, match=why) as refused:
        HtagSSE(Rendered, session_dir=where)
    assert str(where) in str(refused.value) and "refused" in str(refused.value)
    assert not (where / "cache.db").exists()  # nothing was opened in it


def test_a_session_directory_of_another_user_is_refused(tmp_path):
    if os.getuid() != 0:
        pytest.skip("giving a directory to another user needs root")
    where = tmp_path / "theirs"
    where.mkdir(mode=0o700)
    os.chown(where, 4242, 4242)
    with pytest.raises(ConfigError, match="belongs to another user") as refused:
        HtagSSE(Rendered, session_dir=where)
    assert str(where) in str(refused.value)


def test_an_existing_directory_others_may_read_is_made_private(tmp_path):
    where = tmp_path / "readable"
    where.mkdir(mode=0o755)
    where.chmod(0o755)
    HtagSSE(Rendered, session_dir=where)
    assert stat.S_IMODE(where.stat().st_mode) == 0o700


async def test_the_bus_secret_is_a_private_file_and_never_in_the_session_database(kit, tmp_path):
    where = tmp_path / "s"
    app = kit.app("counter", session_dir=where)
    tab = await RawTab.open(kit.client(app))
    await tab.click("inc")
    secret_file = where / "bus.secret"
    secret = secret_file.read_bytes()
    assert len(secret) == 32 and stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    for path in where.rglob("*"):
        if path.is_file() and path != secret_file:
            assert secret not in path.read_bytes(), f"the bus secret is readable in {path}"


# ---------------------------------------------------------------- 2. bodies of strangers are never read


# "no session": a browser whose cookie expired with its session gets 410 (it reloads), and nothing is read
@pytest.mark.parametrize("case, status", [("wrong token", 403), ("no token", 403), ("no session", 410),
                                          ("foreign origin", 403), ("unknown page", 410), ("dead worker's page", 410),
                                          ("over max_interaction_bytes", 413)])  # fmt: skip
async def test_refusals_are_answered_before_a_byte_of_the_body_is_read(kit, case, status):
    app = kit.app("counter", session_store=MemoryStore())
    tab = await RawTab.open(kit.client(app))
    headers = post_headers(tab, 1, **{"content-length": "1000000"})
    pid = tab.page
    if case == "wrong token":
        headers["x-htag-token"] = "x" * len(tab.config["token"])
    elif case == "no token":
        del headers["x-htag-token"]
    elif case == "no session":
        del headers["cookie"]
    elif case == "foreign origin":
        headers["origin"] = "https://evil.example"
    elif case == "unknown page":
        pid = f"{app.workers.me}.nothing-here"
    elif case == "dead worker's page":
        pid = "dead00.nothing-here"
    else:
        headers["content-length"] = str(64 * 1_048_576)
    exchange = await Exchange("POST", f"/_htag/{pid}/interact", headers).run(app, timeout_s=2.0)
    assert exchange.status == status, exchange.body
    assert exchange.reads == 0, "the body was read"
    if status == 413:
        assert b"max_interaction_bytes" in exchange.body
        tab.seq = 1  # the page was reached: the refusal used up its number
    assert text_of(await tab.click("inc")) == "1"  # ... and the page works on (a refused 413 used up seq 1)


async def test_a_body_that_does_not_come_is_cut_after_body_timeout_s_and_others_are_served(kit):
    app = kit.app("counter", session_store=MemoryStore(), body_timeout_s=0.5)
    slow, other = await RawTab.open(kit.client(app)), await RawTab.open(kit.client(app))
    exchange = Exchange(
        "POST", slow.url("interact"), post_headers(slow, 1, **{"content-length": "1000"}), body=[b"{"], more=True
    )
    t0 = time.monotonic()
    cut = asyncio.ensure_future(exchange.run(app, timeout_s=5.0))
    for _ in range(5):  # meanwhile
        assert (await other.post(other.calls["inc"])).status_code == 200
    await cut
    assert exchange.status == 408 and b"body_timeout" in exchange.body
    assert 0.4 < time.monotonic() - t0 < 3.0


async def test_a_chunked_body_past_max_interaction_bytes_is_413_naming_the_option(kit):
    app = kit.app("counter", session_store=MemoryStore(), max_body_bytes=1024, max_interaction_bytes=4096)
    tab = await RawTab.open(kit.client(app))
    exchange = await Exchange("POST", tab.url("interact"), post_headers(tab, 1), body=[b"x" * 1000] * 50).run(app)
    assert exchange.status == 413 and b"max_interaction_bytes" in exchange.body
    assert exchange.reads <= 6  # read no further than the limit


# ---------------------------------------------------------------- 3. one cheap request stalls nobody


async def test_an_event_with_85000_fields_is_refused_fast(kit):
    """Refused once the JSON is read, before htag makes a class of 85,000 fields (seconds of work per
    click). Timed against reading the same JSON in the same run, so that a loaded machine slows both:
    the refusal costs about one parse; the class would cost some 25 more."""
    app = kit.app("counter", session_store=MemoryStore())
    tab = await RawTab.open(kit.client(app))
    event = {f"k{i}": 0 for i in range(85_000)}
    body = json.dumps({**tab.calls["inc"], "event": event}).encode()
    took, parse = [], []
    for seq in range(1, 6):
        exchange = Exchange("POST", tab.url("interact"), post_headers(tab, seq), body=[body])
        t0 = time.perf_counter()
        await exchange.run(app)
        took.append(time.perf_counter() - t0)
        assert exchange.status == 400 and b"max_event_fields" in exchange.body
        t0 = time.perf_counter()
        json.loads(body)
        parse.append(time.perf_counter() - t0)
    assert min(took) < 10 * min(parse), (took, parse)  # a 10x margin over the work it cannot avoid
    tab.seq = 5  # the refusals used up their numbers
    assert text_of(await tab.click("inc")) == "1"


async def test_a_poll_naming_one_page_64_times_renders_it_once(kit):
    app = kit.app("rendered", session_store=MemoryStore(), poll_timeout_s=1.0)
    c = kit.client(app)
    tab = await RawTab.open(c)

    async def poll(query: str) -> tuple[int, int]:
        before = Rendered.renders
        r = await c.get(f"/_htag/poll?{query}")
        assert r.status_code == 200, r.text
        return Rendered.renders - before, len(r.content)

    once = await poll(f"p={tab.page}:")
    assert once[0] >= 1
    assert await poll("&".join([f"p={tab.page}:"] * 64)) == once
    assert await poll("&".join(f"p={tab.page}:{c}" for c in ["", "0", "00", "000"] * 16)) == once


async def test_a_stream_naming_one_page_64_times_sends_it_once(kit):
    app = kit.app("rendered", session_store=MemoryStore())
    c = kit.client(app)
    tab = await RawTab.open(c)
    before = Rendered.renders
    query = "&".join([f"p={tab.page}:"] * 64)
    async with open_stream(app, f"/_htag/events?{query}", cookie=cookie_of(c)) as stream:
        first = await stream.next_data()
        assert first.event == tab.page
        with pytest.raises(asyncio.TimeoutError):  # nothing more: one page's worth
            await stream.next_data(timeout_s=0.5)
        sent = len(stream.raw)
    assert sent < 2 * 2048 + 2 * len(first.data), sent
    assert Rendered.renders - before <= 2


# ---------------------------------------------------------------- 4. reflected XSS


@pytest.mark.parametrize("debug", [False, True])
async def test_an_init_error_page_escapes_the_query_and_shows_details_only_in_debug(kit, debug):
    app = kit.app("number", session_store=MemoryStore(), debug=debug)
    r = await kit.client(app).get("/", params={"n": XSS})
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<img" not in r.text and "onerror=alert(document.domain)&gt;" in r.text
    assert ("Traceback" in r.text) is debug
    assert ("faultapps.py" in r.text) is debug


# ---------------------------------------------------------------- 6. a page whose session expired


@pytest.mark.parametrize("store, cookie", [("disk", "expired with the session"), ("disk", "still sent"),
                                           ("memory", "still sent")])  # fmt: skip
async def test_a_page_whose_session_expired_answers_410_reload(kit, tmp_path, store, cookie):
    """The browser drops the cookie when its Max-Age (``session_max_age_s``) passes, as the session
    does; a browser whose clock is behind still sends it."""
    app = kit.app("counter", session_store=MemoryStore() if store == "memory" else None, session_dir=tmp_path / "s",
                  session_max_age_s=2.0, lease_s=0.3)  # fmt: skip (2 s: the first click comes well within)
    c = kit.client(app)
    tab = await RawTab.open(c)
    assert text_of(await tab.click("inc")) == "1"
    sid = c.cookies["htag_sid"]
    await until_async(lambda: app.store.load("s:" + sid), None, 10.0, "the session to expire")
    await until_async(lambda: app.workers.alone, True, 5.0, "the worker to know it is alone")
    c.cookies.clear()
    sent = {"Cookie": f"htag_sid={sid}"} if cookie == "still sent" else {}
    r = await tab.post(tab.calls["inc"], headers=sent)
    assert r.status_code == 410, f"{r.status_code} {r.text}: the tab does not learn it must reload"
    assert "expired" in r.json()["message"]
    assert (await c.get("/")).status_code == 200  # a reload starts afresh


async def test_a_page_of_another_worker_whose_session_expired_answers_410_not_403(kit, tmp_path):
    owner = kit.app("counter", session_dir=tmp_path / "s", session_max_age_s=1.0)
    other = kit.app("counter", session_dir=tmp_path / "s", session_max_age_s=1.0)
    c = kit.client(owner)
    tab = await RawTab.open(c)
    assert text_of(await tab.click("inc")) == "1"
    via = kit.client(other)
    via.cookies.update(c.cookies)
    relayed = RawTab(via, tab.html, tab.config, tab.calls, tab.seq)
    assert text_of(await relayed.click("inc")) == "2"  # relayed to the owner
    sid = c.cookies["htag_sid"]
    await until_async(lambda: owner.store.load("s:" + sid), None, 8.0, "the session to expire")
    via.cookies.clear()
    r = await relayed.post(relayed.calls["inc"], headers={"Cookie": f"htag_sid={sid}"})  # a clock behind: still sent
    assert r.status_code == 410, f"{r.status_code} {r.text}: the tab cannot recover by itself"


async def until_async(call: Any, expected: Any, timeout_s: float, what: str) -> None:
    """Until ``call()`` (awaited if it gives an awaitable) is ``expected``, within ``timeout_s``."""

    async def value() -> Any:
        got = call()
        return await got if inspect.isawaitable(got) else got

    deadline = time.monotonic() + timeout_s
    while await value() != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------- 7. leaks and privacy


async def test_500_logins_and_logouts_hold_no_more_pages_or_sessions(kit):
    store = MemoryStore()
    app = kit.app("counter", session_store=store, max_new_sessions_per_minute=10_000)
    c = kit.client(app)

    async def rotations(n: int) -> dict[str, int]:
        for i in range(n):
            tab = await RawTab.open(c)
            assert (await c.get("/login", params={"user": f"u{i}"})).status_code == 200
            assert (await tab.post(tab.calls["inc"])).status_code == 410  # the page ended with the old identity
            tab = await RawTab.open(c)
            assert (await tab.post(tab.calls["inc"])).status_code == 200
            assert (await c.get("/logout")).status_code == 200
        gc.collect()
        return {"pages": len(app.pages), "sessions": len(app.sessions), "by_sid": len(app.pages._by_sid),
                "pending": len(app.sessions.writes._pending), "records": len(app.locator._records),
                "maps": len(store._maps)}  # fmt: skip

    warm = await rotations(20)
    assert await rotations(500) == warm


async def test_logout_forgets_the_session_and_the_old_id_opens_nothing(kit):
    app = kit.app("counter", session_store=MemoryStore())
    c = kit.client(app)
    assert (await c.get("/login", params={"user": "alice"})).json()["sid"]
    logged_in = c.cookies["htag_sid"]
    assert (await c.get("/whoami")).json() == {"user": "alice"}
    await c.get("/logout")
    assert c.cookies["htag_sid"] != logged_in
    assert (await c.get("/whoami")).json() == {}
    thief = kit.client(app)
    thief.cookies.set("htag_sid", logged_in)
    assert (await thief.get("/whoami")).json() == {}


async def test_sessions_minted_by_a_plain_route_are_limited_per_address(kit):
    app = kit.app("counter", session_store=MemoryStore(), max_new_sessions_per_minute=5)
    statuses = []
    for _ in range(8):  # a client dropping its cookie each time
        r = await kit.client(app, ip="203.0.113.7").get("/mint", params={"k": "v"})
        statuses.append(r.status_code)
    assert statuses == [200] * 5 + [429] * 3
    assert r.headers["retry-after"] == "60"


async def test_rotating_sessions_without_a_cookie_mints_no_more_than_the_limit(kit):
    """A logout route hit again and again by a client without cookie (each call would make a session)."""
    store = MemoryStore()
    app = kit.app("counter", session_store=store, max_new_sessions_per_minute=5)
    statuses = [(await kit.client(app, ip="203.0.113.8").get("/logout")).status_code for _ in range(20)]
    assert all(s in (200, 429) for s in statuses), statuses
    assert len(store._maps) <= 5, f"{len(store._maps)} sessions stored for one address"


async def test_ipv6_clients_of_one_64_behind_a_trusted_proxy_share_one_limit(kit):
    app = kit.app("counter", session_store=MemoryStore(), max_new_sessions_per_minute=3)

    async def get(forwarded: str) -> int:
        return (await kit.client(app, ip="::1").get("/", headers={"X-Forwarded-For": forwarded})).status_code

    same_64 = [await get(f"2001:db8:1:2:{i:x}::{i:x}") for i in range(1, 6)]
    assert same_64 == [200, 200, 200, 429, 429]
    assert await get("2001:db8:1:3::1") == 200  # the next /64 is another client
    assert await get("203.0.113.9, 2001:db8:1:2::99") == 429  # a hop prepended by the client changes nothing


# ---------------------------------------------------------------- 9. tokens, foreign pages, limits, parano


@pytest.mark.parametrize("endpoint", ["rerun", "interact", "release"])
async def test_a_non_ascii_token_is_403_not_500(kit, endpoint):
    app = kit.app("counter", session_store=MemoryStore())
    tab = await RawTab.open(kit.client(app))
    for token in ("été".encode("latin-1"), "☃".encode(), b"\xff\xfe"):
        headers = {**post_headers(tab, 1), "x-htag-token": token, "content-length": "2"}
        exchange = await Exchange("POST", tab.url(endpoint), headers, body=[b"{}"]).run(app)
        assert exchange.status == 403, (token, exchange.body)
    beacon = {"cookie": cookie_of(tab.client), "content-type": "text/plain", "content-length": "3"}
    exchange = await Exchange("POST", tab.url("release"), beacon, body=["é☃".encode()[:3]]).run(app)
    assert exchange.status == 403


async def test_another_sessions_page_is_refused_when_relayed_to_its_owner(kit, tmp_path):
    owner = kit.app("counter", session_dir=tmp_path / "s")
    other = kit.app("counter", session_dir=tmp_path / "s")
    alice = await RawTab.open(kit.client(owner))
    assert text_of(await alice.click("inc")) == "1"
    mallory_client = kit.client(other)
    await RawTab.open(mallory_client)  # a session of her own, on the other worker
    mallory = RawTab(mallory_client, alice.html, alice.config, alice.calls)  # alice's page id and token
    r = await mallory.post(alice.calls["inc"])
    assert r.status_code == 403 and r.json()["error"] == "foreign_page"
    r = await mallory_client.get(alice.url("poll"), params={"after": "0"})
    assert r.status_code == 403
    assert text_of(await alice.click("inc")) == "2"


async def test_a_page_of_a_worker_that_just_started_is_found_by_the_others(kit, tmp_path):
    """Worker ``b`` looked around before ``a`` started; ``a``'s first page, clicked through ``b`` at once."""
    a = kit.app("counter", session_dir=tmp_path / "s")
    b = kit.app("counter", session_dir=tmp_path / "s")
    via_b = kit.client(b)
    await RawTab.open(via_b)  # b starts alone
    tab = await RawTab.open(kit.client(a))
    via_b.cookies.update(tab.client.cookies)
    relayed = RawTab(via_b, tab.html, tab.config, tab.calls)
    r = await relayed.post(tab.calls["inc"])
    assert r.status_code == 200, f"{r.status_code} {r.text}: a live page of a live worker"


async def test_max_pages_per_session_1_keeps_one_page(kit):
    app = kit.app("counter", session_store=MemoryStore(), max_pages_per_session=1)
    c = kit.client(app)
    first = await RawTab.open(c)
    second = await RawTab.open(c)
    assert len(app.pages) == 1
    assert (await first.post(first.calls["inc"])).status_code == 410
    assert text_of(await second.click("inc")) == "1"


async def test_max_pages_per_session_bounds_each_worker(kit, tmp_path):
    """The limit bounds what a session holds in each worker's memory (documented: per worker)."""
    one = kit.app("counter", session_dir=tmp_path / "s", max_pages_per_session=1)
    two = kit.app("counter", session_dir=tmp_path / "s", max_pages_per_session=1)
    c1 = kit.client(one)
    c2 = kit.client(two)
    for _ in range(3):
        await RawTab.open(c1)
        c2.cookies.update(c1.cookies)
        await RawTab.open(c2)  # the same session's pages, made by the other worker too
    assert len(one.pages) == 1 and len(two.pages) == 1


MARK = "ECHOMARK7731"


async def test_parano_refusals_do_not_echo_what_the_request_said(kit):
    app = kit.app("vault", session_store=MemoryStore(), parano=True)
    tab = await RawTab.open(kit.client(app))
    cipher = Cipher(unb64(tab.config["key"]))
    inc = tab.calls["inc"]
    probes: list[Any] = [
        {**inc, "method": MARK},
        {**inc, "id": 987654321, "method": MARK},
        {**inc, "args": [MARK]},
        {**inc, "event": {MARK: [1]}},
        {**inc, "kargs": {f"{MARK}-": 1}},
        [{**inc, "method": MARK}, {**inc, "event": {MARK: {}}}],
        MARK,
    ]
    n = 0
    for probe in probes:
        n += 1
        r = await tab.post(None, raw=cipher.seal(UP, {"n": n, "o": probe}).encode(), headers={"X-Htag-Seq": str(n)})
        said = r.text if r.status_code != 200 else json.dumps(cipher.open(DOWN, r.text)[1])
        assert MARK not in said, (probe, r.status_code, said)
    late = await tab.post(None, raw=cipher.seal(UP, {"n": 1_000_000 + n, "o": inc}).encode())
    assert late.status_code == 409 and str(1_000_000 + n) not in late.text, late.text
    opened = await tab.post(None, raw=cipher.seal(UP, {"n": n + 1, "o": inc}).encode())
    assert "clicked-1-times" in json.dumps(cipher.open(DOWN, opened.text)[1])


async def test_one_session_holds_a_bounded_number_of_event_streams_and_others_are_not_affected(kit):
    """A client opening stream after stream on one session (each held open) gets 429 past twice its
    pages' bound; a stream that ends frees its place; another session's streams are not affected."""
    app = kit.app("counter", session_store=MemoryStore(), max_pages_per_session=2)
    mallory, alice = kit.client(app), kit.client(app)
    tab, hers = await RawTab.open(mallory), await RawTab.open(alice)
    async with contextlib.AsyncExitStack() as held:
        streams = [await held.enter_async_context(open_stream(app, f"/_htag/{tab.page}/events",
                                                               cookie=cookie_of(mallory))) for _ in range(5)]  # fmt: skip
        for stream in streams[:4]:
            assert (await stream.next()).event == "hello"
        await asyncio.wait_for(streams[4].ended.wait(), 5)
        assert streams[4].status == 429 and b"too_many_streams" in streams[4].raw
        async with open_stream(app, f"/_htag/{hers.page}/events", cookie=cookie_of(alice)) as other:
            assert (await other.next()).event == "hello" and other.status == 200
    async with open_stream(app, f"/_htag/{tab.page}/events", cookie=cookie_of(mallory)) as again:
        assert (await again.next()).event == "hello" and again.status == 200  # the ended ones freed their places
