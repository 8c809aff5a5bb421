from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def worker_pids(parent: int) -> set[int]:
    """The worker processes right under ``parent`` (from /proc: the tests run on Linux), not
    multiprocessing's resource tracker."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                tracker = b"resource_tracker" in f.read()
        except (OSError, IndexError):
            continue
        if ppid == parent and not tracker:
            found.add(int(entry))
    return found


def child_env(**extra: str) -> dict[str, str]:
    """A minimal environment for a child process (what a user's shell would give), plus coverage's
    variables so that a measured test run measures the child too."""
    measured = {k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")}
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **measured, **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout_s: float = 10.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it is truthy; fail the test past ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


async def eventually(predicate: Callable[[], Any], timeout_s: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.01)


class Server:
    """A real server in a subprocess, on a free loopback port."""

    def __init__(self, argv: list[str], port: int, env: dict[str, str], cwd: Path = ROOT) -> None:
        self.argv, self.port, self.env, self.cwd = argv, port, env, cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = b""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 20.0) -> Server:
        self.proc = subprocess.Popen(  # its own process group: killing it leaves no orphan worker
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def up() -> bool:
            assert self.proc and self.proc.poll() is None, f"server died: {self.output()}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False

        try:
            wait_until(up, timeout_s, f"server on port {self.port}")
        except BaseException:
            self.kill()  # no process left behind by a server that did not come up
            raise
        return self

    def stop(self, sig: int = 15, timeout_s: float = 15.0) -> float:
        """Send ``sig``; return how long the server took to exit."""
        assert self.proc is not None
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f"server did not stop within {timeout_s} s: {self.output()}")
        took = time.monotonic() - t0
        self.kill()
        return took

    def kill(self) -> None:
        """SIGKILL the server's whole process group (workers included)."""
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.output()  # read what is left, then close the pipe
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def output(self) -> str:
        out = self.proc.stdout if self.proc else None
        if out is not None and not out.closed and self.proc is not None and self.proc.poll() is not None:
            data = out.read() or b""
            self.log += data.encode() if isinstance(data, str) else data
        return self.log.decode(errors="replace")[-4000:]


@pytest.fixture
def session_dir(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


@pytest.fixture
def serve(session_dir: Path) -> Iterator[Callable[..., Server]]:
    """Start servers: ``serve("counter")`` runs ``hypercorn tests.serve:app`` serving tests.apps.Counter."""
    started: list[Server] = []

    def start(
        app: str = "counter",
        *,
        argv: list[str] | None = None,
        port: int | None = None,
        options: str = "{}",
        env: dict[str, str] | None = None,
        loop: str = "asyncio",
    ) -> Server:
        port = port or free_port()
        full_env = {
            **os.environ,
            "HTAG_SSE_DIR": str(session_dir),
            "HTAG_SSE_TEST_OPTIONS": options,
            "PYTHONPATH": str(ROOT),
            "HTAG_SSE_TEST_APP": app,
            **(env or {}),
        }
        cmd = argv or [sys.executable, "-m", "hypercorn", "tests.serve:app", "--bind", f"127.0.0.1:{port}"]
        if loop != "asyncio":  # app.run(loop=...) rather than hypercorn's own choice of loop
            cmd = [sys.executable, "-c", f"from tests.serve import app; app.run(port={port}, loop={loop!r})"]
        server = Server([a.replace("{port}", str(port)) for a in cmd], port, full_env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


@pytest.fixture
async def asgi_client() -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """``client(app)``: an httpx client talking to an ASGI app in-process."""
    clients: list[httpx.AsyncClient] = []
    apps: list[Any] = []

    def make(app: Any, base_url: str = "http://testserver") -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)
        clients.append(c)
        if app not in apps:
            apps.append(app)
        return c

    yield make
    for c in clients:
        await c.aclose()
    for app in apps:  # what a server's shutdown does: pages, streams, leases and bus closed
        stop = getattr(app, "stop", None)
        if stop is not None:
            await stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    """Playwright, module-scoped: its sync API keeps an event loop running in
    this thread, which async tests of other modules must not meet."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/install-system-deps")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def chromium(playwright: Any) -> Iterator[Any]:
    """A headless Chromium (Debian's), driven by Playwright."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def chromium_with_proxy(playwright: Any) -> Iterator[Callable[[str], Any]]:
    """``open(proxy_url)``: a page of a Chromium whose every request, loopback
    included, goes through the HTTP proxy at ``proxy_url``."""
    browsers: list[Any] = []

    def open_page(proxy: str) -> Any:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, f"--proxy-server={proxy}", "--proxy-bypass-list=<-loopback>"],
        )
        browsers.append(browser)
        page = browser.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_page
    for b in browsers:
        b.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
