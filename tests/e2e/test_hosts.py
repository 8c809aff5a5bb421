"""Several hosts on one Redis (issue 14), with real parts: separate hypercorn servers, each with its own
workers and its own local session directory, sharing only a redis-server, behind nginx round-robin with
no stickiness; Chromium and plain HTTP clients sending what the browser sends. Then faults: a host
killed, an owner paused past its lease, Redis connections killed, Redis stalled or restarted empty,
and a 3-master Redis Cluster."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from harness.hosts import Host, Hosts, hosts, round_robin, worker_of
from harness.netns import delay_line, delayed
from harness.processes import free_port, wait_until
from harness.redisserver import ping
from htag_sse.testing.boot import boot_config, interactions

from ..support.faults import paused
from ..support.serve import TARGET

pytestmark = [pytest.mark.server, pytest.mark.redis]


#: The default lease (``lease_s``): a dead owner's pages rerun elsewhere once it has passed.
LEASE_S = 5.0
#: How long a page of a dead or paused owner may take to come back (the lease, and room to spare).
RECOVERY_S = 15.0
COUNT = re.compile(r'class=\\?"count\\?"[^>]*>(\d+)<')


# --- what a browser tab sends, over plain HTTP ---------------------------------------------------


class User:
    """One browser tab over httpx: its cookies, its page's token and ``X-Htag-Seq`` numbering, and the
    ``Origin`` of whichever host (or nginx) it talks to."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(timeout=60)
        self.boot: dict[str, Any] = {}
        self.calls: dict[str, dict[str, Any]] = {}
        self.seq = 0

    def _base(self, via: Host | str | None) -> str:
        return via.url if isinstance(via, Host) else via or self.url

    def open(self, via: Host | str | None = None) -> httpx.Response:
        r = self.client.get(self._base(via) + "/")
        assert r.status_code == 200, r.text
        self.boot = boot_config(r.text)
        self.calls, self.seq = interactions(r.text), 0
        return r

    @property
    def page(self) -> str:
        return str(self.boot["page"])

    def post(self, what: str, via: Host | str | None = None, *, token: str | None = None, page: str | None = None,
             seq: int | None = None, body: Any = None) -> httpx.Response:  # fmt: skip
        base = self._base(via)
        headers = {"Origin": base, "X-Htag-Token": token or self.boot["token"]}
        if seq is not None:
            headers["X-Htag-Seq"] = str(seq)
        url = f"{base}{self.boot['base']}/{page or self.page}/{what}"
        return self.client.post(url, headers=headers, content=b"" if body is None else json.dumps(body).encode())

    def click(self, via: Host | str | None = None, *, again: bool = False, follow: bool = False,
              name: str = "inc") -> httpx.Response:  # fmt: skip
        """The next interaction (``again``: the last one once more, as the browser retries a 503).
        ``follow``: as the browser does on a 410, rerun the page and send the interaction there."""
        if not again:
            self.seq += 1
        r = self.post("interact", via, seq=self.seq, body=self.calls[name])
        deadline = time.monotonic() + RECOVERY_S
        while follow and r.status_code == 410 and time.monotonic() < deadline:  # the browser does not give up
            self.rerun(via)
            self.seq = 1
            r = self.post("interact", via, seq=self.seq, body=self.calls[name])
        return r

    def rerun(self, via: Host | str | None = None) -> httpx.Response:
        """What the browser does on a 410: the page anew, from its record and the session; the
        interaction that got the 410 is then sent again as the new page's first."""
        r = self.post("rerun", via)
        assert r.status_code == 200, r.text
        fresh = r.json()
        self.boot.update(page=fresh["page"], token=fresh["token"])
        self.calls, self.seq = interactions(fresh["body"]), 0
        return r

    def session(self, via: Host | str | None = None) -> dict[str, Any]:
        r = self.client.get(self._base(via) + "/session/read")
        assert r.status_code == 200, r.text
        return dict(r.json())


def count_in(r: httpx.Response | str) -> int:
    found = COUNT.findall(r if isinstance(r, str) else r.text)
    assert found, r if isinstance(r, str) else r.text
    return int(found[-1])


def answered_by(group: Hosts, r: Any) -> Host:
    """The host whose worker answered ``r`` (httpx or Playwright response)."""
    host = group.of(worker_of(r.headers.get("x-htag-worker")))
    assert host is not None, dict(r.headers)
    return host


# --- what a browser tab got -----------------------------------------------------------------------


class Traffic:
    """Every response a Chromium page got: (method, path, status, worker pid)."""

    def __init__(self, page: Any) -> None:
        self.rows: list[tuple[str, str, int, int | None]] = []
        page.on("response", self._add)

    def _add(self, r: Any) -> None:
        pid = worker_of(r.headers.get("x-htag-worker"))
        self.rows.append((r.request.method, urlsplit(r.url).path, r.status, pid))

    def last(self, method: str, path_end: str) -> int | None:
        """The worker that gave the last answer to such a request."""
        found = [pid for m, path, _, pid in self.rows if m == method and path.endswith(path_end)]
        return found[-1] if found else None

    def owner(self) -> int | None:
        """The worker that made the tab's current page: the last page load or rerun."""
        found = [pid for m, path, _, pid in self.rows if (m, path) == ("GET", "/") or path.endswith("/rerun")]
        return found[-1] if found else None

    def workers(self) -> set[int]:
        return {pid for *_, pid in self.rows if pid is not None}

    def failures(self) -> list[tuple[str, str, int, int | None]]:
        return [row for row in self.rows if row[2] >= 500]


def count_is(page: Any, n: int, timeout_ms: float = 15_000) -> None:
    page.wait_for_function(f"document.querySelector('.count').textContent === '{n}'", timeout=timeout_ms)


def ticks(page: Any) -> int:
    return int(page.inner_text(".ticks"))


def ticking(page: Any, at_least: int, timeout_ms: float = 15_000) -> None:
    page.wait_for_function(f"Number(document.querySelector('.ticks').textContent) >= {at_least}", timeout=timeout_ms)


def page_id(page: Any) -> str:
    return str(page.evaluate("htagSSEState().page"))


def new_tab(chromium: Any) -> tuple[Any, Any, Traffic]:
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page, Traffic(page)


def board_clicked_three_times(chromium: Any, port: int) -> tuple[Any, Any, Traffic]:
    """A new tab on the board app behind ``port``: clicked three times, its clock ticking."""
    context, page, traffic = new_tab(chromium)
    page.goto(f"http://127.0.0.1:{port}/")
    for _ in range(3):
        page.click("button.inc")
    count_is(page, 3)
    ticking(page, 2)
    return context, page, traffic


def stalled(redis: Any) -> bool:
    """Whether the redis-server does not answer a PING within 0.2 s."""
    try:
        return not ping(redis.port, 0.2)
    except OSError:
        return True


def log_of(group: Hosts) -> str:
    return "\n".join(h.output() for h in group)


@pytest.fixture(scope="module")
def farm(redis_server: Any, tmp_path_factory: Any) -> Any:
    """Two hosts of two workers (the Board app: a clock, a counter in the session, a generator), warm,
    behind nginx: ``(hosts, nginx url)``."""
    tmp = tmp_path_factory.mktemp("farm")
    with (
        hosts(redis_server.url, tmp, target=TARGET, app="board") as group,
        round_robin(group.ports, tmp / "nginx") as port,
    ):
        yield group, f"http://127.0.0.1:{port}"


# --- 1. the browser suite on two hosts ------------------------------------------------------------


@pytest.mark.feature("clicks and updates", topology="hosts")
@pytest.mark.feature("pushes from background tasks", topology="hosts")
@pytest.mark.feature("generators", topology="hosts")
@pytest.mark.nginx
@pytest.mark.browser
def test_the_browser_suite_on_two_hosts_sharing_only_redis(farm: Any, chromium: Any) -> None:
    group, url = farm
    for _ in range(3):  # a tab whose stream nginx sent to the other host than its page
        context, page, traffic = new_tab(chromium)
        page.goto(url)
        ticking(page, 1)
        page_host, stream_host = group.of(traffic.owner()), group.of(traffic.last("GET", "/_htag/events"))
        if page_host is not stream_host:
            break
        context.close()
        httpx.get(url + "/_htag/health")  # one request more: the next tab's requests land the other way round
    else:
        pytest.fail(f"the stream always landed on the page's host: {traffic.rows}")
    first = page_id(page)

    for _ in range(20):
        page.click("button.inc")
    count_is(page, 20)
    ticking(page, ticks(page) + 5)  # pushed by one host, streamed by the other
    assert page_id(page) == first and group.of(traffic.last("GET", "/_htag/events")) is stream_host

    page.click("button.go")  # a generator: one round trip per yielded item
    page.wait_for_function("document.querySelectorAll('.items li').length === 5")
    assert page.inner_text(".items").split() == ["item1", "item2", "item3", "item4", "item5"]

    page.reload()  # F5: tag.state from the session in Redis, whichever host answers
    count_is(page, 20)
    ticking(page, 3)
    page.click("button.inc")
    count_is(page, 21)

    # request.session (a plain Starlette route) and tag.state are one session, on every host
    written = page.request.get(url + "/session/write?color=blue")
    assert written.ok
    reads = [page.request.get(url + "/session/read") for _ in range(8)]
    for r in reads:
        assert r.ok and r.json()["color"] == "blue" and r.json()["tests.support.apps.Board"]["count"] == 21
    assert {answered_by(group, r) for r in reads} == set(group)

    served = traffic.workers() | {worker_of(r.headers.get("x-htag-worker")) for r in [written, *reads]}
    assert {group.of(pid) for pid in served} == set(group), traffic.rows
    # and on every worker of every host: each asked in turn, the others of its host paused (which of a
    # host's workers the kernel hands a connection to is not left to luck: on a loaded machine one may
    # take them all)
    for host in group:
        for pid in sorted(host.pids):
            with paused(host.pids - {pid}):
                r = page.request.get(host.url + "/session/read", timeout=10_000)
            assert worker_of(r.headers.get("x-htag-worker")) == pid, (pid, dict(r.headers))
            assert r.ok and r.json()["color"] == "blue" and r.json()["tests.support.apps.Board"]["count"] == 21
    assert not traffic.failures()
    context.close()


# --- 2. many users, many clicks -------------------------------------------------------------------


async def clicker(url: str, clicks: int) -> tuple[int, int, Counter[int], set[int]]:
    """One user over nginx: its session and page, ``clicks`` clicks as the browser sends them;
    (count in the last answer, count in the session, statuses, workers that answered)."""
    async with httpx.AsyncClient(base_url=url, timeout=60, headers={"Origin": url}) as client:
        r = await client.get("/")
        boot, call = boot_config(r.text), interactions(r.text)["inc"]
        statuses: Counter[int] = Counter([r.status_code])
        workers = {worker_of(r.headers["x-htag-worker"]) or 0}
        for n in range(1, clicks + 1):
            r = await client.post(f"{boot['base']}/{boot['page']}/interact", json=call,
                                  headers={"X-Htag-Token": boot["token"], "X-Htag-Seq": str(n)})  # fmt: skip
            statuses[r.status_code] += 1
            workers.add(worker_of(r.headers.get("x-htag-worker")) or 0)
        last = count_in(r) if r.status_code == 200 else -1
        session = (await client.get("/session/read")).json()
        return last, session["tests.support.apps.Counter"]["count"], statuses, workers


@pytest.mark.feature("clicks and updates", topology="hosts")
@pytest.mark.nginx
def test_sixteen_users_clicking_200_times_across_two_hosts_count_exactly(redis_server: Any, tmp_path: Path) -> None:
    users, clicks = 16, 200
    with (
        hosts(redis_server.url, tmp_path, target=TARGET, app="counter") as group,
        round_robin(group.ports, tmp_path / "nginx") as port,
    ):

        async def everyone() -> list[tuple[int, int, Counter[int], set[int]]]:
            return await asyncio.gather(*(clicker(f"http://127.0.0.1:{port}", clicks) for _ in range(users)))

        with ThreadPoolExecutor(1) as thread:  # the module's browser tests keep a loop running in this thread
            results = thread.submit(asyncio.run, everyone()).result()
        assert [(last, stored) for last, stored, _, _ in results] == [(clicks, clicks)] * users
        statuses = sum((s for _, _, s, _ in results), Counter())
        assert statuses == {200: users * (clicks + 1)}, statuses
        assert set().union(*(w for *_, w in results)) == set().union(*(h.pids for h in group))


# --- 3. faults --------------------------------------------------------------------------------


@pytest.mark.nginx
@pytest.mark.browser
def test_killing_every_redis_connection_changes_nothing_users_see(farm: Any, chromium: Any, redis_server: Any) -> None:
    group, url = farm
    context, page, traffic = new_tab(chromium)
    page.goto(url)
    for _ in range(3):
        page.click("button.inc")
    count_is(page, 3)
    ticking(page, 2)
    first = page_id(page)
    killed = int(redis_server.cli("CLIENT", "KILL", "TYPE", "normal"))
    assert killed >= 2 * sum(h.workers for h in group)  # every worker's quick and blocking connections
    for _ in range(3):
        page.click("button.inc")
    count_is(page, 6)
    ticking(page, ticks(page) + 5)
    assert page_id(page) == first  # no rerun: the page lived on
    assert not traffic.failures()
    context.close()


def test_a_page_made_by_a_worker_that_just_started_is_at_once_reachable_from_another_host(
    redis_server: Any, tmp_path: Path
) -> None:
    """A worker caches who holds a lease for ``LIVENESS_CACHE_S``: a lease taken meanwhile (a host
    that just started, a worker that starts over under a new id) must not make its pages look gone."""
    with hosts(redis_server.url, tmp_path, target=TARGET, app="counter", workers=1, warm=False) as (group):
        a, b = group
        bob = User(b.url)
        bob.open()  # b's worker takes its lease now, and learns who else holds one: nobody
        alice = User(a.url)
        alice.open()  # a's worker takes its lease now, and makes alice's page
        r = alice.click(via=b)  # relayed by b to a at once
        assert r.status_code == 200, r.text
        assert count_in(r) == 1


@pytest.mark.feature("a dead worker's pages rerun elsewhere", topology="hosts")
@pytest.mark.nginx
@pytest.mark.browser
@pytest.mark.parametrize("user", ["clicks at once", "does nothing"])
def test_killing_the_host_owning_a_page_reruns_it_on_the_other_host(
    redis_server: Any, chromium: Any, tmp_path: Path, user: str
) -> None:
    """kill -9 of a whole host: its pages rerun on the other one (tag.state from the session), within
    about the lease, whether the user clicks meanwhile (the click goes through once) or does nothing."""
    with (
        hosts(redis_server.url, tmp_path, target=TARGET, app="board") as group,
        round_robin(group.ports, tmp_path / "ngx") as port,
    ):
        context, page, traffic = board_clicked_three_times(chromium, port)
        first = page_id(page)
        victim = group.of(traffic.owner())
        assert victim is not None
        (survivor,) = set(group) - {victim}
        t0 = time.monotonic()
        victim.kill()
        if user == "clicks at once":
            page.click("button.inc")
        timeout_ms = RECOVERY_S * 1000
        page.wait_for_function(f"htagSSEState().page !== {first!r}", timeout=timeout_ms)
        count_is(page, 4 if user == "clicks at once" else 3, timeout_ms)  # no click lost, none twice
        ticking(page, ticks(page) + 3, timeout_ms)  # the clock runs again, on the survivor
        recovered_s = time.monotonic() - t0
        assert group.of(traffic.owner()) is survivor
        page.click("button.inc")
        count_is(page, 5 if user == "clicks at once" else 4)
        assert recovered_s < RECOVERY_S
        context.close()


def test_an_owner_paused_past_its_lease_never_serves_its_page_again(redis_server: Any, tmp_path: Path) -> None:
    """SIGSTOP of the worker owning a page until its lease is gone, then SIGCONT: the page reruns on
    another worker; the paused one, back, answers 410 for it (a click relayed to it while it slept does
    not count); no click is lost or counted twice."""
    with hosts(redis_server.url, tmp_path, target=TARGET, app="counter") as group:
        a, b = group
        user = User(a.url)
        owner = worker_of(user.open().headers["x-htag-worker"])
        assert owner is not None
        wid, old = user.page.partition(".")[0], dict(user.boot)
        for _ in range(3):
            r = user.click(via=b)  # relayed to the owner over Redis
            assert r.status_code == 200 and count_in(r) == user.seq
        os.kill(owner, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            r = user.click(via=b)  # relayed to the sleeper: 410 once its lease is gone
            assert r.status_code == 410, r.text
            assert time.monotonic() - t0 < RECOVERY_S
            assert redis_server.cli("EXISTS", f"{{htag-sse:leases}}:l:w:{wid}") == "0"
            user.rerun(via=b)
            r = user.click(via=b)  # the browser sends the refused click again, on the new page
            assert r.status_code == 200 and count_in(r) == 4
        finally:
            os.kill(owner, signal.SIGCONT)
        # the old page, asked of host a until its resumed worker has answered too: gone, wherever asked
        answers: list[httpx.Response] = []
        for _ in range(100):
            answers.append(user.post("interact", a, token=old["token"], page=old["page"], seq=5,
                                     body=user.calls["inc"]))  # fmt: skip
            if owner in {worker_of(r.headers.get("x-htag-worker")) for r in answers}:
                break
        assert owner in {worker_of(r.headers.get("x-htag-worker")) for r in answers}
        assert {r.status_code for r in answers} == {410}, [r.text for r in answers]
        for via in (a, b, a):
            r = user.click(via=via)
            assert r.status_code == 200, r.text
        assert count_in(r) == 7
        assert user.session(b)["tests.support.apps.Counter"]["count"] == 7
        assert "1 page(s) of this worker were taken by another worker while it was stalled" in log_of(group)


def stall_and_click(redis: Any, stall_s: float, users: list[User], via: list[Host]) -> None:
    """``DEBUG SLEEP stall_s``, and meanwhile one click of each user (at once): each is answered 503
    (the storage cannot be reached) within two calls' deadlines (``timeout_s`` + 1 = 3 s each).
    Returns once the stall is over."""
    sleeper = redis.stall(stall_s)
    wait_until(lambda: stalled(redis), 5, "redis to stall")
    answers: dict[int, tuple[httpx.Response, float]] = {}

    def click(i: int) -> None:
        t0 = time.monotonic()
        answers[i] = users[i].click(via=via[i]), time.monotonic() - t0

    threads = [threading.Thread(target=click, args=(i,)) for i in range(len(users))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sleeper.wait(30)
    for r, took in answers.values():
        assert r.status_code == 503 and "storage" in r.text, r.text
        assert took < 6.0, took


@pytest.mark.parametrize(
    "lease_s, stall_s, n, reruns",
    [(15.0, 4.0, 2, False), (LEASE_S, 6.0, 1, False), (LEASE_S, 6.0, 2, None)],
    ids=["shorter than the lease", "longer, one host alone", "longer, two hosts"],
)
def test_a_stalled_redis_answers_503_quickly_then_service_resumes(
    own_redis_server: Any, tmp_path: Path, lease_s: float, stall_s: float, n: int, reruns: bool | None
) -> None:
    """``DEBUG SLEEP`` longer than a call's deadline: clicks get a 503 quickly; retried afterwards (as
    the browser retries a 503) they go through once. A stall shorter than the lease keeps the pages;
    so does a longer one for a host alone (nobody can take its pages: its workers take their leases
    again). With two hosts, a page asked of another host before its owner is back reruns there (as
    the browser does on a 410), with its state; either way every click counts once."""
    redis = own_redis_server
    with hosts(redis.url, tmp_path, target=TARGET, app="counter", n=n, workers=1 if n == 1 else 2,
               options={"lease_s": lease_s}) as group:  # fmt: skip
        users = [User(group[i % n].url) for i in range(4)]
        via = [group[(i // 2) % n] for i in range(4)]  # owner-local and relayed
        for user, host in zip(users, via, strict=True):
            user.open()
            for _ in range(2):
                assert user.click(via=host).status_code == 200
        pages = [user.page for user in users]
        stall_and_click(redis, stall_s, users, via)
        for i, user in enumerate(users):
            r = user.click(via=via[i], again=True, follow=True)
            assert r.status_code == 200 and count_in(r) == 3, r.text  # the click of the stall, once
            r = user.click(via=group[i % n], follow=True)
            assert r.status_code == 200 and count_in(r) == 4, r.text
            assert user.session(group[i % n])["tests.support.apps.Counter"]["count"] == 4
        if reruns is not None:
            assert [user.page != page for user, page in zip(users, pages, strict=True)] == [reruns] * len(users)


def test_a_worker_paused_past_its_lease_with_a_write_pending_never_overwrites_the_session(
    own_redis_server: Any, tmp_path: Path
) -> None:
    """The fence (docs/redis.md): a worker paused past its lease can never overwrite the writes of the
    one that took its page over. Redis is full (``maxmemory``: reads work, writes fail) while a click
    runs on the owner: 503, its session write stays pending. The owner is paused (SIGSTOP) until its
    lease is gone; the browser's retry reruns the page on the other host, where the user clicks on.
    Resumed, the old owner must neither write its stale session nor serve it."""
    redis = own_redis_server
    with hosts(redis.url, tmp_path, target=TARGET, app="counter", workers=1) as group:
        a, b = group
        user = User(a.url)
        owner = worker_of(user.open().headers["x-htag-worker"])
        assert owner is not None
        wid = user.page.partition(".")[0]
        for _ in range(2):
            assert user.click(via=a).status_code == 200
        redis.cli("CONFIG", "SET", "maxmemory", "1")
        try:
            r = user.click(via=a)  # it runs; its write is refused
            assert r.status_code == 503 and "storage" in r.text, r.text
            os.kill(owner, signal.SIGSTOP)
        finally:
            redis.cli("CONFIG", "SET", "maxmemory", "0")
        try:
            lease = f"{{htag-sse:leases}}:l:w:{wid}"
            wait_until(lambda: redis.cli("EXISTS", lease) == "0", RECOVERY_S, "the paused owner's lease to end")
            r = user.click(via=b, again=True, follow=True)  # 410, rerun on b, the click once more
            assert r.status_code == 200 and count_in(r) == 3, r.text
            r = user.click(via=b)
            assert r.status_code == 200 and count_in(r) == 4, r.text
        finally:
            os.kill(owner, signal.SIGCONT)
        taken = "1 page(s) of this worker were taken by another worker while it was stalled"
        wait_until(lambda: taken in a.output(), RECOVERY_S, "the resumed owner to drop the page taken from it")
        assert "session write(s) dropped: another worker took over meanwhile" in a.output()
        assert user.session(a)["tests.support.apps.Counter"]["count"] == 4  # not its stale copy
        assert user.session(b)["tests.support.apps.Counter"]["count"] == 4  # nor written over the truth
        r = user.click(via=a)
        assert r.status_code == 200 and count_in(r) == 5, r.text


def test_a_session_written_on_another_host_is_read_at_once(own_redis_server: Any, tmp_path: Path) -> None:
    """A host that just made a page (its worker holds the only lease so far) and a plain route of
    another host writing the same session (a login, say): the first host sees the write."""
    with hosts(own_redis_server.url, tmp_path, target=TARGET, app="counter", workers=1, warm=False) as group:
        a, b = group
        user = User(a.url)
        user.open()  # a's worker takes its lease: nobody else holds one (b's serves no page)
        written = user.client.get(b.url + "/session/write?color=green")
        assert written.status_code == 200 and written.json()["color"] == "green"
        assert user.session(a).get("color") == "green"


@pytest.mark.nginx
@pytest.mark.browser
def test_a_redis_restart_without_persistence_refreshes_pages_and_starts_sessions_anew(
    own_redis_server: Any, chromium: Any, tmp_path: Path
) -> None:
    """What docs/redis.md says: every worker notices Redis lost everything (the epoch changed); the
    pages go, cannot rerun (their records are gone too) and load anew, in a new, empty session."""
    redis = own_redis_server
    with (
        hosts(redis.url, tmp_path, target=TARGET, app="board") as group,
        round_robin(group.ports, tmp_path / "nginx") as port,
    ):
        context, page, traffic = board_clicked_three_times(chromium, port)
        first = page_id(page)
        sid = {c["name"]: c["value"] for c in context.cookies()}["htag_sid"]
        redis.restart()
        page.wait_for_function(f"htagSSEState() && htagSSEState().page !== {first!r}", timeout=RECOVERY_S * 1000)
        page.wait_for_load_state()
        count_is(page, 0)
        ticking(page, 3)
        page.click("button.inc")
        count_is(page, 1)
        assert {c["name"]: c["value"] for c in context.cookies()}["htag_sid"] != sid
        paths = [(m, p.rsplit("/", 1)[-1], s) for m, p, s, _ in traffic.rows]
        assert ("POST", "rerun", 410) in paths  # the record was lost with the rest: a full load followed
        assert all("stops serving its pages" in host.output() for host in group)  # every worker noticed
        context.close()


@pytest.mark.nginx
@pytest.mark.browser
def test_on_a_redis_cluster_clicks_pushes_and_sessions_work(redis_cluster: Any, chromium: Any, tmp_path: Path) -> None:
    with (
        hosts(redis_cluster.url, tmp_path, target=TARGET, app="board") as group,
        round_robin(group.ports, tmp_path / "ngx") as port,
    ):
        url = f"http://127.0.0.1:{port}"
        context, page, traffic = new_tab(chromium)
        page.goto(url)
        for _ in range(10):
            page.click("button.inc")
        count_is(page, 10)
        ticking(page, ticks(page) + 5)
        page.click("button.go")
        page.wait_for_function("document.querySelectorAll('.items li').length === 5")
        page.reload()
        count_is(page, 10)
        assert page.request.get(url + "/session/write?color=red").ok
        for _ in range(4):
            assert page.request.get(url + "/session/read").json()["color"] == "red"
        assert {group.of(pid) for pid in traffic.workers()} == set(group)
        assert not traffic.failures()
        logs = log_of(group)
        assert "CROSSSLOT" not in logs and "Traceback" not in logs, logs
        context.close()


def test_what_a_browser_saw_written_on_one_host_is_what_the_next_host_reads_every_time(
    redis_server: Any, tmp_path: Path
) -> None:
    """Each host keeps its copy of a session and asks Redis nothing while no change is told. Host 2
    reaches Redis over a slow link (20 ms each way), so the news of a write always reaches it after
    the browser's next request does. The browser carries the version its last answer saw written (a
    cookie): that request never reads an older copy — after a plain route's write on host 0 or 1 (a
    redirect after a login, say), and after a click relayed by host 1 to its page's owner, host 0."""
    group = Hosts(redis_server.url, tmp_path, target=TARGET, app="counter", n=3, workers=1)
    parsed = urlsplit(redis_server.url)
    slow = free_port()
    with delayed(
        delay_line(tmp_path / "build"), 20_000, ("127.0.0.1", slow), (parsed.hostname or "", parsed.port or 0)
    ):
        group[2].redis_url = redis_server.url.replace(f":{parsed.port}", f":{slow}")
        try:
            group.start().warm()
            user = User(group[0].url)
            user.open(group[0])  # its page lives on host 0
            assert user.client.get(group[2].url + "/").status_code == 200  # a second tab: host 2 keeps a copy
            stale = []
            for i in range(40):
                user.session(group[2])  # host 2's copy is current: no news of a change since
                r = user.client.get(group[i % 2].url + f"/session/write?n={i}")
                assert r.status_code == 200 and "htag_sid_v=" in r.headers.get("set-cookie", ""), r.headers
                if (seen := user.session(group[2]).get("n")) != str(i):
                    stale.append(("route", i, seen))
            for i in range(1, 41):
                user.session(group[2])
                r = user.click(group[1])
                assert r.status_code == 200 and "htag_sid_v=" in r.headers.get("set-cookie", ""), r.headers
                counts = [v.get("count") for k, v in user.session(group[2]).items() if k.endswith(".Counter")]
                if counts != [i]:
                    stale.append(("click", i, counts))
            assert stale == []
        finally:
            group.kill()
