"""Real processes: free ports, waiting for a condition with a deadline, the environment of a
child process, the worker processes of a server, and :class:`Server` (a server in a subprocess
on 127.0.0.1, in a process group of its own)."""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import marks

ROOT = Path(__file__).resolve().parents[1]
#: util-linux (Linux): a child gets SIGKILL when the process that started it dies: no orphan server.
#: (Linux's parent-death signal follows the *thread* that started the child: start servers from the
#: main thread, or from threads that live as long as the servers.)
DIE_WITH_PARENT = [setpriv, "--pdeathsig", "KILL"] if (setpriv := shutil.which("setpriv")) else []


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


def free_port(cluster_bus: bool = False) -> int:
    """A free loopback port; with ``cluster_bus``, port + 10000 (a Redis Cluster's bus) is free too."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if not cluster_bus:
            return port
        if port < 55000 and _bindable(port + 10000):
            return port


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def listening(port: int, address: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on ``address``:``port``."""
    try:
        with socket.create_connection((address, port), timeout=0.2):
            return True
    except OSError:
        return False


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
    """Await until ``predicate()`` (a value, or an awaitable) is truthy; fail the test past ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
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
        marks.starting("server")
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


