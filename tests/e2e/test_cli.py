"""``python -m htag_sse``: naming apps, the app list, errors, --reload, --port 0."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ..conftest import ROOT, Server, free_port, wait_until

pytestmark = pytest.mark.server

COUNTER = '''
from htag import Tag

class {name}(Tag.div):
    def init(self):
        self.value = Tag.span(self.state.get("n", 0), _class="count")
        self += Tag.h1("{title}", _class="title")
        self += self.value
        self += Tag.button("+1", _onclick=self.inc, _class="inc")

    def inc(self, ev):
        self.state["n"] = self.state.get("n", 0) + 1
        self.value.clear(self.state["n"])
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory of user files, as a user would have."""
    (tmp_path / "main.py").write_text(COUNTER.format(name="App", title="main app"))
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "other.py").write_text(COUNTER.format(name="Board", title="tools board"))
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text(COUNTER.format(name="Thing", title="package thing"))
    (tmp_path / "notes.py").write_text("x = 1\n")
    return tmp_path


def cli(project: Path, *args: str, timeout_s: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "htag_sse", *args], cwd=project, capture_output=True, text=True,
                          timeout=timeout_s, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})  # fmt: skip


def start(project: Path, *args: str, port: int | None = None) -> Server:
    port = free_port() if port is None else port
    argv = [sys.executable, "-m", "htag_sse", *args, "--port", str(port)]
    return Server(argv, port, {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, cwd=project).start()


@pytest.fixture
def servers():
    started: list[Server] = []
    yield started
    for s in started:
        s.kill()


@pytest.mark.parametrize("spec, title", [
    ("main:App", "main app"), ("main.py", "main app"), ("tools/other.py:Board", "tools board"),
    ("pkg.mod:Thing", "package thing"),
])  # fmt: skip
def test_each_way_of_naming_an_app(project, servers, spec, title):
    servers.append(server := start(project, spec))
    page = httpx.get(server.url)
    assert page.status_code == 200 and title in page.text


def test_index_py_is_served_by_default(project, servers):
    (project / "index.py").write_text(COUNTER.format(name="App", title="the index"))
    servers.append(server := start(project))
    assert "the index" in httpx.get(server.url).text


@pytest.mark.parametrize("spec, message", [
    ("nope.py", "htag-sse: no such file: "),
    ("main.py:Nope", "has no class 'Nope' (htag classes there: App)"),
    ("nosuchmodule:App", "no module named 'nosuchmodule'"),
    ("notes.py:x", "notes.py:x is not an htag Tag class (it is 'int')"),
    ("broken.py", "syntax error in "),
])  # fmt: skip
def test_clear_one_line_errors(project, spec, message):
    (project / "broken.py").write_text("from htag import Tag\nclass App(Tag.div:\n    pass\n")
    done = cli(project, spec)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    debug = cli(project, spec, "--debug")
    assert "Traceback" in debug.stderr and message in debug.stderr.splitlines()[-1]


def test_port_0_picks_a_free_port_and_says_which(project, servers):
    proc = subprocess.Popen([sys.executable, "-m", "htag_sse", "main:App", "--port", "0"], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})  # fmt: skip
    line = proc.stdout.readline()
    port = int(re.search(r"at http://127\.0\.0\.1:(\d+) ", line).group(1))
    server = Server([], port, {})
    server.proc = proc
    servers.append(server)
    assert port != 0 and "main app" in httpx.get(f"http://127.0.0.1:{port}/").text


def test_open_opens_the_url_in_a_browser(project, servers, tmp_path):
    opener = tmp_path / "browser.sh"
    opener.write_text(f"#!/bin/sh\necho \"$1\" > {tmp_path / 'opened'}\n")
    opener.chmod(0o755)
    port = free_port()
    argv = [sys.executable, "-m", "htag_sse", "main:App", "--port", str(port), "--open"]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "BROWSER": str(opener)}  # webbrowser obeys $BROWSER
    servers.append(Server(argv, port, env, cwd=project).start())
    wait_until(lambda: (tmp_path / "opened").exists(), 10, "the browser command")
    assert (tmp_path / "opened").read_text().strip() == f"http://127.0.0.1:{port}"


def test_help_lists_every_option_with_its_default(project):
    text = cli(project, "--help").stdout
    for option in ("--host", "--port", "--workers", "--reload", "--open", "--certfile", "--keyfile", "--session-dir",
                   "--parano", "--debug", "--log-level", "--loop"):  # fmt: skip
        assert option in text
    assert "(default: 8000)" in text and "(default: 127.0.0.1)" in text


@pytest.mark.browser
def test_the_app_list_shows_the_directorys_apps_and_opens_one(project, servers, browser_page):
    servers.append(server := start(project))
    page = browser_page
    page.goto(server.url)
    links = page.locator("a.app").all_inner_texts()
    assert sorted(links) == ["main.py : App", "pkg/mod.py : Thing", "tools/other.py : Board"]
    page.click("text=tools/other.py : Board")
    page.wait_for_selector(".title")
    assert page.inner_text(".title") == "tools board"
    page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '1'")


@pytest.mark.browser
def test_reload_picks_up_an_edit_and_the_open_page_refreshes_itself(project, servers, browser_page):
    servers.append(server := start(project, "main:App", "--reload"))
    page = browser_page
    page.goto(server.url)
    page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '1'")
    (project / "main.py").write_text(COUNTER.format(name="App", title="edited app"))
    page.wait_for_function("document.querySelector('.title').textContent === 'edited app'", timeout=20_000)
    assert page.inner_text(".count") == "1"  # the state, from the session
    page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '2'")
    server.kill()
    assert "htag-sse: main.py changed: reloading" in server.output()
