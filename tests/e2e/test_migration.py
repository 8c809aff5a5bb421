"""Migrating from htagweb really is one import: its README's examples run with only the import changed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from harness.processes import Server, child_env, free_port

pytestmark = pytest.mark.server

HELLO = '''
from htag import Tag
class App(Tag.div):
    def init(self):
        self+= "hello world"
from {module} import AppServer
AppServer( App ).run()
'''

GUNICORN_SERVER = '''
from htag import Tag
class App(Tag.div):
    def init(self):
        self+= "hello world"
        self+= Tag.button("click", _onclick=self.clicked, _class="b")
    def clicked(self, o):
        self+= "clicked"
from {module} import AppServer
app=AppServer( App )
'''


def env(tmp_path: Path, port: int) -> dict[str, str]:
    return child_env(PORT=str(port), HTAG_SSE_DIR=str(tmp_path / "s"))


def test_htagwebs_hello_world_runs_with_the_import_changed(tmp_path):
    (tmp_path / "main.py").write_text(HELLO.format(module="htag_sse"))
    port = free_port()
    server = Server([sys.executable, "main.py"], port, env(tmp_path, port), cwd=tmp_path).start()
    try:
        r = httpx.get(f"{server.url}/")
        assert r.status_code == 200 and "hello world" in r.text and "htagSSE(" in r.text
    finally:
        server.stop()


def test_htagwebs_gunicorn_recipe_runs_with_the_import_changed(tmp_path):
    (tmp_path / "server.py").write_text(GUNICORN_SERVER.format(module="htag_sse"))
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "uvicorn.workers.UvicornH11Worker", "-b",
            f"localhost:{port}", "--preload", "server:app"]  # fmt: skip
    server = Server(argv, port, env(tmp_path, port), cwd=tmp_path).start()
    try:
        with httpx.Client(base_url=server.url) as client:

            from htag_sse.testing.boot import boot_config, interactions

            page = client.get("/")
            assert page.status_code == 200 and "hello world" in page.text
            config = boot_config(page.text)
            call = interactions(page.text)["b"]
            r = client.post(f"{config['base']}/{config['page']}/interact", json=call,
                            headers={"X-Htag-Token": config["token"], "X-Htag-Seq": "1"})  # fmt: skip
            assert r.status_code == 200 and "clicked" in r.text
    finally:
        server.stop()


def test_an_app_named_as_htagweb_did_a_module_dot_class_string(tmp_path):
    (tmp_path / "myapp.py").write_text(GUNICORN_SERVER.format(module="htag_sse").replace("app=AppServer( App )", ""))
    code = "from htag_sse import AppServer\napp = AppServer('myapp.App')\nprint(app.routes[-1].name)"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env(tmp_path, 0), capture_output=True, check=False,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "htag_home"
