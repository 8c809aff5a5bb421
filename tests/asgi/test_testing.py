"""htag_sse.testing: the test client app authors use. Each story runs a real app in-process and checks
what the client shows against what the server's page holds, and what went over the wire."""

import json
import re
import sys
import types
from urllib.parse import unquote

import pytest
from htag import Tag, expose

from harness.processes import ROOT
from htag_sse import HtagSSE, MemoryStore
from htag_sse.testing import HtagTestClient, HtagTestError, PushTimeout

from ..support.apps import APPS, Clock, Counter, Stream, Tally, Vault


class Form(Tag.div):
    """Fields whose handlers read what the user typed as htag apps do (``b"this.value"``)."""

    def init(self):
        self.out = Tag.pre("", _class="out")
        self += Tag.input(_class="name", _onchange=self.bind.show("name", b"this.value"))
        self += Tag.input(_class="live", _oninput=self.bind.show("live", b"this.value"))
        self += Tag.select([Tag.option("A", _value="a"), Tag.option("B", _value="b")], _class="pick",
                           _onchange=self.bind.show("pick", b"this.value"))  # fmt: skip
        self += Tag.input(_type="checkbox", _class="ok", _onchange=self.bind.show("ok", b"this.checked"))
        self += Tag.textarea("", _class="memo", _onchange=self.bind.show("memo", b"this.value"))
        self += Tag.button(Tag.b("bold", _class="inner"), _onclick=self.seen, _class="wrap")
        self += Tag.input(_class="silent", _value="kept")
        self += Tag.button("off", _onclick=self.seen, _class="off", _disabled=True)
        self += self.out

    def show(self, what, value):
        self.out.clear(f"{what}={value!r}")

    def seen(self, ev):
        self.out.clear(f"{ev.type} button={ev.button} ctrl={ev.ctrlKey} value={getattr(ev, 'value', None)}")


class Child(Tag.span):
    @expose
    def ping(self, x):
        self.clear(f"pong {x}")


class Exposing(Tag.div):
    def init(self):
        self.greeting = Tag.p("", _class="greeting")
        self += self.greeting
        self += Child("a", _class="a")
        self += Child("b", _class="b")

    @expose
    def hello(self, name, punct="!"):
        self.greeting.clear(f"Hello {name}{punct}")


class Args(Tag.div):
    """Handlers whose arguments are awkward literals or JS reading other elements."""

    def init(self):
        self.got = Tag.pre("", _class="got")
        self.field = Tag.input(_class="field", _value="from the field")
        awkward = ('a ", ); b', {"k": [1, "]}"]}, None, True, -2.5)
        self += self.field
        self += Tag.button("lit", _onclick=self.bind.take(*awkward, flag="x"), _class="lit")
        field = f"document.getElementById('{id(self.field)}').value".encode()
        self += Tag.button("js", _onclick=self.bind.take(b"this.id", field, b"this.getAttribute('data-x')"),
                           _class="js", **{"_data-x": "dx"})  # fmt: skip
        self += Tag.button("odd", _onclick=self.bind.take(b"window.innerWidth"), _class="odd")
        self += self.got

    def take(self, *args, **kargs):
        self.got.clear(json.dumps([args, kargs]))


def server_page(client, tab):
    return client.app.pages.get(tab.id)


def same_as_server(client, tab):
    """The client's copy of the body is the server's rendering of the live app (htag closes void tags)."""
    return tab.find("body").html == str(server_page(client, tab).root).replace("</input>", "")


def record(client):
    """Every request the client sends, as (method, path, headers, body)."""
    sent = []

    async def hook(request):
        sent.append((request.method, unquote(request.url.raw_path.decode()), request.headers, request.content))

    client.http.event_hooks["request"].append(hook)
    return sent


async def test_a_click_updates_the_page_as_the_server_renders_it():
    async with HtagTestClient(Counter) as client:
        tab = await client.open()
        assert tab.find(".count").text == "0" and same_as_server(client, tab)
        for n in (1, 2, 3):
            actions = await tab.find("button", text="+1").click()
            assert list(actions) == ["update"] and tab.find(".count").text == str(n)
            assert same_as_server(client, tab)
        assert tab.text == "3+1" and tab.last_status == 200 and tab.last_error is None
        assert server_page(client, tab).last_seq == 3
        assert (await client.session())["tests.support.apps.Counter"]["count"] == 3


async def test_it_speaks_the_browser_clients_wire():
    async with HtagTestClient(Counter) as client:
        sent = record(client)
        tab = await client.open("/")
        button = tab.find(".inc")
        await button.click()
        await button.click()
        get, first, second = sent
        assert get[:2] == ("GET", "/")
        assert tab.config["page"] == tab.id and tab.config["base"] == "/_htag"
        for n, (method, path, headers, body) in enumerate((first, second), 1):
            assert (method, path) == ("POST", f"/_htag/{tab.id}/interact")
            assert headers["x-htag-token"] == tab.token and headers["x-htag-seq"] == str(n)
            assert headers["content-type"] == "application/json" and headers["origin"] == "http://testserver"
            sent_call = json.loads(body)
            assert sent_call["method"] == "__on_event__" and sent_call["args"] == [f"onclick-{button.attrs['id']}"]
            assert sent_call["event"]["type"] == "click" and sent_call["event"]["isTrusted"] is True


async def test_a_generator_handler_streams_its_items_as_the_browser_pulls_them():
    async with HtagTestClient(Stream) as client:
        sent = record(client)
        tab = await client.open()
        first = await tab.find(".go").click()
        assert [v.endswith(">item1</li>") for v in first["stream"].values()] == [True] and "next" in first
        assert [li.text for li in tab.find_all(".items li")] == [f"item{i}" for i in range(1, 6)]
        pulls = [json.loads(body) for method, _, _, body in sent if method == "POST"][1:]
        assert len(pulls) == 5 and all(p["method"] is None and p["event"] == {} for p in pulls)
        page = server_page(client, tab)
        assert page.last_seq == 6 and not page.instance.hr._loop  # the generator ran to its end
        assert same_as_server(client, tab)


async def test_an_error_in_a_handler_is_reported_and_can_raise():
    async with HtagTestClient(Stream) as client:
        tab = await client.open()
        assert await tab.find(".fail").click() == {"err": "handler failed on purpose"}
        assert tab.last_error == "PYTHON ERROR: handler failed on purpose" and tab.last_status == 200
        await tab.find(".ok").click()
        assert tab.last_error is None and tab.find(".status").text.startswith("ok ")
        assert tab.errors == ["PYTHON ERROR: handler failed on purpose"]
    async with HtagTestClient(Stream, raise_errors=True) as client:
        tab = await client.open()
        with pytest.raises(HtagTestError, match="PYTHON ERROR: handler failed on purpose"):
            await tab.find(".fail").click()


@pytest.mark.parametrize("push", ["shared", "page"])
async def test_pushes_from_update_are_read_and_applied(push, monkeypatch):
    monkeypatch.setenv("HTAG_SSE_TICK_S", "0.05")
    async with HtagTestClient(Clock, push=push) as client:
        sent = record(client)
        tab = await client.open()
        for n in (1, 2, 3):
            actions = await tab.next_push(timeout=10)
            assert tab.find(".ticks").text == str(n) and tab.wire.last == n
            assert actions == json.loads(server_page(client, tab).log.since(n - 1)[0][1])
        polls = {path for method, path, _, _ in sent if method == "GET" and "poll" in path}
        want = f"/_htag/poll?p={tab.id}:2" if push == "shared" else f"/_htag/{tab.id}/poll?after=2"
        assert want in polls


async def test_a_push_that_never_comes_times_out_clearly():
    async with HtagTestClient(Counter) as client:
        tab = await client.open()
        with pytest.raises(PushTimeout, match=r"no push within 0.2 s .*tag.update\(\)") as caught:
            await tab.next_push(timeout=0.2)
        assert isinstance(caught.value, TimeoutError)
        await tab.find(".inc").click()  # the tab still works
        assert tab.find(".count").text == "1"
    async with HtagTestClient(Counter, transport="none") as client:
        tab = await client.open()
        with pytest.raises(HtagTestError, match="404.*no push channel"):
            await tab.next_push(timeout=2)


async def test_an_update_pushed_by_the_server_reaches_the_tab():
    async with HtagTestClient(Counter) as client:
        tab = await client.open()
        page = server_page(client, tab)
        page.root.plus(4)  # run by the server, outside any click
        assert await page.root.value.update() is True
        await tab.next_push()
        assert tab.find(".count").text == "4" and same_as_server(client, tab)


async def test_exposed_methods_are_called_as_js_would():
    async with HtagTestClient(Counter) as client:
        tab = await client.open()
        await tab.call("plus", 5)
        assert tab.find(".count").text == "5" and server_page(client, tab).root.state["count"] == 5
    async with HtagTestClient(Exposing) as client:
        tab = await client.open()
        await tab.call("hello", "Ann", "?")
        assert tab.find(".greeting").text == "Hello Ann?"
        with pytest.raises(HtagTestError, match=r"2 tags expose it: call it on one"):
            await tab.call("ping", 1)
        await tab.find(".b").call("ping", 7)
        assert tab.find(".b").text == "pong 7" and tab.find(".a").text == "a" and same_as_server(client, tab)
        with pytest.raises(HtagTestError, match=r"exposes no method 'nothing' \(exposed: \['hello', 'ping'\]\)"):
            await tab.call("nothing")


async def test_typing_and_changing_fields_send_what_their_handlers_read():
    async with HtagTestClient(Form) as client:
        tab = await client.open()
        out = tab.find(".out")
        await tab.find(".name").type("Ann")
        assert out.text == "name='Ann'" and tab.find(".name").value == "Ann"
        await tab.find(".live").type("li")
        assert out.text == "live='li'"
        await tab.find(".pick").change("b")
        assert out.text == "pick='b'"
        await tab.find(".ok").change(True)
        assert out.text == "ok=True"
        await tab.find(".ok").click()  # a click unticks it
        assert out.text == "ok=False"
        await tab.find(".memo").type("two\nlines")
        assert out.text == "memo='two\\nlines'" and same_as_server(client, tab)
        assert await tab.find(".silent").type("typed") == {} and tab.find(".silent").value == "typed"
        with pytest.raises(HtagTestError, match="has no option 'c'"):
            await tab.find(".pick").change("c")


async def test_a_click_bubbles_and_carries_the_dom_event_as_jevent_does():
    async with HtagTestClient(Form) as client:
        tab = await client.open()
        await tab.find(".inner").click(ctrlKey=True)  # the <b> inside the button: its handler gets it
        # as in a browser, jevent(event) has no "value": handlers read fields with b"this.value"
        assert tab.find(".out").text == "click button=0 ctrl=True value=None"


async def test_helpful_errors():
    async with HtagTestClient(Form) as client:
        tab = await client.open()
        with pytest.raises(HtagTestError, match=r"no element '#nope' in page .*; it shows:\nA\nB\nboldoff"):
            tab.find("#nope")
        with pytest.raises(HtagTestError, match=r"no element 'button' with the text 'Send'"):
            tab.find("button", text="Send")
        with pytest.raises(HtagTestError, match=r'<pre class="out" id="\d+"> has no onclick .* Elements with one: <button class="wrap" id="\d+"> "bold"'):
            await tab.find(".out").click()
        with pytest.raises(HtagTestError, match="disabled"):
            await tab.find("button.off").click()
        with pytest.raises(HtagTestError, match="not a form field"):
            await tab.find(".out").type("x")
        with pytest.raises(HtagTestError, match="not understood"):
            tab.find("div > p")
        assert server_page(client, tab).last_seq == 0  # nothing was sent


async def test_selectors():
    async with HtagTestClient(Form) as client:
        tab = await client.open()
        assert tab.find("select.pick option[value=b]").text == "B"
        assert tab.find("[type=checkbox]").attrs["class"] == "ok"
        assert tab.find('input[class="silent"]').value == "kept"
        assert [o.text for o in tab.find(".pick").find_all("option")] == ["A", "B"]
        assert tab.find(text="bold").attrs["class"] == "inner" and tab.find(text="bold").html.endswith(">bold</b>")
        assert len(tab.find_all("input")) == 4 and tab.find_all(".missing") == []


async def test_parano_mode_seals_everything_and_still_works():
    async with HtagTestClient(Vault, parano=True, push="page") as client:
        sent = record(client)
        tab = await client.open()
        assert tab.config["parano"] is True
        await tab.find(".open").click()
        assert tab.find(".secret").text == "treasure-7731"
        await tab.next_push(timeout=10)
        assert tab.find(".pushed").text == "whisper-1" and same_as_server(client, tab)
        client.app.pages.drop(server_page(client, tab), "test: the server lost it")
        await tab.find(".inc").click()  # 410, a rerun sealed with the old key, replayed on the new page
        assert tab.find(".count").text == "clicked-1-times" and same_as_server(client, tab)
        posts = [(headers, body) for method, path, headers, body in sent if path.endswith("/interact")]
        assert len(posts) == 3 and all(h["content-type"] == "text/plain" for h, _ in posts)
        assert not any(b"onclick" in body or b"treasure" in body for _, body in posts)


async def test_f5_keeps_the_live_instance_and_its_attributes():
    async with HtagTestClient(Tally) as client:
        sent = record(client)
        tab = await client.open()
        for _ in range(3):
            await tab.find(".inc").click()
        page, pid, token = server_page(client, tab), tab.id, tab.token
        await tab.reload()
        assert tab.id == pid and tab.token != token and server_page(client, tab) is page
        assert tab.find(".count").text == "3" and page.root.n == 3 and same_as_server(client, tab)
        get = [headers for method, path, headers, _ in sent if method == "GET"][-1]  # the reload's
        assert f"htag_reload={pid}~{token}" in get["cookie"]
        assert "htag_reload" not in client.http.cookies
        await tab.find(".inc").click()
        assert tab.find(".count").text == "4" and page.last_seq == 1  # numbering starts again with the new token
        other = await client.open()  # a new tab: a new instance
        assert other.id != tab.id and other.find(".count").text == "0"


async def test_two_tabs_are_two_pages_of_one_session():
    async with HtagTestClient(Counter) as client:
        one, two = await client.open(), await client.open()
        assert one.id != two.id and len(client.app.pages) == 2
        await one.find(".inc").click()
        await two.find(".inc").click()
        assert one.find(".count").text == "1" and two.find(".count").text == "2"  # the count is in the session
        assert server_page(client, one).last_seq == server_page(client, two).last_seq == 1
        assert (await client.session())["tests.support.apps.Counter"]["count"] == 2
        assert same_as_server(client, one) and same_as_server(client, two)


async def test_a_page_the_server_lost_is_rerun_and_the_click_replayed():
    async with HtagTestClient(Counter) as client:
        tab = await client.open()
        button = tab.find(".inc")
        await button.click()
        old = tab.id
        client.app.pages.drop(server_page(client, tab), "test: the server lost it")
        await button.click()  # 410: rerun from the session, the morph keeps the button, the click goes again
        assert tab.id != old and client.app.pages.get(old) is None
        assert tab.find(".count").text == "2" and same_as_server(client, tab)
        assert server_page(client, tab).last_seq == 1 and tab.last_status == 200
        client.app.pages.drop(server_page(client, tab), "test: lost again")
        await client.app.store.delete("p:" + tab.id)  # and its record: the browser loads the page anew
        await button.click()
        assert tab.last_error == "an interaction dropped: its element did not survive the page's rerun"
        assert tab.find(".count").text == "2" and server_page(client, tab) is not None


async def test_a_push_wait_reruns_a_lost_page(monkeypatch):
    monkeypatch.setenv("HTAG_SSE_TICK_S", "0.05")
    async with HtagTestClient(Clock) as client:
        tab = await client.open()
        await tab.next_push(timeout=10)
        old = tab.id
        client.app.pages.drop(server_page(client, tab), "test: the server lost it")
        await tab.next_push(timeout=10)
        assert tab.id != old and tab.find(".ticks").text == "1"  # a new instance, ticking from 0


async def test_a_refused_click_is_reported_and_the_next_one_works():
    async with HtagTestClient(Tally) as client:
        tab = await client.open()
        page = server_page(client, tab)
        page.root.once.remove()  # the server removed it, the tab does not know yet
        assert await tab.find(".once").click() == {}
        assert tab.last_status == 404 and tab.last_error.startswith("HTTP 404: no tag or generator")
        root = int(tab.find("body").attrs["id"])
        await tab.interact({"id": root, "method": "_private", "args": [], "kargs": {}, "event": {}})
        assert tab.last_status == 403 and "not an exposed or bound method" in tab.last_error
        await tab.find(".inc").click()
        assert tab.last_status == 200 and tab.last_error is None and tab.find(".count").text == "1"
        assert page.last_seq == 3 and page.root.n == 1  # refusals used up their numbers, as in the browser


async def test_an_application_of_your_own_on_a_route():
    class Hello(Tag.div):
        def init(self, name="world"):
            self += Tag.span(f"Hello {name}", _class="hello")

    app = HtagSSE(session_store=MemoryStore())

    async def route(request):
        return await app.handle(request, Hello)

    app.add_route("/hello", route)
    async with HtagTestClient(app=app, path="/hello?name=Bob", stop_app=True) as client:
        tab = await client.open()
        assert tab.find(".hello").text == "Hello Bob"
        assert (await client.open("/hello")).text == "Hello world"
    with pytest.raises(HtagTestError, match="give an app class"):
        HtagTestClient(Counter, app=app)


async def test_the_example_of_docs_testing_md_passes(monkeypatch):
    text = (ROOT / "docs" / "testing.md").read_text()
    example = next(block for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL) if "# test_" in block)
    module = types.ModuleType("test_counter")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(example, "docs/testing.md", "exec"), module.__dict__)  # noqa: S102 - our own doc's example
    tests = [f for name, f in vars(module).items() if name.startswith("test_")]
    assert len(tests) == 3
    for test in tests:
        await test()


async def test_handler_arguments_reach_the_app_as_written_and_js_ones_are_evaluated():
    async with HtagTestClient(Args) as client:
        tab = await client.open()
        await tab.find(".lit").click()
        assert json.loads(tab.find(".got").text) == [['a ", ); b', {"k": [1, "]}"]}, None, True, -2.5], {"flag": "x"}]
        await tab.find(".field").type("typed")
        await tab.find(".js").click()
        assert json.loads(tab.find(".got").text) == [[tab.find(".js").attrs["id"], "typed", "dx"], {}]
        with pytest.raises(HtagTestError, match=r"cannot evaluate the JS 'window.innerWidth' \(of <button class=\"odd\""):
            await tab.find(".odd").click()


async def test_a_push_keeps_what_the_user_typed_unless_the_server_changed_that_field(monkeypatch):
    monkeypatch.setenv("HTAG_SSE_TYPING_TICK_S", "0.05")
    async with HtagTestClient(APPS["typing"]) as client:
        tab = await client.open()
        await tab.find("input.typed").type("half a senten")
        await tab.find("textarea.notes").type("a draft")
        await tab.next_push(timeout=10)  # the root re-rendered whole, its fields still empty on the server
        assert tab.find(".label").text.startswith("push ")
        assert tab.find("input.typed").value == "half a senten"
        assert tab.find("textarea.notes").value == "a draft"
    async with HtagTestClient(APPS["todo"]) as client:
        tab = await client.open()
        await tab.find("input.entry").type("milk")
        await tab.next_push(timeout=10)
        assert tab.find("input.entry").value == "milk"
        await tab.find("button.add").click()  # the server empties the field: its value wins
        assert tab.find(".items").text == "milk"
        assert tab.find("input.entry").value == ""
