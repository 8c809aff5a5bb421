"""Every example serves its page and answers a click (in-process)."""

import importlib.util
import re

import pytest

from harness.processes import ROOT
from htag_sse.testing import HtagTestClient

from ..support.rawtab import text_of


def load(name, monkeypatch, tmp_path):
    monkeypatch.setenv("HTAG_SSE_DIR", str(tmp_path / "sessions"))
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def browse(name, monkeypatch, tmp_path):
    """A user's browser on the example's app (stopped at the end, as a server stops it)."""
    return HtagTestClient(app=load(name, monkeypatch, tmp_path), stop_app=True)


async def test_hello(monkeypatch, tmp_path):
    async with browse("hello", monkeypatch, tmp_path) as client:
        tab = await client.open()
        assert tab.text == "hello world"


async def test_counter_counts_and_keeps_the_count_across_f5(monkeypatch, tmp_path):
    async with browse("counter", monkeypatch, tmp_path) as client:
        tab = await client.open()
        assert text_of(await tab.find(".inc").click()) == "1"
        assert re.search(r'class="count" id="\d+">1<', (await client.http.get("/")).text)
        await tab.reload()
        assert tab.find(".count").text == "1"


async def test_clock_pushes_the_time(monkeypatch, tmp_path):
    async with browse("clock", monkeypatch, tmp_path) as client:
        tab = await client.open()
        await tab.next_push(timeout=10)
        assert re.fullmatch(r"\d\d:\d\d:\d\d", tab.find(".clock").text)


async def test_state_greets_by_name_streams_and_reports_errors(monkeypatch, tmp_path):
    async with browse("state", monkeypatch, tmp_path) as client:
        tab = await client.open()
        await tab.find("input.name").type("Ann")  # its handler gets the input's value (this.value)
        assert tab.find(".hello").text == "Hello Ann"
        assert "Hello Ann" in (await client.open()).text  # F5: from the session
        assert "next" in await tab.find("button.count").click()
        assert [li.text for li in tab.find_all(".items li")] == ["1", "2", "3", "4", "5"]
        assert "fails on purpose" in (await tab.find(".fail").click())["err"]


async def test_multi_serves_several_apps_and_plain_routes(monkeypatch, tmp_path):
    async with browse("multi", monkeypatch, tmp_path) as client:
        assert "Home" in (await client.open("/")).text
        tab = await client.open("/counter")
        await tab.find(text="+1").click()
        assert tab.find("span").text == "1"
        assert (await client.http.get("/session")).json()["example_multi.Counter"] == {"n": 1}
        hello = await client.open("/hello?name=Bob")
        assert "Hello Bob" in hello.text and hello.config["transport"] == "none"


@pytest.mark.parametrize("name", ["hello", "counter", "clock", "state", "multi"])
def test_every_example_runs_as_a_script(name):
    source = (ROOT / "examples" / f"{name}.py").read_text()
    assert 'if __name__ == "__main__":\n    app.run()' in source and source.startswith('"""')
