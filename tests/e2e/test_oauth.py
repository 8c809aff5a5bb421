"""OAuth2 / OpenID Connect login against a real provider (authlib's server components,
examples/demo_provider.py), in headless Chromium, with examples/oauth.py as it is, on every
topology (one worker, two workers, two hosts on Redis: tests/support/serve_oauth.py serves it).
On several workers the provider's callback reaches another worker than the one that started the
login (authlib's state travels in the session), and the logged-in page's clicks and reload reach
another worker than the page's."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from harness.processes import ROOT, free_port
from harness.topologies import Topology, start
from tests.support.pins import pinned, relayed, reload, worker

pytestmark = [pytest.mark.browser, pytest.mark.server]


@contextlib.contextmanager
def provider(app_url: str) -> Iterator[str]:
    """The demo OpenID provider, for the app at ``app_url``; yields its issuer."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "demo_provider.py"), "--client-id", "htag-app",
         "--client-secret", "s3cret", "--redirect-uri", f"{app_url}/auth"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("OIDC_PROVIDER_READY "), line
        yield line.split()[1]
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture(scope="module")
def oauth(topology_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Topology, str]]:
    """examples/oauth.py on the topology, with a provider of its own: (the topology, the issuer)."""
    port = free_port()
    with provider(f"http://127.0.0.1:{port}") as issuer:
        env = {"OIDC_SERVER_METADATA_URL": f"{issuer}/.well-known/openid-configuration",
               "OIDC_CLIENT_ID": "htag-app", "OIDC_CLIENT_SECRET": "s3cret"}  # fmt: skip
        topology = start(topology_name, tmp_path_factory.mktemp(topology_name), target="tests.support.serve_oauth:app",
                         app="", env=env, port=port, home="/warm")  # fmt: skip
        try:
            yield topology, issuer
        finally:
            topology.stop()


def sign_in(page: Any, issuer: str, wait: bool = True) -> None:
    assert page.url.startswith(issuer), page.url  # the provider's login page
    page.fill("#username", "alice")
    page.fill("#password", "wonderland")
    if wait:
        page.click("#submit")
    else:  # the form leaves, and nothing waits for where it goes
        page.evaluate("() => { setTimeout(() => document.querySelector('#submit').click(), 0) }")


def session_cookie(page: Any) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "htag_sid")


def answered(page: Any) -> dict[str, Any]:
    """The last answer of each path the tab got (kept as they come)."""
    seen: dict[str, Any] = {}
    page.on("response", lambda r: seen.__setitem__(r.url.split("?")[0].split("/", 3)[-1], r))
    return seen


@pytest.mark.feature("OAuth login and logout")
def test_log_in_stay_logged_in_log_out(oauth: tuple[Topology, str], tab: Any) -> None:
    topology, issuer = oauth
    page = tab
    seen = answered(page)
    page.goto(topology.url)  # not logged in: off to the provider
    before = session_cookie(page)
    started = worker(topology, seen["login"])  # it put the login's state in the session
    with pinned(topology, started, r"user \S+ logged in"):  # the callback reaches another worker
        sign_in(page, issuer, wait=False)
    page.wait_for_selector(".hello")
    assert worker(topology, seen["auth"]).pid != started.pid or not topology.several
    assert page.url == topology.url + "/"
    assert page.inner_text(".hello") == "Hello Alice Liddell"
    assert page.inner_text(".email") == "alice@example.test"
    assert session_cookie(page) != before  # a new session id at login
    owner = worker(topology, seen[""])
    page.wait_for_function("window.htagSSEState && htagSSEState().page")
    with relayed(topology, owner, page):
        page.click("button.click")
    page.wait_for_function("document.querySelector('.clicks').textContent === '1'")
    reload(page, topology, owner)  # still logged in, state kept
    assert page.inner_text(".hello") == "Hello Alice Liddell" and page.inner_text(".clicks") == "1"
    page.click("a.logout")
    page.wait_for_url(issuer + "/**")  # logged out: "/" sends to the provider again
    page.goto(topology.url + "/")
    assert page.url.startswith(issuer)


@pytest.mark.feature("OAuth login and logout")
def test_a_forged_state_on_the_callback_is_refused(oauth: tuple[Topology, str], tab: Any) -> None:
    topology, issuer = oauth
    page = tab
    page.goto(topology.url)  # a login is under way: a state is in the session
    assert page.url.startswith(issuer)
    response = page.goto(f"{topology.url}/auth?code=stolen-code&state=forged-state")
    assert response is not None and response.status == 400
    assert "mismatching_state" in page.inner_text("body")
    page.goto(topology.url)
    assert page.url.startswith(issuer)  # nobody got logged in


@pytest.mark.feature("OAuth login and logout", topology="one")
def test_the_demo_mode_logs_in_with_its_own_provider_and_says_it_is_a_demo(serve, browser_page):
    """``python examples/oauth.py --demo``: one process, its own provider (the script's mode)."""
    port = free_port()
    server = serve(argv=[sys.executable, str(ROOT / "examples" / "oauth.py"), "--demo"], port=port,
                   env={"PORT": str(port)})  # fmt: skip
    page = browser_page
    page.goto(server.url)  # off to the demo provider, on another loopback port
    assert page.url.startswith("http://127.0.0.1:") and f":{port}/" not in page.url
    assert "alice" in page.inner_text("body") and "wonderland" in page.inner_text("body")
    sign_in(page, page.url.split("/authorize")[0])
    page.wait_for_selector(".hello")
    assert page.inner_text(".hello") == "Hello Alice Liddell"
    server.proc.terminate()
    server.proc.wait(20)
    banner = server.output()
    assert "DEMO provider at http://127.0.0.1:" in banner and "log in as alice / wonderland" in banner
    assert "Never use it in production" in banner
