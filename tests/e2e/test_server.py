"""Against a real server in a subprocess (hypercorn, and Granian): streaming, long-poll, restarts, shutdown."""

import functools
import json
import signal
import sys
import threading
import time

import httpx
import pytest

from harness.processes import wait_until
from htag_sse.testing.boot import interactions

pytestmark = pytest.mark.server


@pytest.fixture(params=["hypercorn", "granian"])
def serve_on(serve, request):
    """``serve``, on hypercorn and on Granian (``app.run(server="granian")``)."""
    return functools.partial(serve, server=request.param)


def open_page(client: httpx.Client, path: str = "/") -> dict:
    r = client.get(path)
    assert r.status_code == 200
    boot = json.loads(r.text.split("htagSSE(", 1)[1].split(");", 1)[0])
    return {**boot, "calls": interactions(r.text)}


def click(client: httpx.Client, page: dict, name: str) -> httpx.Response:
    return client.post(f"{page['base']}/{page['page']}/interact", json=page["calls"][name],
                       headers={"X-Htag-Token": page["token"]})  # fmt: skip


def read_events(client: httpx.Client, url: str, n: int, headers: dict | None = None) -> list[tuple[str, dict]]:
    """The first ``n`` data events of a stream: (id, actions)."""
    out: list[tuple[str, dict]] = []
    with client.stream("GET", url, headers=headers, timeout=10) as r:
        assert r.status_code == 200
        event_id, kind = None, "message"
        for line in r.iter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "message":
                out.append((event_id, json.loads(line[6:])))
                if len(out) == n:
                    return out
            elif line == "":
                kind = "message"
    raise AssertionError(f"stream ended after {len(out)} events")


def test_pushed_events_arrive_over_a_real_stream_and_resume_without_loss(serve_on):
    server = serve_on("clock")
    with httpx.Client(base_url=server.url) as client:
        page = open_page(client)
        events = f"{page['base']}/{page['page']}/events"
        first = read_events(client, events + "?last=0", 3)
        assert [i for i, _ in first] == ["1", "2", "3"]
        time.sleep(0.5)  # ticks pushed while no stream is open (what is under test)
        resumed = read_events(client, events, 4, headers={"Last-Event-ID": "3"})
        assert [i for i, _ in resumed] == ["4", "5", "6", "7"]
        assert all("update" in a for _, a in first + resumed)


def test_a_restart_keeps_the_state_and_the_open_page_reruns(serve_on):
    server = serve_on("counter")
    with httpx.Client(base_url=server.url) as client:
        page = open_page(client)
        for _ in range(3):
            assert click(client, page, "inc").status_code == 200
        server.stop()
        serve_on("counter", port=server.port)  # same port, same session directory
        assert click(client, page, "inc").status_code == 410  # the live page is gone...
        r = client.post(f"{page['base']}/{page['page']}/rerun", headers={"X-Htag-Token": page["token"]})
        assert r.status_code == 200 and ">3</span>" in r.json()["body"]  # ...rerun from the session


def _hold_streams(url: str, page: dict, n: int, opened: list) -> None:
    def hold() -> None:
        try:
            with httpx.Client(base_url=url, cookies=page["cookies"]) as c, \
                    c.stream("GET", f"{page['base']}/{page['page']}/events?last=0", timeout=30) as r:
                    opened.append(r.status_code)
                    for _ in r.iter_raw():
                        pass
        except httpx.HTTPError:
            pass

    for _ in range(n):
        threading.Thread(target=hold, daemon=True).start()
    wait_until(lambda: len(opened) == n, 10, "streams to open")


def test_long_polls_carry_the_pushed_events_in_order(serve_on):
    server = serve_on("clock")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        page = open_page(client)
        seen: list[int] = []
        while len(seen) < 5:
            r = client.get(f"{page['base']}/{page['page']}/poll", params={"after": seen[-1] if seen else 0})
            assert r.status_code == 200
            seen += [n for n, actions in r.json()["events"] if "update" in actions]
        assert seen == list(range(1, len(seen) + 1))


@pytest.mark.parametrize("how", ["run", "hypercorn", "granian"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_server_stops_promptly_with_streams_open(serve, how, sig):
    argv = None
    if how == "run":
        code = "from tests.support.apps import build; build('clock').run(port={port})"
        argv = [sys.executable, "-c", code]
    elif how == "granian":  # its workers import the app: tests.support.serve:app, serving "clock"
        argv = [sys.executable, "-c", "from tests.support.serve import app; app.run(port={port}, server='granian')"]
    server = serve("clock", argv=argv)
    with httpx.Client(base_url=server.url) as client:
        page = open_page(client)
        page["cookies"] = dict(client.cookies)
    _hold_streams(server.url, page, 3, [])
    took = server.stop(sig)
    # run() closes the streams itself (on Granian too); the hypercorn CLI cancels them after its graceful timeout (3 s)
    assert took < (5.0 if how == "hypercorn" else 2.0), server.output()
