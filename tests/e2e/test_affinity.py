"""Two hosts on one Redis behind HAProxy with its own sticky cookie (``cookie SERVERID insert indirect
nocache``, harness/haproxy.py, the recipe of docs/redis.md): every request of a browser reaches the
host that owns its page, so nothing is relayed between hosts; when that host is killed, HAProxy sends
the browser to the other host, where the page reruns from the session in Redis, within the lease."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.haproxy import COOKIE, sticky
from harness.hosts import Host, Hosts, hosts
from harness.processes import wait_until

from ..support.serve import TARGET
from .test_hosts import LEASE_S, User, answered_by, count_in

pytestmark = [pytest.mark.server, pytest.mark.redis, pytest.mark.haproxy]

#: htag-sse's line when a worker sends a call to another worker (logged at DEBUG with HTAG_SSE_TEST_LOG).
RELAYING = re.compile(r"relaying (\w+) to worker (\w+)")


@pytest.fixture
def behind_haproxy(redis_server: Any, tmp_path: Path) -> Iterator[tuple[Hosts, str]]:
    """Two hosts of two workers (the Board app: a counter in the session), warm, logging what they
    relay, behind HAProxy's sticky cookie: ``(hosts, HAProxy's url)``."""
    env = {"HTAG_SSE_TEST_LOG": "info"}
    with (
        hosts(redis_server.url, tmp_path, target=TARGET, app="board", env=env) as group,
        sticky(group.ports, tmp_path / "haproxy") as port,
    ):
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(url + "/_htag/health").status_code == 200, 10, "HAProxy to see a host up")
        yield group, url


@pytest.fixture
def user(behind_haproxy: tuple[Hosts, str]) -> Iterator[User]:
    """A browser tab talking to HAProxy."""
    tab = User(behind_haproxy[1])
    yield tab
    tab.client.close()


def worker_ids(host: Host) -> set[str]:
    """The worker ids of ``host`` (its health endpoint names the worker that answered), one per worker."""
    ids: dict[int, str] = {}
    deadline = time.monotonic() + 10
    while len(ids) < host.workers:
        assert time.monotonic() < deadline, f"only {len(ids)} workers of {host.name} answered"
        r = httpx.get(host.url + "/_htag/health")
        ids[int(r.headers["x-htag-worker"].split(",")[0])] = r.json()["worker"]
    return set(ids.values())


def relayed_to(host: Host, since: int) -> list[str]:
    """The workers ``host`` relayed calls to, from its log past offset ``since``."""
    return [m.group(2) for m in RELAYING.finditer(host.log_path.read_text(errors="replace")[since:])]


def test_every_request_of_a_browser_reaches_the_host_owning_its_page(
    behind_haproxy: tuple[Hosts, str], user: User
) -> None:
    group, _ = behind_haproxy
    marks = [len(h.log_path.read_text(errors="replace")) for h in group]
    owner = answered_by(group, user.open())
    assert user.client.cookies.get(COOKIE) == owner.name  # HAProxy pinned the browser to the host that answered
    hosts_seen = []
    for n in range(1, 51):
        r = user.click()
        assert r.status_code == 200, r.text
        assert count_in(r) == n
        hosts_seen.append(answered_by(group, r))
    reloaded = user.open()  # F5: a new page, from the session, on the same host
    assert count_in(reloaded) == 50 and answered_by(group, reloaded) is owner
    for n in range(51, 61):
        r = user.click()
        assert r.status_code == 200, r.text
        assert count_in(r) == n
        hosts_seen.append(answered_by(group, r))
    assert set(hosts_seen) == {owner}
    assert user.session()["tests.support.apps.Board"]["count"] == 60
    # Nothing went from one host to the other: the owning host relayed only between its own workers
    # (a request that a sibling worker accepted), the other host relayed nothing.
    (other,) = set(group) - {owner}
    assert set(relayed_to(owner, marks[group.hosts.index(owner)])) <= worker_ids(owner)
    assert relayed_to(other, marks[group.hosts.index(other)]) == []


def test_when_the_sticky_host_is_killed_haproxy_sends_the_browser_on_and_the_page_reruns_there(
    behind_haproxy: tuple[Hosts, str], user: User
) -> None:
    group, _ = behind_haproxy
    victim = answered_by(group, user.open())
    for n in range(1, 4):
        assert count_in(user.click()) == n
    (survivor,) = set(group) - {victim}
    first = user.page
    t0 = time.monotonic()
    victim.kill()  # kill -9 of every process of the host
    try:
        r = user.click(follow=True)  # as the browser does: a 410 reruns the page, the click is sent there
    except httpx.TransportError:  # HAProxy had sent it on a connection to the dead host: it closes ours
        r = user.click(again=True, follow=True)  # the browser client sends it again, with the same number
    took = time.monotonic() - t0
    assert r.status_code == 200, r.text
    assert count_in(r) == 4  # the session came along, the click counted once
    assert user.page != first and answered_by(group, r) is survivor
    assert took < LEASE_S, f"{took:.1f} s from kill -9 to an answered click"
    assert user.client.cookies.get(COOKIE) == survivor.name  # HAProxy now pins the browser to the survivor
    r = user.click()
    assert r.status_code == 200 and count_in(r) == 5 and answered_by(group, r) is survivor
