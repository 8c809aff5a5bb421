"""Every example serves its page and answers a click (in-process)."""

import importlib.util
import re

import pytest

from ..conftest import ROOT
from ..pageclient import Tab, text_of


def load(name, monkeypatch, tmp_path):
    monkeypatch.setenv("HTAG_SSE_DIR", str(tmp_path / "sessions"))
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


async def test_hello(monkeypatch, tmp_path, asgi_client):
    r = await asgi_client(load("hello", monkeypatch, tmp_path)).get("/")
    assert "hello world" in r.text


async def test_counter_counts_and_keeps_the_count_across_f5(monkeypatch, tmp_path, asgi_client):
    client = asgi_client(load("counter", monkeypatch, tmp_path))
    tab = await Tab.open(client)
    assert text_of(await tab.click("inc")) == "1"
    assert re.search(r'class="count" id="\d+">1<', (await client.get("/")).text)


async def test_clock_pushes_the_time(monkeypatch, tmp_path, asgi_client):
    client = asgi_client(load("clock", monkeypatch, tmp_path))
    tab = await Tab.open(client)
    r = await client.get(tab.url("poll?after=0"))
    assert re.search(r"\d\d:\d\d:\d\d", r.text)


async def test_state_greets_by_name_streams_and_reports_errors(monkeypatch, tmp_path, asgi_client):
    client = asgi_client(load("state", monkeypatch, tmp_path))
    tab = await Tab.open(client)
    call = tab.calls["name"]
    assert call["args"] == ["this.value"]  # the browser sends the input's value
    r = await tab.post({**call, "args": ["Ann"]})
    assert "Hello Ann" in r.text
    assert "Hello Ann" in (await client.get("/")).text  # F5: from the session
    assert "next" in await tab.click("count")
    assert "fails on purpose" in (await tab.click("fail"))["err"]


async def test_multi_serves_several_apps_and_plain_routes(monkeypatch, tmp_path, asgi_client):
    client = asgi_client(load("multi", monkeypatch, tmp_path))
    assert "Home" in (await client.get("/")).text
    tab = await Tab.open(client, "/counter")
    await tab.post(next(iter(tab.calls.values())))
    assert (await client.get("/session")).json()["example_multi.Counter"] == {"n": 1}
    hello = await Tab.open(client, "/hello?name=Bob")
    assert "Hello Bob" in hello.html and hello.config["transport"] == "none"


@pytest.mark.parametrize("name", ["hello", "counter", "clock", "state", "multi"])
def test_every_example_runs_as_a_script(name):
    source = (ROOT / "examples" / f"{name}.py").read_text()
    assert 'if __name__ == "__main__":\n    app.run()' in source and source.startswith('"""')
