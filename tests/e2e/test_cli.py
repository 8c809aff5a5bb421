"""``python -m htag_sse``: naming apps, the app list, errors, --reload (broken code, stopping), --port,
--workers, the logs."""

from __future__ import annotations

import html
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from harness.processes import Server, child_env, free_port, wait_until

from ..support.faults import connect_while_paused

pytestmark = pytest.mark.server

COUNTER = """
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
"""


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
    env = child_env()
    return subprocess.run([sys.executable, "-m", "htag_sse", *args], cwd=project, capture_output=True, text=True,
                          check=False, timeout=timeout_s, env=env)  # fmt: skip


def start(project: Path, *args: str, port: int | None = None) -> Server:
    port = free_port() if port is None else port
    argv = [sys.executable, "-m", "htag_sse", *args, "--port", str(port)]
    return Server(argv, port, child_env(), cwd=project).start()


@pytest.fixture
def servers():
    started: list[Server] = []
    yield started
    for s in started:
        s.kill()


class Console:
    """A server's console, read by a thread as it comes (``Server.output()`` reads it after exit only)."""

    def __init__(self, server: Server) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(server.proc.stdout,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        try:
            for raw in stream:
                self.lines.append(raw.decode(errors="replace"))
        except (ValueError, OSError):  # closed by Server.kill()
            pass

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def shows(self, text: str, timeout_s: float = 20) -> str:
        return wait_until(lambda: text in self.text and self.text, timeout_s, f"{text!r} on the console")

    def all(self, timeout_s: float = 15) -> str:
        """Everything, once the server has exited."""
        self.thread.join(timeout_s)
        return self.text


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
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            env=child_env())  # fmt: skip
    line = proc.stdout.readline().decode()
    port = int(re.search(r"at http://127\.0\.0\.1:(\d+) ", line).group(1))
    server = Server([], port, {})
    server.proc = proc
    servers.append(server)
    assert port != 0 and "main app" in httpx.get(f"http://127.0.0.1:{port}/").text


def test_open_opens_the_url_in_a_browser(project, servers, tmp_path):
    opener = tmp_path / "browser.sh"
    opener.write_text(f'#!/bin/sh\necho "$1" > {tmp_path / "opened"}\n')
    opener.chmod(0o755)
    port = free_port()
    argv = [sys.executable, "-m", "htag_sse", "main:App", "--port", str(port), "--open"]
    env = child_env(BROWSER=str(opener))  # webbrowser obeys $BROWSER
    servers.append(Server(argv, port, env, cwd=project).start())
    wait_until(lambda: (tmp_path / "opened").exists(), 10, "the browser command")
    assert (tmp_path / "opened").read_text().strip() == f"http://127.0.0.1:{port}"


def test_help_lists_every_option_with_its_default(project):
    text = cli(project, "--help").stdout
    for option in ("--host", "--port", "--workers", "--reload", "--open", "--certfile", "--keyfile", "--session-dir",
                   "--parano", "--debug", "--log-level", "--loop", "--server"):  # fmt: skip
        assert option in text
    text = " ".join(text.split())
    assert "else 8000)" in text and "else 127.0.0.1)" in text and "(default: None)" not in text


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
    console = Console(server)
    page = browser_page
    page.goto(server.url)
    page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '1'")
    (project / "main.py").write_text(COUNTER.format(name="App", title="edited app"))
    page.wait_for_function("document.querySelector('.title').textContent === 'edited app'", timeout=20_000)
    assert page.inner_text(".count") == "1"  # the state, from the session
    page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '2'")
    console.shows("htag_sse: main.py changed: reloading")


def test_help_lists_the_access_log_switch(project):
    text = " ".join(cli(project, "--help").stdout.split())
    assert "--access-log, --no-access-log" in text and "(every click is one) (default: False)" in text


BROKEN = "from htag import Tag\n\nclass App(Tag.div:  # <b>unclosed</b>\n    pass\n"
RAISES = "from htag import Tag\n\nsettings = load_settings()\n\nclass App(Tag.div):\n    pass\n"


@pytest.mark.browser
def test_reload_a_broken_edit_is_shown_once_the_open_page_keeps_working_and_a_fix_recovers(project, servers,
                                                                                          browser_page):  # fmt: skip
    servers.append(server := start(project, "main:App", "--reload"))
    console = Console(server)
    page = browser_page
    page.goto(server.url)
    page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '1'")
    (project / "main.py").write_text(BROKEN)
    text = console.shows("SyntaxError")
    assert f'File "{project / "main.py"}", line 3' in text and "class App(Tag.div:  # <b>unclosed</b>" in text
    assert "Traceback" not in text and "htag_sse/" not in text
    error = httpx.get(server.url)  # a page load gets the error, escaped
    assert error.status_code == 500 and "SyntaxError" in error.text
    assert "# &lt;b&gt;unclosed&lt;/b&gt;" in error.text and "<b>unclosed" not in error.text
    page.click("button.inc")  # the open page still runs the last good code
    page.wait_for_function("document.querySelector('.count').textContent === '2'")
    (project / "main.py").write_text(COUNTER.format(name="App", title="fixed app"))
    page.wait_for_function("document.querySelector('.title').textContent === 'fixed app'", timeout=20_000)
    assert page.inner_text(".count") == "2"
    assert "fixed app" in httpx.get(server.url).text
    console.shows("htag_sse: the app loads again")
    assert console.text.count("SyntaxError") == 1


@pytest.mark.parametrize("spec, file, source, shown", [
    ("main:App", "main.py", RAISES, "NameError: name 'load_settings' is not defined"),
    (None, "index.py", BROKEN, "SyntaxError: "),
])  # fmt: skip
def test_reload_serves_the_error_page_until_a_never_good_app_is_fixed(project, servers, spec, file, source, shown):
    (project / file).write_text(source)
    servers.append(server := start(project, *([spec] if spec else []), "--reload"))
    console = Console(server)
    text = console.shows(shown)
    assert f'File "{project / file}", line 3' in text and "Traceback" not in text and "htag_sse/" not in text
    for path in ("/", "/anything"):
        error = httpx.get(server.url + path)
        assert error.status_code == 500 and html.escape(shown) in error.text and "apps" not in error.text.lower()
    (project / file).write_text(COUNTER.format(name="App", title="now it loads"))
    wait_until(lambda: "now it loads" in httpx.get(server.url).text, 20, "the fixed app")
    assert console.text.count(shown) == 1


def test_reload_ctrl_c_stops_quietly_with_status_0(project, servers):
    servers.append(server := start(project, "main:App", "--reload"))
    assert httpx.get(server.url).status_code == 200
    os.killpg(server.proc.pid, signal.SIGINT)  # as a terminal does: to the parent and its child
    assert server.proc.wait(20) == 0
    out = server.output()
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out


def test_reload_sigterm_to_the_parent_stops_the_child_too(project, servers):
    servers.append(server := start(project, "main:App", "--reload"))
    assert httpx.get(server.url).status_code == 200
    server.proc.send_signal(signal.SIGTERM)  # the parent only
    assert server.proc.wait(20) == 0

    def group_gone() -> bool:
        try:
            os.killpg(server.proc.pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_until(group_gone, 15, "every process of the server to exit")
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url)


def test_a_port_in_use_is_one_clear_line_and_status_2(project):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli(project, "main:App", "--port", str(port))
    assert done.returncode == 2 and "serving" not in done.stdout
    assert done.stderr.strip().splitlines() == [f"htag-sse: port {port} is in use on 127.0.0.1: Address already in use"]


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_workers_below_1_are_refused_before_serving(project, workers):
    done = cli(project, "main:App", "--workers", workers)
    assert done.returncode == 2 and "serving" not in done.stdout
    assert done.stderr.strip() == f"htag-sse: workers must be an integer >= 1, got {workers}"


def run_and_stop(project: Path, *args: str, requests: int = 1) -> tuple[str, int]:
    """Serve, GET / ``requests`` times, stop with SIGTERM: (the console, the parent's pid)."""
    server = start(project, "main:App", *args)
    console = Console(server)
    try:
        for _ in range(requests):
            assert httpx.get(server.url).status_code == 200
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(20) == 0
        return console.all(), server.proc.pid
    finally:
        server.kill()


@pytest.mark.parametrize("args, lines", [((), 0), (("--access-log",), 1)])
def test_the_access_log_is_one_line_per_request_when_turned_on(project, args, lines):
    out, _ = run_and_stop(project, *args)
    assert out.count('"GET / 1.1" 200') == lines, out


def test_worker_processes_log_at_the_level_asked(project):
    out, parent = run_and_stop(project, "--workers", "2", "--log-level", "debug", requests=3)
    pids = {int(m.group(1)) for m in re.finditer(r"\[(\d+)\] DEBUG ", out)}
    assert pids - {parent}, out  # DEBUG lines from the workers
    out, _ = run_and_stop(project, "--workers", "2", "--log-level", "warning", requests=3)
    assert " INFO " not in out and " DEBUG " not in out and '"GET / 1.1" 200' not in out, out


@pytest.mark.redis
def test_redis_serves_one_app_from_several_workers_sharing_a_redis(project, servers):
    from harness.redisserver import RedisServer
    from htag_sse.testing.boot import boot_config, interactions

    redis = RedisServer(port=free_port()).start()
    try:
        port = free_port()
        argv = [sys.executable, "-m", "htag_sse", "main:App", "--redis", f"redis://127.0.0.1:{redis.port}/0",
                "--workers", "2", "--port", str(port), "--debug"]  # fmt: skip
        env = {**child_env(), "HTAG_SSE_SECRET": "cli-redis-secret-0123456789abcdef",
               "HTAG_SSE_DIR": str(project / "sessions")}  # fmt: skip
        servers.append(Server(argv, port, env, cwd=project).start())

        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url) as client, httpx.Client(base_url=url) as other:
            page = client.get("/")  # the page, and a kept-alive connection to its worker
            config = boot_config(page.text)
            call = interactions(page.text)["inc"]
            other.cookies = client.cookies
            owner = {int(page.headers["x-htag-worker"])}
            connect_while_paused(other, f"{config['base']}/health", owner)  # a connection to the other worker
            answers = [(client if n % 2 else other).post(f"{config['base']}/{config['page']}/interact", json=call,
                                   headers={"X-Htag-Token": config["token"], "X-Htag-Seq": str(n)})
                       for n in range(1, 21)]  # fmt: skip
        assert [a.status_code for a in answers] == [200] * 20 and ">20</span>" in answers[-1].text
        assert len({a.headers["x-htag-worker"] for a in answers}) == 2  # both workers answered, through Redis
        assert redis.raw("DBSIZE") != b"0"  # the sessions and pages are in Redis
    finally:
        redis.stop()


def test_redis_without_a_secret_is_one_clear_line(project):
    done = cli(project, "main:App", "--redis", "redis://127.0.0.1:1/0")
    assert done.returncode == 2 and "needs a secret" in done.stderr and "Traceback" not in done.stderr
