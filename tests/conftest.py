"""Fixtures shared by every tier: servers, in-process clients, Chromium. Helpers live in
:mod:`tests.support`; what a test starts is named by its markers (see ``pytest --markers``)."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import marks
from harness.chromium import CHROMIUM, CHROMIUM_ARGS
from harness.processes import ROOT, Server, free_port
from harness.redisserver import RedisCluster, RedisServer

#: ``--feature-table``: the table feature x topology of docs/workers.md, from the tests' feature marks.
pytest_plugins = ["tests.support.featuretable"]

#: Fixtures that start something, and the marker a test using them gets.
STARTS = {
    "serve": "server", "playwright": "browser", "chromium": "browser", "chromium_with_proxy": "browser",
    "browser_page": "browser", "redis_server": "redis", "own_redis_server": "redis", "redis_cluster": "redis",
}  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a fixture starting something is marked with it (``-m`` selects honestly)."""
    for item in items:
        for name in set(getattr(item, "fixturenames", ())) & set(STARTS):
            item.add_marker(STARTS[name])


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    marks.running = frozenset(m.name for m in item.iter_markers())


@pytest.fixture
def session_dir(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


@pytest.fixture
def serve(session_dir: Path) -> Iterator[Callable[..., Server]]:
    """Start servers: ``serve("counter")`` runs ``hypercorn tests.support.serve:app`` serving tests.support.apps.Counter;
    ``loop=`` or ``server=`` (``"granian"``) serve it with ``app.run(...)``."""
    started: list[Server] = []

    def start(
        app: str = "counter",
        *,
        argv: list[str] | None = None,
        port: int | None = None,
        options: str = "{}",
        env: dict[str, str] | None = None,
        loop: str = "asyncio",
        server: str = "hypercorn",
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
        cmd = argv or [sys.executable, "-m", "hypercorn", "tests.support.serve:app", "--bind", f"127.0.0.1:{port}"]
        if loop != "asyncio" or server != "hypercorn":  # app.run(...) rather than hypercorn's own choice of loop
            run = f"app.run(port={port}, loop={loop!r}, server={server!r})"
            cmd = [sys.executable, "-c", f"from tests.support.serve import app; {run}"]
        started.append(Server([a.replace("{port}", str(port)) for a in cmd], port, full_env).start())
        return started[-1]

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

    marks.starting("browser")
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


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """One server for a module's tests (each test uses its own namespace)."""
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture
def own_redis_server() -> Iterator[RedisServer]:
    """A server for one test that kills, stops or pauses it."""
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[RedisCluster]:
    cluster = RedisCluster(masters=3)
    try:
        cluster.start()
    except BaseException:
        cluster.cleanup()
        raise
    yield cluster
    cluster.cleanup()
