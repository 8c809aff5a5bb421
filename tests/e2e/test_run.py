"""``python app.py`` with ``app.run()``, as users start their apps: every log line in one format
(htag's own included), an ``init`` error's traceback, INFO at ``log_level="info"``, one line for a
port in use, a bad configuration blamed on the configuration, a store down at start said at start."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import httpx
import pytest

from harness.processes import Server, child_env, free_port, wait_until
from htag_sse.testing.boot import boot_config, interactions

pytestmark = pytest.mark.server

APP = textwrap.dedent("""
    import sys

    from htag import Tag
    from htag_sse import HtagSSE


    class App(Tag.div):
        def init(self, boom=None):
            if boom:
                raise ValueError("init failed on purpose")
            self += Tag.span("x", _id="mine")  # htag warns (its own logger): the id is replaced
            self += Tag.button("fail", _onclick=self.fail, _class="fail")

        def fail(self, ev):
            raise RuntimeError("handler failed on purpose")


    app = HtagSSE(App)

    if __name__ == "__main__":
        app.run(port=int(sys.argv[1]), log_level="info")
""")
#: A log line: time, [pid], level, logger: message.
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[\d+\] (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


class Console:
    """A process's output, read by a thread as it comes."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        try:
            for raw in stream:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
        except (ValueError, OSError):
            pass

    def shows(self, text: str, timeout_s: float = 20) -> None:
        wait_until(lambda: any(text in line for line in self.lines), timeout_s, f"{text!r} in {self.lines}")


def records(lines: list[str]) -> list[list[str]]:
    """The log records: a formatted line, then the lines of its traceback; a line that is neither is an error."""
    out: list[list[str]] = []
    for line in lines:
        if LINE.match(line):
            out.append([line])
        else:
            assert out, f"a line before any log record: {line!r}\n" + "\n".join(lines)
            assert len(out[-1]) > 1 or line == "Traceback (most recent call last):", (
                f"a line that is neither a log record nor a traceback: {line!r}\n" + "\n".join(lines)
            )
            out[-1].append(line)
    return out


def test_every_line_under_app_run_has_one_format(project):
    port = free_port()
    server = Server([sys.executable, "app.py", str(port)], port, child_env(HTAG_SSE_DIR=str(project / "s")),
                    cwd=project).start()  # fmt: skip
    console = Console(server.proc.stdout)
    try:
        with httpx.Client(base_url=server.url) as client:
            page = client.get("/")
            config, calls = boot_config(page.text), interactions(page.text)
            url, headers = f"{config['base']}/{config['page']}/interact", {"X-Htag-Token": config["token"]}
            forbidden = client.post(url, json={**calls["fail"], "method": "nope"}, headers={**headers, "X-Htag-Seq": "1"})
            failed = client.post(url, json=calls["fail"], headers={**headers, "X-Htag-Seq": "2"})
            assert forbidden.status_code == 403 and failed.json()["err"] == "handler failed on purpose"
            assert client.get("/?boom=1").status_code == 500
        console.shows("could not start")
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(20) == 0
        console.thread.join(10)
    finally:
        server.kill()
    found = records(console.lines)
    text = "\n".join(console.lines)
    by_first = {r[0].split(": ", 1)[1]: r for r in found}
    assert any("WARNING htag.tag: " in r[0] for r in found), text  # htag's own warnings too
    assert any("INFO htag_sse: interaction refused: method 'nope'" in r[0] for r in found), text  # INFO shows
    handler = next(r for first, r in by_first.items() if first.startswith("a handler of App failed"))
    init = next(r for first, r in by_first.items() if first.startswith("App could not start"))
    assert " ERROR " in init[0] and init[1] == "Traceback (most recent call last):"  # like a handler's error
    assert 'raise ValueError("init failed on purpose")' in "\n".join(init) and "ERROR" in handler[0]


def test_app_run_on_a_port_in_use_is_one_line_and_status_2(project):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "app.py", str(port)], cwd=project, capture_output=True, text=True,
                              timeout=60, env=child_env(HTAG_SSE_DIR=str(project / "s")), check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [f"htag-sse: port {port} is in use on 127.0.0.1: Address already in use"]


def test_a_guessable_secret_in_the_environment_blames_the_environment_not_the_file(project):
    env = child_env(HTAG_SSE_DIR=str(project / "s"), HTAG_SSE_SECRET="a" * 32)
    cli = subprocess.run([sys.executable, "-m", "htag_sse", "app.py", "--port", "0"], cwd=project,
                         capture_output=True, text=True, timeout=60, env=env, check=False)  # fmt: skip
    assert cli.returncode == 2 and "serving" not in cli.stdout
    (line,) = cli.stderr.strip().splitlines()
    assert line.startswith("htag-sse: HTAG_SSE_SECRET (in the environment) is not random enough"), line
    assert "app.py" not in line  # not "while importing app.py (at <string>, line 28)"
    run = subprocess.run([sys.executable, "app.py", "0"], cwd=project, capture_output=True, text=True, timeout=60,
                         env=env, check=False)  # fmt: skip
    assert run.returncode != 0
    assert run.stderr.strip().splitlines()[-1].endswith("HTAG_SSE_SECRET (in the environment) is not random enough "
                                                       "(about 0 bits of entropy, at least 32 needed: it repeats "
                                                       "characters): use a random one, e.g. python -c 'import "
                                                       "secrets; print(secrets.token_urlsafe(32))'")  # fmt: skip


@pytest.mark.parametrize("how", ["app.run()", "the command line"])
def test_a_store_that_cannot_be_reached_at_start_is_said_at_start(project, how):
    """Redis down when the server starts: said at once in the log (then every page answers 503, and
    the health check the same JSON as when Redis fails later)."""
    port = free_port()
    env = child_env(HTAG_SSE_DIR=str(project / "s"), HTAG_SSE_REDIS=f"redis://127.0.0.1:{free_port()}/0",
                    HTAG_SSE_SECRET="run-tests-secret-0123456789abcdef")  # fmt: skip
    argv = [sys.executable, "app.py", str(port)] if how == "app.run()" else [
        sys.executable, "-m", "htag_sse", "app.py", "--port", str(port)]  # fmt: skip
    server = Server(argv, port, env, cwd=project).start()
    console = Console(server.proc.stdout)
    try:
        console.shows("ERROR htag_sse: the session store cannot be reached at start")
        health = httpx.get(f"{server.url}/_htag/health")
        assert health.status_code == 503 and health.json()["status"] == "error"
        assert health.json()["error"].startswith("store: ")
        assert httpx.get(server.url).status_code == 503
    finally:
        server.kill()


def test_a_plain_404_says_where_htag_sse_answers(project):
    port = free_port()
    server = Server([sys.executable, "app.py", str(port)], port, child_env(HTAG_SSE_DIR=str(project / "s")),
                    cwd=project).start()  # fmt: skip
    try:
        for path in ("/nope", "/_htag/nope"):
            r = httpx.get(server.url + path)
            assert r.status_code == 404 and r.headers["content-type"].startswith("text/plain")
            assert f"nothing at {path}" in r.text and "htag-sse answers its pages' requests under /_htag/" in r.text
    finally:
        server.kill()
