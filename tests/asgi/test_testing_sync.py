"""htag_sse.testing for plain ``def test_...`` functions (``with HtagTestClient(App) as tab:``), and
time on demand: ``tab.advance(seconds)`` fires an app's timers without waiting for them."""

import asyncio
import time

import pytest
from htag import Tag

from htag_sse.testing import HtagTestClient, HtagTestError, VirtualTimeLoop

from ..support.apps import Counter, Tally


def test_a_plain_test_function_clicks_opens_tabs_and_reloads():
    with HtagTestClient(Tally) as tab:
        tab.find(".inc").click()
        tab.find(".inc").click()
        assert tab.find(".count").text == "2" and tab.last_error is None
        tab.reload()  # F5: the same live instance
        assert tab.find(".count").text == "2"
        other = tab.client.open()  # another tab of the same user: its own page
        assert other.find(".count").text == "0" and other.id != tab.id
    with HtagTestClient(Counter) as tab:
        tab.find("input.note").type("x")
        assert tab.call("plus", 5)["update"] and tab.find(".count").text == "5"
        assert tab.client.session()["tests.support.apps.Counter"] == {"count": 5, "inits": 1}


async def test_the_synchronous_client_says_it_cannot_run_in_an_async_test():
    with pytest.raises(HtagTestError, match="cannot run inside a running event loop"), HtagTestClient(Counter):
        pass


class Clock(Tag.div):
    """A clock that ticks every second, and stops at the hour."""

    def init(self):
        self.seconds = Tag.span("0", _class="seconds")
        self += self.seconds
        asyncio.ensure_future(self.run())

    async def run(self):
        for n in range(1, 3601):
            await asyncio.sleep(1)
            self.seconds.clear(n)
            await self.seconds.update()


def test_an_hour_of_a_clock_passes_at_once():
    started = time.monotonic()
    with HtagTestClient(Clock) as tab:
        tab.advance(2.5)
        tab.next_push(timeout=1)
        tab.next_push(timeout=1)
        assert tab.find(".seconds").text == "2"
        tab.advance(3600)  # every tick fires, each at its own second (none lost, none doubled)
        tab.next_push(timeout=1)  # the client is far behind: one refresh brings the page up to date
        assert tab.find(".seconds").text == "3600"
        assert tab.client.app.pages.get(tab.id).root.seconds.childs == (3600,)
    assert time.monotonic() - started < 3600  # not an hour: what this test is about, with any margin


async def test_advance_says_which_loop_it_needs():
    async with HtagTestClient(Clock) as client:
        tab = await client.open()
        with pytest.raises(HtagTestError, match=r"needs the test to run on htag_sse.testing.VirtualTimeLoop"):
            await tab.advance(1)


def test_an_async_test_can_run_on_the_virtual_time_loop():
    async def scenario():
        async with HtagTestClient(Clock) as client:
            tab = await client.open()
            await tab.advance(3)
            await tab.next_push(timeout=1)
            return tab.find(".seconds").text

    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        assert runner.run(scenario()) == "1"  # three ticks pushed; the first applied


def test_the_test_files_of_docs_testing_md_pass_under_pytest_with_warnings_as_errors(tmp_path):
    """A user copies the page's files and its pyproject.toml lines: they pass, with no warning (pytest-
    asyncio warned that ``asyncio_default_fixture_loop_scope`` was unset)."""
    import re
    import subprocess
    import sys

    from harness.processes import ROOT, child_env

    text = (ROOT / "docs" / "testing.md").read_text()
    files = {m[1]: m[0] for m in re.findall(r"```python\n(# (test_\w+\.py)\n.*?)```", text, re.DOTALL)}
    (toml,) = re.findall(r"```toml\n(.*?)```", text, re.DOTALL)
    assert {"test_counter.py", "test_plain.py", "test_form.py", "test_clock.py"} <= set(files)
    for name, source in files.items():
        (tmp_path / name).write_text(source)
    (tmp_path / "pyproject.toml").write_text(toml)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider"],
                          cwd=tmp_path, env=child_env(), capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0 and "6 passed" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]
