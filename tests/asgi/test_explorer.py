"""The app list of ``python -m htag_sse`` (no app named, no index.py): what it lists, and
that /apps opens only what it lists, only for this site, without touching other modules."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from htag_sse import DiskStore, HtagSSE, MemoryStore
from htag_sse.explorer import explorer, open_route

from ..support.rawtab import RawTab, text_of

HERE = "http://127.0.0.1:8000"

COUNTER = """
import json
from htag import Tag

class Base(Tag.div):
    pass

class App(Base):
    def init(self):
        self.value = Tag.span(self.state.get("n", 0), _class="count")
        self += self.value
        self += Tag.button("+1", _onclick=self.inc, _class="inc")

    def inc(self, ev):
        self.state["n"] = self.state.get("n", 0) + 1
        self.value.clear(json.dumps(self.state["n"]))  # the standard json, whatever the list imported
"""
#: A file that must never run: it leaves a mark next to itself if it does.
TRAP = """import pathlib
pathlib.Path(__file__).with_suffix(".ran").touch()
from htag import Tag
class App(Tag.div):
    pass
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for rel, source in {
        "main.py": COUNTER,
        "json.py": "from htag import Tag\n\nclass App(Tag.div):\n    def init(self):\n        self += 'a json app'\n",
        "broken.py": "from htag import Tag\nclass App(Tag.div:\n    pass\n",
        'we<b>ird"name.py': "from htag import Tag\nclass App(Tag.div):\n    pass\n",
        ".hidden/h.py": TRAP,
        ".venv/lib/v.py": TRAP,
        "myenv/e.py": TRAP,
        "myenv/pyvenv.cfg": "home = /usr/bin\n",
        "node_modules/n.py": TRAP,
        "build/b.py": TRAP,
        "sub/trap.py": TRAP,
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(source)
    (tmp_path / "outside.py").write_text(TRAP)
    return root


def dev_app(root: Path, store=None) -> HtagSSE:
    return HtagSSE(explorer(root), routes=[open_route(root, debug=False)], session_store=store or MemoryStore())


def ran(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root.parent)) for p in root.parent.rglob("*.ran"))


async def test_the_list_shows_apps_and_broken_files_not_helpers_nor_skipped_folders_escaping_names(root, asgi_client):
    page = (await asgi_client(dev_app(root), HERE).get("/")).text
    links = re.findall(r'<a href="([^"]*)" class="app"[^>]*>([^<]*)</a>', page)
    assert sorted(text for _, text in links) == ["json.py : App", "main.py : App", "sub/trap.py : App",
                                                 "we&lt;b&gt;ird&quot;name.py : App"]  # fmt: skip
    assert "/apps/we%3Cb%3Eird%22name.py:App" in [href for href, _ in links]
    assert re.search(r'class="broken"[^>]*>broken.py: syntax error, line 2: ', page)
    assert "main.py : Base" not in page and "we<b>" not in page
    for skipped in (".hidden", ".venv", "myenv", "node_modules", "build"):
        assert skipped + "/" not in page


@pytest.mark.parametrize("target", [
    ".hidden/h.py:App", ".venv/lib/v.py:App", "myenv/e.py:App", "node_modules/n.py:App", "build/b.py:App",
    "..%2Foutside.py:App", "sub/..%2F..%2Foutside.py:App", "main.py:Base", "main.py:json", "broken.py:App",
    "nothere.py:App", "main.py",
])  # fmt: skip
async def test_apps_opens_nothing_the_list_does_not_show(root, asgi_client, target):
    r = await asgi_client(dev_app(root), HERE).get(f"/apps/{target}")
    assert r.status_code == 404 and "htag-sse" in r.text
    assert ran(root) == []


@pytest.mark.parametrize("headers, base", [
    ({"Sec-Fetch-Site": "cross-site"}, HERE),
    ({"Sec-Fetch-Site": "same-site"}, HERE),
    ({"Origin": "http://evil.example"}, HERE),
    ({"Origin": "null"}, HERE),
    ({"Referer": "http://evil.example/page"}, HERE),
    ({"Referer": "http://127.0.0.1:9999/other-port"}, HERE),
    ({}, "http://evil.example:8000"),  # DNS rebinding: a foreign name that leads here
])  # fmt: skip
async def test_apps_refuses_other_sites(root, asgi_client, headers, base):
    r = await asgi_client(dev_app(root), base).get("/apps/sub/trap.py:App", headers=headers)
    assert r.status_code == 403 and "Refused" in r.text
    assert ran(root) == []


async def test_apps_opens_a_listed_app_from_the_list_and_its_clicks_work(root, asgi_client):
    client = asgi_client(dev_app(root), HERE)
    path = sys.path[:]
    tab = await RawTab.open(client, "/apps/main.py:App")
    assert text_of(await tab.click("inc")) == "1"
    r = await client.get("/apps/sub/trap.py:App", headers={"Sec-Fetch-Site": "same-origin", "Referer": HERE + "/"})
    assert r.status_code == 200 and ran(root) == ["project/sub/trap.ran"]
    assert sys.path == path and "main" not in sys.modules and "trap" not in sys.modules


async def test_a_json_py_in_the_list_does_not_replace_the_standard_json(root, asgi_client):
    client = asgi_client(dev_app(root), HERE)
    assert "a json app" in (await client.get("/apps/json.py:App")).text
    assert sys.modules["json"] is json and json.dumps([1]) == "[1]"
    tab = await RawTab.open(client, "/apps/main.py:App")
    assert text_of(await tab.click("inc")) == "1"  # main.py's json.dumps: the standard one


async def test_a_page_of_a_listed_app_reruns_in_a_server_that_never_opened_it(root, asgi_client, tmp_path):
    first = dev_app(root, DiskStore(tmp_path / "s"))
    async with first.router.lifespan_context(first):  # the first server runs, then stops
        client = asgi_client(first, HERE)
        tab = await RawTab.open(client, "/apps/main.py:App")
        await tab.click("inc")
    other = asgi_client(dev_app(root, DiskStore(tmp_path / "s")), HERE)  # its class comes from sys.modules
    other.cookies = client.cookies
    tab.client = other
    r = await other.post(tab.url("rerun"), headers={"X-Htag-Token": tab.config["token"]})
    assert r.status_code == 200, r.text
    tab.adopt(r.json())
    assert text_of(await tab.click("inc")) == "2"


def cli_app(root: Path, tmp_path: Path, host: str = "127.0.0.1") -> HtagSSE:
    """What ``python -m htag_sse`` serves in ``root`` (no app named, no index.py: the list)."""
    from htag_sse import cli

    return cli.build({"cwd": str(root), "app": None, "host": host, "session_dir": str(tmp_path / "sessions"),
                      "parano": False, "debug": False, "redis": None})  # fmt: skip


async def test_the_list_answers_this_machines_names_only(root, asgi_client, tmp_path):
    """DNS rebinding: a page of evil.example whose name now leads to 127.0.0.1 must not read the list
    (file names, and its page's clicks), nor any request of it."""
    app = cli_app(root, tmp_path)
    evil = asgi_client(app, "http://evil.example:8000")
    for path in ("/", "/_htag/health"):
        r = await evil.get(path)
        assert r.status_code == 403 and "main.py" not in r.text and "does not answer to the host name" in r.text
    r = await asgi_client(app, HERE).get("/")
    assert r.status_code == 200 and "main.py : App" in r.text
    anywhere = cli_app(root, tmp_path, host="0.0.0.0")  # serving the network: any name (documented)
    assert (await asgi_client(anywhere, "http://evil.example:8000").get("/")).status_code == 200


async def test_the_reload_error_page_answers_this_machines_names_only(asgi_client):
    """The error page of ``--reload`` shows the exception's text: a password, file paths."""
    from htag_sse.server.reload import Guard

    guard = Guard(None, 'OperationalError: connection to "db" failed: password "hunter2" refused')
    r = await asgi_client(guard, "http://evil.example:8000").get("/")
    assert r.status_code == 403 and "hunter2" not in r.text
    r = await asgi_client(guard, HERE).get("/")
    assert r.status_code == 500 and "hunter2" in r.text


REALAPPS = Path(__file__).resolve().parent.parent / "realapps"


def test_the_list_shows_apps_built_on_a_widget_kits_class():
    """``class App(ui.App)`` (htagui): the list skipped every such app."""
    from htag_sse.explorer import scan

    listed = {item.rel: item.apps for item in scan(REALAPPS)}
    for name in ("ui_form", "ui_dialog", "ui_tabs", "ui_split", "ui_sortable", "ui_scroll", "ui_view", "ui_upload",
                 "sl_fields", "bulma_form", "crud"):  # fmt: skip
        assert listed.get(f"{name}.py") == ("App",), (name, listed)


async def test_an_app_built_on_a_widget_kits_class_opens_from_the_list(tmp_path, asgi_client):
    (tmp_path / "kit.py").write_text("import htagui.basics as ui\n\nclass App(ui.App):\n    def init(self):\n"
                                     "        self += ui.Button('kit button')\n")  # fmt: skip
    client = asgi_client(dev_app(tmp_path), HERE)
    listed = (await client.get("/")).text
    assert 'href="/apps/kit.py:App"' in listed and "kit.py : App" in listed
    r = await client.get("/apps/kit.py:App")
    assert r.status_code == 200 and "kit button" in r.text
