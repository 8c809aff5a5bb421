"""The documentation says what the code does: the README's option tables are the settings,
its code snippets run, the state model and the wire are as described, and examples/state.py
shows the user what it claims to."""

import ast
import dataclasses
import importlib.util
import inspect
import json
import re
import sys
import types

import httpx
import pytest
from htag import Tag, expose
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import htag_sse
from harness.processes import ROOT
from htag_sse import HtagSSE, MemoryStore
from htag_sse.settings import ENVIRONMENT, OPTIONS, ROUTE_OPTIONS, Settings
from htag_sse.testing.boot import pulls
from htag_sse.wire import HEARTBEAT, sse_event, sse_gone, sse_hello

from ..support.rawtab import RawTab, text_of

README = (ROOT / "README.md").read_text()
#: The docs this test keeps honest (the others have their own owners and tests).
DOCS = ["README.md"] + [
    f"docs/{n}.md" for n in ("protocol", "architecture", "security", "deploy", "transport", "workers")
]
GITHUB = "https://github.com/htag-sse/htag-sse/blob/main/"


def section(text: str, heading: str) -> str:
    """The text under a ``## heading``, up to the next one."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else None]


def table_after(text: str, marker: str = "") -> list[list[str]]:
    """The rows (cells stripped) of the first Markdown table after ``marker``, header and rule left out."""
    lines = text[text.index(marker) :].splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[first + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def names_in(cell: str) -> list[str]:
    return re.findall(r"`([a-z_]+)`", cell)


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.DOTALL)


# ---------------------------------------------------------------- the README's tables


def test_the_options_table_lists_every_option_with_its_default():
    rows = table_after(section(README, "Options"))
    documented = {names_in(name)[0]: (default, meaning) for name, default, meaning in rows}
    assert set(documented) == set(OPTIONS), "README's options table != htag_sse.settings.OPTIONS"
    settings = Settings()
    defaults = {f.name: getattr(settings, f.name) for f in dataclasses.fields(Settings) if f.name != "route"}
    defaults.update({f.name: getattr(settings.route, f.name) for f in dataclasses.fields(settings.route)})
    defaults["http_only"] = False
    for name, (default, meaning) in documented.items():
        literal = re.match(r"`([^`]+)`", default)
        assert literal, f"{name}: the default column must start with a `literal`"
        assert ast.literal_eval(literal.group(1)) == defaults[name], f"{name}: README says {default}"
        assert meaning.startswith("route.") == (name in ROUTE_OPTIONS), f"{name}: 'route.' marks the per-route options"
    for name, variable in ENVIRONMENT.items():
        assert variable in documented[name][1], f"{name}: its environment variable {variable} is not named"


def test_the_other_arguments_table_is_the_constructor():
    rows = table_after(section(README, "Options"), "Other arguments of")
    documented = {name for row in rows for name in names_in(row[0])}
    parameters = inspect.signature(HtagSSE.__init__).parameters.values()
    expected = {p.name for p in parameters if p.kind != p.VAR_KEYWORD and p.name != "self"}
    assert documented == expected


def test_the_architecture_names_every_public_name():
    rows = table_after(section((ROOT / "docs/architecture.md").read_text(), "The public surface"))
    assert {name for row in rows for name in re.findall(r"`(\w+)`", row[0])} == set(htag_sse.__all__)


def anchors(path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    headings = re.findall(r"^#+ (.+)$", path.read_text(), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_links_between_the_docs_reach_files_and_headings_that_exist():
    for doc in DOCS:
        here = (ROOT / doc).parent
        text = (ROOT / doc).read_text()
        links = [(ROOT / t, a) for t, a in re.findall(re.escape(GITHUB) + r"([^)#\s]+)#?([^)\s]*)\)", text)]
        links += [(here / t, a) for t, a in re.findall(r"\]\(([\w./-]+\.md)#?([^)\s]*)\)", text)]
        links += [(ROOT / doc, a) for a in re.findall(r"\]\(#([^)\s]+)\)", text)]
        for target, anchor in links:
            assert target.exists(), f"{doc} links to {target}, which does not exist"
            assert not anchor or anchor in anchors(target), f"{doc} links to #{anchor}, not a heading of {target.name}"


def test_every_python_snippet_of_the_docs_is_valid_python():
    for doc in DOCS:
        for block in python_blocks((ROOT / doc).read_text()):
            compile(block, doc, "exec")


# ---------------------------------------------------------------- the snippets run


@pytest.fixture
async def snippets(monkeypatch, tmp_path):
    """``snippets(doc)``: the Python blocks of a doc, each run as a module of its own (``run()`` is not
    reached: ``__name__`` is not ``"__main__"``), by block text. Their apps are stopped afterwards."""
    monkeypatch.setenv("HTAG_SSE_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("GOOGLE_CLIENT_ID", "id")
    monkeypatch.setenv("GOOGLE_CLIENT_SECRET", "secret")
    modules: list[types.ModuleType] = []

    def run(doc: str) -> dict[str, types.ModuleType]:
        found = {}
        for i, block in enumerate(python_blocks((ROOT / doc).read_text())):
            if "pythonjsonlogger" in block:  # a logging configuration for a package the tests do not install
                continue
            module = types.ModuleType(f"doc_{doc.replace('/', '_').removesuffix('.md')}_{i}")
            monkeypatch.setitem(sys.modules, module.__name__, module)
            exec(compile(block, f"{doc} block {i}", "exec"), module.__dict__)  # noqa: S102 - the docs' own code
            found[block] = module
            modules.append(module)
        return found

    yield run
    for module in modules:
        for value in list(vars(module).values()):
            if isinstance(value, HtagSSE):
                await value.stop()


def snippet(found, text):
    return next(module for block, module in found.items() if text in block)


def test_every_readme_snippet_builds_an_app(snippets):
    for block, module in snippets("README.md").items():
        if "HtagTestClient" in block:  # a test, run below
            continue
        assert isinstance(module.app, Starlette), f"this README block does not define an app:\n{block}"


async def test_the_readme_mounted_app_shares_its_session_with_the_outer_routes(snippets, asgi_client):
    client = asgi_client(snippet(snippets("README.md"), "htag.session_middleware").app)
    assert "visit 1" in (await client.get("/app/")).text
    assert (await client.get("/api/me")).json() == {"visits": 1}


def test_the_readme_testing_example_passes_on_a_counter():
    from ..support.apps import Counter

    block = next(b for b in python_blocks((ROOT / "README.md").read_text()) if "HtagTestClient" in b)
    scope = {"App": Counter}
    exec(compile(block, "README testing block", "exec"), scope)  # noqa: S102 - the README's own code
    scope["test_a_click_counts"]()  # a plain test function


async def test_the_readme_hello_world_serves_its_page(snippets, asgi_client):
    r = await asgi_client(snippet(snippets("README.md"), '"hello world"').app).get("/")
    assert r.status_code == 200 and "hello world" in r.text


async def test_the_readme_state_snippet_shares_a_session_key_with_a_route(snippets, asgi_client):
    client = asgi_client(snippet(snippets("README.md"), 'Route("/count", count)').app)
    tab = await RawTab.open(client)
    inc = next(iter(tab.calls.values()))
    await tab.post(inc)
    assert text_of((await tab.post(inc)).json()) == "2"
    assert (await client.get("/count")).json() == {"count": 2}


async def test_the_readme_several_apps_snippet_serves_both_with_their_options(snippets, asgi_client):
    client = asgi_client(snippet(snippets("README.md"), 'Route("/hello", hello)').app)
    hello = await RawTab.open(client, "/hello?name=Bob")
    assert "Hello Bob" in hello.html and hello.config["transport"] == "none"
    counter = await RawTab.open(client, "/counter")
    assert text_of((await counter.post(next(iter(counter.calls.values())))).json()) == "1"


async def test_the_readme_oauth_snippet_sends_strangers_to_the_login(snippets, asgi_client):
    r = await asgi_client(snippet(snippets("README.md"), "OAuthLogin(").app).get("/")
    assert r.status_code == 303 and r.headers["location"].endswith("/login")


async def test_the_protocol_state_snippet_shares_a_session_key_with_a_route(snippets, asgi_client):
    client = asgi_client(snippet(snippets("docs/protocol.md"), "/visits").app)
    tab = await RawTab.open(client)
    await tab.post(next(iter(tab.calls.values())))
    assert (await client.get("/visits")).json() == {"visits": 1}


async def test_the_security_csp_snippet_sends_its_policy(snippets, asgi_client):
    r = await asgi_client(snippet(snippets("docs/security.md"), "Content-Security-Policy").app).get("/")
    assert "script-src 'self' 'unsafe-inline' 'unsafe-eval'" in r.headers["content-security-policy"]


async def test_the_deploy_snippets_run(snippets, asgi_client):
    found = snippets("docs/deploy.md")
    assert isinstance(snippet(found, "workers=4").app, HtagSSE)
    worker = snippet(found, "PrefixedWorker").PrefixedWorker
    assert worker.CONFIG_KWARGS["root_path"] == "/app" and worker.CONFIG_KWARGS["loop"] == "auto"
    mounted = snippet(found, 'Mount("/app", htag)')
    client = asgi_client(mounted.app)
    page = await RawTab.open(client, "/app/")
    assert page.config["base"] == "/app/_htag" and "hello" in page.html
    assert (await client.get(re.search(r'src="([^"]*htag-sse\.js[^"]*)"', page.html).group(1))).status_code == 200
    async with mounted.app.router.lifespan_context(mounted.app):
        pass
    assert mounted.htag.shutdown.stopping  # the outer app's lifespan stopped the mounted one


async def test_behind_a_path_prefix_pages_name_their_files_under_root_path(asgi_client):
    app = HtagSSE(Echo, session_store=MemoryStore())
    prefixed = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, root_path="/app"), base_url="http://t")
    async with prefixed:
        page = await RawTab.open(prefixed, "/app/")
        assert page.config["base"] == "/app/_htag"
        script = re.search(r'src="([^"]*htag-sse\.js[^"]*)"', page.html).group(1)
        assert script.startswith("/app/_htag/static/") and (await prefixed.get(script)).status_code == 200
    bare = await RawTab.open(asgi_client(app))
    assert "give the server that prefix as root_path (see docs/deploy.md)" in bare.html  # the console says so


# ---------------------------------------------------------------- the state model, as documented


class Widget(Tag.span):
    def init(self):
        self.state["mine"] = 1  # a non-root tag: its own dict, not the session


class Root(Tag.div):
    def init(self):
        self.state["root"] = 1
        self.widget = Widget()
        self += self.widget

    @expose
    def store(self, value):
        self.widget.state["mine"] = 2
        self.root.state["via_root"] = value
        self.session["plain"] = value


async def dump(request: Request):
    return JSONResponse(dict(request.session))


async def test_session_state_and_root_state_are_what_the_readme_says(asgi_client):
    app = HtagSSE(Root, session_store=MemoryStore(), routes=[Route("/dump", dump)])
    client = asgi_client(app)
    tab = await RawTab.open(client)
    assert (await tab.call("store", "x")).status_code == 200
    assert (await client.get("/dump")).json() == {
        f"{__name__}.Root": {"root": 1, "via_root": "x"},  # tag.state of the root = tag.root.state
        "plain": "x",  # tag.session is request.session
    }
    (page,) = app.pages
    assert page.root.session is page.session and page.root.widget.state["mine"] == 2


class Leaving(Tag.div):
    def init(self):
        self += Tag.button("quit", _onclick=self.quit, _class="quit")

    def quit(self, ev):
        self.exit()
        self.add("still here")


async def test_exit_does_nothing_on_the_web(asgi_client, capsys):
    tab = await RawTab.open(asgi_client(HtagSSE(Leaving, session_store=MemoryStore())))
    actions = await tab.click("quit")
    assert "err" not in actions and "still here" in text_of(actions)
    assert "DOES NOTHING" in capsys.readouterr().out  # htag's own exit(): a line on the server


# ---------------------------------------------------------------- examples/state.py


@pytest.fixture
def state_example(monkeypatch, tmp_path):
    monkeypatch.setenv("HTAG_SSE_DIR", str(tmp_path / "sessions"))
    spec = importlib.util.spec_from_file_location("docs_example_state", ROOT / "examples" / "state.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module.app


def element(html: str, cls: str) -> re.Match[str]:
    found = re.search(rf'<(\w+)[^>]*class="{cls}"[^>]*id="(\d+)"[^>]*>(.*?)</\1>', html, re.DOTALL)
    assert found, f"no element of class {cls}"
    return found


async def test_the_state_example_counts_into_the_list_not_into_the_button(state_example, asgi_client):
    client = asgi_client(state_example)
    tab = await RawTab.open(client)
    items, button = element(tab.html, "items").group(2), element(tab.html, "count").group(2)
    actions = await tab.click("count")
    steps = 1
    while "next" in actions:  # what the browser does with "next": pull the generator's next step
        assert set(actions["update"]) == {items} and "stream" not in actions
        (pull,) = pulls(actions["next"])
        r = await tab.post(pull)
        assert r.status_code == 200, r.text
        actions, steps = r.json(), steps + 1
    assert steps == 6  # five items, then the generator ends
    r = await client.get(tab.url("poll?after=999999"))  # a client "behind": the whole body as it is now
    ((_, refresh),) = r.json()["events"]
    listed = element(refresh["body"], "items").group(3)
    assert re.findall(r"<li[^>]*>(\d)</li>", listed) == ["1", "2", "3", "4", "5"]
    assert element(refresh["body"], "count").group(2) == button
    assert element(refresh["body"], "count").group(3) == "count to 5"


async def test_the_state_example_shares_the_name_with_its_route(state_example, asgi_client):
    client = asgi_client(state_example)
    tab = await RawTab.open(client)
    assert "Hello Ann" in (await tab.post({**tab.calls["name"], "args": ["Ann"]})).text
    assert (await client.get("/name")).json() == {"name": "Ann"}
    assert "Hello Ann" in (await RawTab.open(client)).html  # a new tab: from the session


# ---------------------------------------------------------------- the wire, as docs/protocol.md shows it


def test_sse_frames_are_as_documented():
    assert sse_event(5, '{"update":{}}') == b'id: 5\r\ndata: {"update":{}}\r\n\r\n'
    assert sse_event(5, "{}", event="3fa2c1.kq0") == b"id: 5\r\nevent: 3fa2c1.kq0\r\ndata: {}\r\n\r\n"
    assert sse_hello(4, 2000, 3) == b":    \r\n\r\nid: 4\r\nevent: hello\r\ndata: {}\r\nretry: 2000\r\n\r\n"
    assert sse_gone("p1") == b'id: 0\r\nevent: gone\r\ndata: {"page":"p1"}\r\n\r\n'
    assert HEARTBEAT == b": \r\n\r\n"


class Echo(Tag.div):
    def init(self):
        self.out = Tag.span("", _class="out")
        self += self.out

    @expose
    def say(self, text):
        self.out.clear(text)


async def test_which_refusals_use_up_their_number(asgi_client):
    app = HtagSSE(Echo, session_store=MemoryStore(), max_body_bytes=1024, max_interaction_bytes=2048)
    tab = await RawTab.open(asgi_client(app))

    def say(text):
        return {"id": tab.root_id, "method": "say", "args": [text], "kargs": {}, "event": {}}

    async def post(seq, body=None, raw=None, **headers):
        return await tab.post(body, raw=raw, headers={"X-Htag-Seq": str(seq), **headers})

    # refused before the page and its token are checked: the number stays free
    assert (await post(1, say("a"), **{"X-Htag-Token": "wrong"})).status_code == 403
    assert (await post("x", say("a"))).json()["error"] == "bad_seq"
    assert (await post(1, say("a"))).status_code == 200
    # refused after: the number is used up (the same POST again gets the same answer)
    assert (await post(2, raw=b"{not json")).json()["error"] == "bad_interaction"
    assert (await post(2, say("b"))).json()["error"] == "bad_interaction"
    too_large = await post(3, say("c" * 4000))
    assert too_large.status_code == 413 and "max_interaction_bytes" in too_large.json()["message"]
    assert (await post(3, say("c"))).status_code == 413
    assert (await post(5, say("d"))).status_code == 409  # 4 comes first
    # a batch: one entry per interaction, a refusal in place of its own
    r = await post(4, [say("e"), {**say("f"), "id": 1}, {**say("g"), "method": "exit"}, say("h")])
    first, unknown, forbidden, last = r.json()
    assert r.status_code == 200 and text_of(first) == "e" and text_of(last) == "h"
    assert unknown == {"error": "unknown_id", "message": unknown["message"], "status": 404}
    assert forbidden["error"] == "forbidden_method" and forbidden["status"] == 403
    assert text_of((await post(8, say("i"))).json()) == "i"


async def test_the_boot_call_is_as_documented(asgi_client):
    documented = json.loads(re.search(r"htagSSE\((\{.*?\})\);", (ROOT / "docs/protocol.md").read_text(), re.DOTALL)[1])
    tab = await RawTab.open(asgi_client(HtagSSE(Echo, session_store=MemoryStore())))
    assert set(tab.config) == set(documented)
    assert {k: v for k, v in tab.config.items() if k not in ("page", "token")} == {
        k: v for k, v in documented.items() if k not in ("page", "token")
    }
