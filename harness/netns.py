"""Hosts apart: each host of a topology in a network namespace of its own (its own loopback, its
own addresses), joined to this machine by a veth pair, every hop between them delayed by
``DELAY_US`` each way — host to Redis, load balancer to host — as inside a datacenter.

Every hop goes through a relay on this machine, ``netdelay.c`` (compiled once with the machine's
gcc): it adds the delay itself on kernels built without ``tc netem`` (``CONFIG_NET_SCH_NETEM``,
as on this project's CI machines); where netem exists, netem delays the veth pairs and the relay
only forwards. Needs root; :func:`refused` says why not.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import marks
from .hosts import Hosts
from .processes import DIE_WITH_PARENT, free_port, listening, wait_until
from .redisserver import RedisServer

#: One-way delay between hosts (0.25 ms each way: 0.5 ms round trip, as inside a datacenter).
DELAY_US = 250
SOURCE = Path(__file__).with_name("netdelay.c")
IP = shutil.which("ip") or "/usr/sbin/ip"
TC = shutil.which("tc") or "/usr/sbin/tc"


def refused() -> str | None:
    """Why hosts cannot be set apart here (None: they can)."""
    name = "hn" + secrets.token_hex(3)
    made = subprocess.run([IP, "netns", "add", name], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        return f"`ip netns add` is refused here ({made.stderr.strip() or made.returncode}): hosts apart need root"
    _try(IP, "netns", "del", name)
    if not shutil.which("gcc"):
        return "gcc (to build the relay between namespaces, harness/netdelay.c) is not installed"
    return None


def _try(*argv: str) -> bool:
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0


def netem_works() -> bool:
    """Whether this kernel has tc netem (tried on a throwaway veth pair)."""
    a, b = "hq" + secrets.token_hex(3), "hr" + secrets.token_hex(3)
    if not _try(IP, "link", "add", a, "type", "veth", "peer", "name", b):
        return False
    try:
        return _try(TC, "qdisc", "add", "dev", a, "root", "netem", "delay", "1ms")
    finally:
        _try(IP, "link", "del", a)


def delay_line(build: Path) -> Path:
    """The user-space delay line, built once into ``build``."""
    binary = build / "netdelay"
    if not binary.exists():
        build.mkdir(parents=True, exist_ok=True)
        subprocess.run(["gcc", "-O2", "-pthread", "-o", str(binary), str(SOURCE)], check=True)
    return binary


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@contextlib.contextmanager
def namespace(index: int, subnet: int, delay: bool) -> Iterator[tuple[list[str], str, str]]:
    """A network namespace joined by a veth pair: (command prefix, its address, ours)."""
    tag = secrets.token_hex(3)
    ns, outer, inner = f"hn{tag}{index}", f"ho{tag}{index}", f"hi{tag}{index}"
    ours, theirs = f"10.{subnet}.{index}.1", f"10.{subnet}.{index}.2"
    _run(IP, "netns", "add", ns)
    try:
        _run(IP, "link", "add", outer, "type", "veth", "peer", "name", inner)
        _run(IP, "link", "set", inner, "netns", ns)
        _run(IP, "addr", "add", f"{ours}/30", "dev", outer)
        _run(IP, "link", "set", outer, "up")
        _run(IP, "netns", "exec", ns, IP, "addr", "add", f"{theirs}/30", "dev", inner)
        _run(IP, "netns", "exec", ns, IP, "link", "set", inner, "up")
        _run(IP, "netns", "exec", ns, IP, "link", "set", "lo", "up")
        if delay:  # netem: on both ends of the pair, each way
            _run(TC, "qdisc", "add", "dev", outer, "root", "netem", "delay", f"{DELAY_US}us")
            _run(IP, "netns", "exec", ns, TC, "qdisc", "add", "dev", inner, "root", "netem", "delay", f"{DELAY_US}us")
        yield [IP, "netns", "exec", ns], theirs, ours
    finally:
        _try(IP, "link", "del", outer)
        _try(IP, "netns", "del", ns)


@contextlib.contextmanager
def delayed(binary: Path, delay_us: int, listen: tuple[str, int], target: tuple[str, int]) -> Iterator[tuple[str, int]]:
    """A relay from ``listen`` to ``target``, adding ``delay_us`` each way: where to connect. It stands
    for a network, which the hosts' CPU load does not slow down: it runs with a real-time priority
    (else a CPU hog beside the tests starves it and Redis calls through it time out)."""
    chrt = shutil.which("chrt")
    realtime = chrt is not None and subprocess.run([chrt, "--fifo", "10", "true"], check=False).returncode == 0
    first = [chrt, "--fifo", "10"] if chrt and realtime else []
    proc = subprocess.Popen([*DIE_WITH_PARENT, *first, str(binary), listen[0], str(listen[1]), target[0],
                             str(target[1]), str(delay_us)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_until(lambda: listening(listen[1], listen[0]) or proc.poll() is not None, 10, "the delay line")
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else proc.returncode
        yield listen
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@contextlib.contextmanager
def apart(redis: RedisServer, tmp: Path, home: str = "/", **hosts: Any) -> Iterator[tuple[Hosts, list[tuple[str, int]]]]:
    """Two hosts of two workers in namespaces of their own, on ``redis``: the hosts, and where a load
    balancer on this machine reaches each (through the delay)."""
    marks.starting("netns")
    why = refused()
    if why is not None:
        raise RuntimeError(why)
    netem = netem_works()
    binary, delay_us = delay_line(tmp / "build"), 0 if netem else DELAY_US
    subnet = 100 + secrets.randbelow(150)
    with contextlib.ExitStack() as stack:
        group = Hosts(redis.url, tmp, n=2, workers=2, home=home, **hosts)
        entries = []
        for i, host in enumerate(group):
            prefix, theirs, ours = stack.enter_context(namespace(i, subnet, delay=netem))
            to_redis = stack.enter_context(delayed(binary, delay_us, (ours, free_port()), ("127.0.0.1", redis.port)))
            host.prefix, host.address = prefix, theirs
            host.redis_url = f"redis://{to_redis[0]}:{to_redis[1]}/0"
            entries.append(stack.enter_context(delayed(binary, delay_us, ("127.0.0.1", free_port()), (theirs, host.port))))
        stack.callback(group.kill)
        group.start()
        yield group, entries
