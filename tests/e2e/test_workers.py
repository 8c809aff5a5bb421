"""Several worker processes: every request may land on any worker; each page
lives in the one that created it and is reached from the others."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from harness.processes import wait_until, worker_pids
from htag_sse.testing.boot import interactions

pytestmark = pytest.mark.server

PY = sys.executable
RUNNERS = {
    "hypercorn": [PY, "-m", "hypercorn", "tests.support.serve:app", "--workers", "4", "--bind", "127.0.0.1:{port}"],
    "gunicorn": [PY, "-m", "gunicorn", "-w", "4", "-k", "uvicorn_worker.UvicornWorker", "-b", "127.0.0.1:{port}",
                 "tests.support.serve:app"],
    "gunicorn --preload": [PY, "-m", "gunicorn", "-w", "4", "-k", "uvicorn_worker.UvicornWorker", "--preload",
                           "-b", "127.0.0.1:{port}", "tests.support.serve:app"],
    "uvicorn": [PY, "-m", "uvicorn", "--workers", "4", "--port", "{port}", "tests.support.serve:app"],
    "run": [PY, "-c", "from tests.support.serve import app; app.run(port={port}, workers=4)"],
}  # fmt: skip
SPREAD = {"HTAG_SSE_TEST_SPREAD": "1"}  # a new connection per request: any worker may get it
DEBUG = '{"debug": true}'  # answers carry X-Htag-Worker: <pid>


def start(serve, runner: str, app: str = "board", port: int | None = None):
    server = serve(app, argv=RUNNERS[runner], options=DEBUG, env=SPREAD, port=port)
    wait_until(lambda: len(worker_pids(server.proc.pid)) >= 4, 20, "4 workers")
    return server


@pytest.mark.feature("clicks and updates", topology="workers")
@pytest.mark.feature("pushes from background tasks", topology="workers")
@pytest.mark.feature("generators", topology="workers")
@pytest.mark.browser
@pytest.mark.parametrize("runner", ["hypercorn", "gunicorn"])
def test_a_session_works_whichever_worker_each_request_lands_on(serve, browser_page, runner):
    server = start(serve, runner)
    page = browser_page
    answered_by: Counter[str] = Counter()
    page.on("response", lambda r: answered_by.update([r.headers.get("x-htag-worker", "?")]))
    page.goto(server.url)
    for _ in range(50):
        page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '50'", timeout=30_000)
    page.wait_for_function("Number(document.querySelector('.ticks').textContent) >= 3")
    page.click("button.go")
    page.wait_for_function("document.querySelectorAll('.items li').length === 5")
    # request.session written by one worker is read by the others, and so is tag.state
    page.request.get(f"{server.url}/session/write?color=blue")
    for _ in range(12):
        seen = page.request.get(f"{server.url}/session/read").json()
        assert seen["color"] == "blue" and seen["tests.support.apps.Board"]["count"] == 50
    workers = {w for w in answered_by if w != "?"}
    assert len(workers) >= 3, answered_by  # requests did land on several workers


async def clicker(url: str, clicks: int) -> tuple[int, list[int], set[str]]:
    """One user: its own session and page, ``clicks`` clicks; (final count, statuses, workers)."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        r = await client.get("/")
        boot = json.loads(r.text.split("htagSSE(", 1)[1].split(");", 1)[0])
        call = interactions(r.text)["inc"]
        statuses, workers, answer = [], {r.headers["x-htag-worker"]}, None
        for n in range(1, clicks + 1):
            answer = await client.post(f"{boot['base']}/{boot['page']}/interact", json=call,
                                       headers={"X-Htag-Token": boot["token"], "X-Htag-Seq": str(n)})  # fmt: skip
            statuses.append(answer.status_code)
            workers.add(answer.headers.get("x-htag-worker", "?"))
        count = int(answer.json()["update"].popitem()[1].split(">")[1].split("<")[0]) if answer else 0
        return count, statuses, workers


@pytest.mark.feature("clicks and updates", topology="workers")
@pytest.mark.parametrize("runner, users, clicks", [
    ("hypercorn", 16, 200), ("gunicorn", 16, 200), ("gunicorn --preload", 4, 25), ("uvicorn", 4, 25), ("run", 4, 25),
])  # fmt: skip
def test_concurrent_sessions_across_four_workers_count_exactly(serve, runner, users, clicks):
    server = start(serve, runner, app="counter")

    async def all_users() -> list[tuple[int, list[int], set[str]]]:
        return await asyncio.gather(*(clicker(server.url, clicks) for _ in range(users)))

    with ThreadPoolExecutor(1) as thread:  # this module's browser tests keep a loop running in ours
        results = thread.submit(asyncio.run, all_users()).result()
    assert [count for count, _, _ in results] == [clicks] * users
    assert all(status == 200 for _, statuses, _ in results for status in statuses)
    assert len(set().union(*(w for _, _, w in results))) == 4  # every worker took part


@pytest.mark.feature("a dead worker's pages rerun elsewhere", topology="workers")
@pytest.mark.browser
@pytest.mark.parametrize("runner", ["gunicorn", "run", "uvicorn"])
def test_killing_the_owner_worker_the_page_recovers_by_itself(serve, browser_page, runner):
    """gunicorn, uvicorn and run(workers=N) replace a dead worker; the page reruns on a live one."""
    server = start(serve, runner)
    page = browser_page
    owners = []
    page.on("response", lambda r: owners.append(r.headers.get("x-htag-worker")) if r.url == server.url + "/" else None)
    page.goto(server.url)
    for _ in range(3):
        page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '3'")
    before = page.evaluate("htagSSEState().page")
    os.kill(int(owners[0]), signal.SIGKILL)
    t0 = time.monotonic()
    page.wait_for_function(f"htagSSEState().page !== {before!r}", timeout=20_000)  # rerun elsewhere
    page.wait_for_function("Number(document.querySelector('.ticks').textContent) >= 2")
    recovered_s = time.monotonic() - t0
    assert page.inner_text(".count") == "3"  # tag.state intact
    page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '4'")
    assert recovered_s < 15, recovered_s
    wait_until(lambda: len(worker_pids(server.proc.pid)) >= 4, 20, "the dead worker to be replaced")


@pytest.mark.feature("a server restart reruns the page", topology="workers")
@pytest.mark.browser
def test_hypercorn_stops_every_worker_when_one_is_killed_and_a_restart_recovers_the_page(serve, browser_page):
    """hypercorn's master shuts down on a worker's death: it needs a supervisor (systemd...)."""
    server = start(serve, "hypercorn")
    page = browser_page
    page.goto(server.url)
    page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '1'")
    victim = min(worker_pids(server.proc.pid))
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: server.proc.poll() is not None, 20, "hypercorn's master to exit")
    wait_until(lambda: not worker_pids(server.proc.pid), 20, "every worker to stop")
    page.wait_for_function("document.documentElement.classList.contains('htag-offline')", timeout=20_000)
    start(serve, "hypercorn", port=server.port)  # what a supervisor does
    page.wait_for_function(
        "!document.documentElement.classList.contains('htag-offline')"
        " && document.querySelector('.count').textContent === '1'",
        timeout=20_000,
    )
    page.click("button.inc")
    page.wait_for_function("document.querySelector('.count').textContent === '2'")


def test_a_click_for_the_page_of_a_stalled_worker_that_was_alone_waits_for_it(tmp_path) -> None:
    """Two workers, the second never asked anything yet: the first, alone so far, made a page. Its
    click lands on the second while the first is stalled (a long GC, a starved CPU), shorter than
    its lease: the click waits for the page's owner and is answered by it, the same live page."""
    from harness.hosts import Hosts
    from htag_sse.testing.boot import boot_config

    from ..support.serve import TARGET

    group = Hosts(None, tmp_path, n=1, workers=2, app="tally", target=TARGET, options={"lease_s": 10},
                  env={"HTAG_SSE_TEST_LOG": "info"})
    try:
        (host,) = group.start()
        with httpx.Client(base_url=host.url, timeout=30) as tab:
            page = tab.get("/")  # one worker answers: it takes its lease and makes the page; the other has none
            owner = int(page.headers["x-htag-worker"])
            boot, click = boot_config(page.text), interactions(page.text)["inc"]
            headers = {"X-Htag-Token": boot["token"], "X-Htag-Seq": "1", "Origin": host.url}
            with ThreadPoolExecutor(1) as pool:  # (its end waits for the click: the owner is resumed before)
                os.kill(owner, signal.SIGSTOP)
                try:  # the click reaches the other worker; the owner stays stalled 6 s (its lease: 10 s)
                    sent = pool.submit(tab.post, f"{boot['base']}/{boot['page']}/interact", json=click, headers=headers)
                    deadline = time.monotonic() + 6
                    while not sent.done() and time.monotonic() < deadline:
                        time.sleep(0.05)  # a stall of a known length: what is under test
                finally:
                    os.kill(owner, signal.SIGCONT)
                answer = sent.result(timeout=30)
        assert answer.status_code == 200, f"{answer.status_code} {answer.text[:200]}"
        assert ">1<" in json.dumps(answer.json())  # the same live page counted the click
    finally:
        group.kill()
