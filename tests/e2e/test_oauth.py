"""OAuth2 / OpenID Connect login against a real provider (authlib's server
components, examples/demo_provider.py), in headless Chromium, with examples/oauth.py."""

import subprocess
import sys

import pytest

from harness.processes import ROOT, free_port

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture
def provider():
    """Start the provider for an app on a port chosen now; yields (app port, issuer)."""
    procs = []

    def start(app_port: int) -> str:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "demo_provider.py"), "--client-id", "htag-app",
             "--client-secret", "s3cret", "--redirect-uri", f"http://127.0.0.1:{app_port}/auth"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        procs.append(proc)
        line = proc.stdout.readline()
        assert line.startswith("OIDC_PROVIDER_READY "), line
        return line.split()[1]

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def start_app(serve, provider, workers: int):
    port = free_port()
    issuer = provider(port)
    env = {"OIDC_SERVER_METADATA_URL": f"{issuer}/.well-known/openid-configuration", "OIDC_CLIENT_ID": "htag-app",
           "OIDC_CLIENT_SECRET": "s3cret", "PORT": str(port), "WORKERS": str(workers)}  # fmt: skip
    server = serve(argv=[sys.executable, str(ROOT / "examples" / "oauth.py")], port=port, env=env)
    return server, issuer


def sign_in(page, issuer: str) -> None:
    assert page.url.startswith(issuer), page.url  # the provider's login page
    page.fill("#username", "alice")
    page.fill("#password", "wonderland")
    page.click("#submit")


def session_cookie(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "htag_sid")


@pytest.mark.parametrize("workers", [1, 2])
def test_log_in_stay_logged_in_log_out(serve, provider, browser_page, workers):
    server, issuer = start_app(serve, provider, workers)
    page = browser_page
    page.goto(server.url)  # not logged in: off to the provider
    before = session_cookie(page)
    sign_in(page, issuer)
    page.wait_for_selector(".hello")
    assert page.url == server.url + "/"
    assert page.inner_text(".hello") == "Hello Alice Liddell"
    assert page.inner_text(".email") == "alice@example.test"
    assert session_cookie(page) != before  # a new session id at login
    page.click("button.click")
    page.wait_for_function("document.querySelector('.clicks').textContent === '1'")
    page.reload()  # still logged in, state kept
    assert page.inner_text(".hello") == "Hello Alice Liddell" and page.inner_text(".clicks") == "1"
    page.click("a.logout")
    page.wait_for_url(issuer + "/**")  # logged out: "/" sends to the provider again
    page.goto(server.url + "/")
    assert page.url.startswith(issuer)


def test_a_forged_state_on_the_callback_is_refused(serve, provider, browser_page):
    server, issuer = start_app(serve, provider, 1)
    page = browser_page
    page.goto(server.url)  # a login is under way: a state is in the session
    assert page.url.startswith(issuer)
    response = page.goto(f"{server.url}/auth?code=stolen-code&state=forged-state")
    assert response.status == 400
    assert "mismatching_state" in page.inner_text("body")
    page.goto(server.url)
    assert page.url.startswith(issuer)  # nobody got logged in


def test_the_demo_mode_logs_in_with_its_own_provider_and_says_it_is_a_demo(serve, browser_page):
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
