"""HTTP/2: over TLS (ALPN) and cleartext (h2c): page, POSTs and the SSE stream share one connection; on
hypercorn and on Granian."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import httpx
import pytest

from harness.chromium import CHROMIUM, CHROMIUM_ARGS
from htag_sse.testing.boot import interactions

from ..support.apps import APPS

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made here."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))  # fmt: skip
    return folder / "cert.pem", folder / "key.pem"


SERVERS = ["hypercorn", "granian"]


def start(serve, app: str, *tls: str, server: str = "hypercorn"):
    argv = [sys.executable, "-m", "htag_sse", f"tests.support.apps:{APPS[app].__name__}", "--port", "{port}", *tls,
            "--server", server]  # fmt: skip
    return serve(app, argv=argv)


def one_connection_session(client: httpx.Client, base_url: str) -> None:
    """GET the page, hold its stream, click three times meanwhile: all on one HTTP/2 connection."""
    page = client.get(base_url + "/")
    assert page.status_code == 200 and page.http_version == "HTTP/2"
    boot = json.loads(page.text.split("htagSSE(", 1)[1].split(");", 1)[0])
    click = interactions(page.text)["inc"]
    url = f"{base_url}{boot['base']}"
    with client.stream("GET", f"{url}/events?p={boot['page']}:0") as stream:
        assert stream.status_code == 200 and stream.http_version == "HTTP/2"
        assert "connection" not in stream.headers
        for n in (1, 2, 3):  # the pool has one connection, busy with the stream: these are multiplexed
            r = client.post(f"{url}/{boot['page']}/interact", json=click, headers={"X-Htag-Token": boot["token"]})
            assert r.status_code == 200 and r.http_version == "HTTP/2" and f">{n}</span>" in r.text
        ticks = 0
        for line in stream.iter_lines():
            ticks += line.startswith(f"event: {boot['page']}")
            if ticks == 2:
                break


@pytest.mark.parametrize("kind", SERVERS)
def test_h2_over_tls_page_posts_and_stream_on_one_connection(serve, certificate, kind):
    cert, key = certificate
    server = start(serve, "board", "--certfile", str(cert), "--keyfile", str(key), server=kind)
    with httpx.Client(http2=True, verify=False, limits=httpx.Limits(max_connections=1), timeout=10) as client:
        one_connection_session(client, f"https://127.0.0.1:{server.port}")


@pytest.mark.parametrize("kind", SERVERS)
def test_h2c_cleartext_with_prior_knowledge(serve, kind):
    server = start(serve, "board", server=kind)
    with httpx.Client(http1=False, http2=True, limits=httpx.Limits(max_connections=1), timeout=10) as client:
        one_connection_session(client, server.url)


@pytest.mark.browser
@pytest.mark.parametrize("app", ["counter", "clock"])
@pytest.mark.parametrize("kind", SERVERS)
def test_chromium_runs_the_apps_over_h2(serve, certificate, playwright, app, kind):
    cert, key = certificate
    server = start(serve, app, "--certfile", str(cert), "--keyfile", str(key), server=kind)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--ignore-certificate-errors"])
    try:
        page = browser.new_page()
        page.goto(f"https://127.0.0.1:{server.port}/")
        assert page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol") == "h2"
        if app == "counter":
            for _ in range(5):
                page.click("button.inc")
            page.wait_for_function("document.querySelector('.count').textContent === '5'")
        else:
            page.wait_for_function("Number(document.querySelector('.ticks').textContent) >= 3")
        protocols = page.evaluate("[...new Set(performance.getEntriesByType('resource').map(e => e.nextHopProtocol))]")
        assert protocols == ["h2"]
    finally:
        browser.close()
