"""Attacks a hostile client can try, and what it gets: refusals, bounded memory, nothing changed."""

import gc
import re
import subprocess
import sys
import urllib.request

import httpx
import pytest
from htag import Tag

from htag_sse import HtagSSE, MemoryStore

from ..support.apps import build
from ..support.rawtab import RawTab, text_of


def client_for(app, ip="127.0.0.1", **kwargs):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 4321)), **kwargs)


async def test_new_sessions_per_client_address_are_limited():
    app = build("counter", session_store=MemoryStore(), max_new_sessions_per_minute=5)
    statuses = []
    for _ in range(7):  # a client that drops its cookie each time
        async with client_for(app, ip="203.0.113.5", base_url="http://t") as c:
            statuses.append((await c.get("/")).status_code)
    assert statuses == [200] * 5 + [429] * 2
    async with client_for(app, ip="203.0.113.6", base_url="http://t") as c:
        assert (await c.get("/")).status_code == 200  # another address is not affected
    async with client_for(app, ip="203.0.113.5", base_url="http://t") as c:
        r = await c.get("/")
        assert r.status_code == 429 and r.headers["retry-after"] == "60"


async def test_behind_a_trusted_proxy_the_limit_applies_to_the_real_client():
    app = build("counter", session_store=MemoryStore(), max_new_sessions_per_minute=2)
    for ip, expected in (("198.51.100.1", 200), ("198.51.100.1", 200), ("198.51.100.1", 429), ("198.51.100.2", 200)):
        async with client_for(app, ip="127.0.0.1", base_url="http://t") as proxy:
            assert (await proxy.get("/", headers={"X-Forwarded-For": ip})).status_code == expected


async def test_ten_thousand_page_creations_from_one_client_stay_bounded():
    store = MemoryStore()
    app = build("counter", session_store=store, max_pages_per_session=16)
    async with client_for(app, base_url="http://t") as c:
        for _ in range(100):
            await c.get("/")
        gc.collect()
        before = rss_kb()
        for _ in range(10_000):
            assert (await c.get("/")).status_code == 200
        gc.collect()
        grown_kb = rss_kb() - before
    assert len(app.pages) == 16  # the oldest pages were dropped...
    assert len(store) <= 1 + 16 + 1  # ...with their records: the session, 16 page records, at most a lease
    assert grown_kb < 20_000, grown_kb  # not 10,000 pages' worth (~0.5 GB)


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


async def test_the_secure_flag_follows_x_forwarded_proto_only_from_trusted_proxies():
    app = build("counter", session_store=MemoryStore())
    async with client_for(app, ip="127.0.0.1", base_url="http://t") as proxy:
        r = await proxy.get("/", headers={"X-Forwarded-Proto": "https"})
        assert "; Secure" in r.headers["set-cookie"]
    async with client_for(app, ip="203.0.113.5", base_url="http://t") as direct:
        r = await direct.get("/", headers={"X-Forwarded-Proto": "https"})
        assert "Secure" not in r.headers["set-cookie"]


async def test_origins_behind_a_proxy_that_rewrites_the_host_are_configured():
    for allowed, expected in (((), 403), (("https://public.example",), 200)):
        app = build("counter", session_store=MemoryStore(), allowed_origins=allowed)
        async with client_for(app, base_url="http://internal:8000") as c:
            tab = await RawTab.open(c)
            r = await tab.post(tab.calls["inc"], headers={"Origin": "https://public.example"})
            assert r.status_code == expected


async def test_pages_forbid_framing_by_other_sites_and_headers_can_be_set():
    app = build("counter", session_store=MemoryStore())
    async with client_for(app, base_url="http://t") as c:
        assert (await c.get("/")).headers["x-frame-options"] == "SAMEORIGIN"
    csp = "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'"
    app = build("counter", session_store=MemoryStore(), page_headers={"Content-Security-Policy": csp})
    async with client_for(app, base_url="http://t") as c:
        assert (await c.get("/")).headers["content-security-policy"] == csp


@pytest.mark.parametrize("field, value", [("id", 2**70), ("id", -1), ("args", [[[[[]]]]] * 50), ("kargs", {"x" * 5000: 1})])
async def test_odd_but_well_formed_interactions_change_nothing(field, value):
    app = build("counter", session_store=MemoryStore())
    async with client_for(app, base_url="http://t") as c:
        tab = await RawTab.open(c)
        r = await tab.post({**tab.calls["inc"], field: value})
        assert 400 <= r.status_code < 500 or r.json().get("err"), r.text
        assert text_of(await tab.click("inc")) == "1"


class Repo:
    """The app's data layer."""

    def __init__(self):
        self.users = {"alice", "bob"}

    def delete_user(self, name):
        self.users.discard(name)


REPO = Repo()


class Confirm(Tag.div):
    """A dialog that runs what its parent gives it when the user says yes."""

    def init(self, on_confirm):
        self.on_confirm = on_confirm
        self += Tag.button("Yes", _onclick=self.yes, _class="yes")

    def yes(self, ev):
        self.on_confirm()


class Admin(Tag.div):
    """Functions kept on tags, as apps keep them — none bound, none exposed."""

    fetch = urllib.request.urlopen  # a helper kept on the class

    def init(self):
        self.data = Tag.span("precious", _class="data")
        self.runner = subprocess.getoutput  # a helper kept on the instance
        self.remove_user = REPO.delete_user
        self.confirm = Confirm(self._wipe_everything)  # its on_confirm: this private method
        self += self.data
        self += self.confirm

    def _wipe_everything(self):
        self.data.clear("wiped")

    def render(self):
        self.data["title"] = "rendered"


OPENED: list[str] = []
sys.addaudithook(lambda event, args: OPENED.append(event) if event in ("urllib.Request", "subprocess.Popen") else None)


@pytest.mark.parametrize("lean", [True, False])
async def test_functions_kept_on_tags_are_not_callable_from_the_page(tmp_path, lean):
    """A function set on a tag or its class, an alias of a private method, htag's ``render``: the
    page neither binds nor exposes them, so a POST naming them is refused and nothing runs."""
    app = HtagSSE(Admin, session_store=MemoryStore(), lean=lean)
    pwned = tmp_path / "pwned"
    async with client_for(app, base_url="http://t") as c:
        tab = await RawTab.open(c)
        dialog = int(re.search(r'<div id="(\d+)"><button', tab.html)[1])
        attacks = [
            ("runner", [f"touch {pwned}"], None),
            ("remove_user", ["alice"], None),
            ("on_confirm", [], dialog),
            ("fetch", ["http://127.0.0.1:9/"], None),
            ("render", [], None),
        ]
        OPENED.clear()
        for method, args, oid in attacks:
            r = await tab.call(method, *args, oid=oid)
            assert r.status_code == 403 and r.json()["error"] == "forbidden_method", (method, r.text)
        assert not pwned.exists() and REPO.users == {"alice", "bob"} and not OPENED
        assert "precious" in (await c.get("/")).text
        live = app.pages.get(tab.page).root
        assert live.data.childs == ("precious",)
