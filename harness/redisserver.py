"""Real redis-server processes for tests: one server, or a 3-master Cluster, each in a temporary
directory on 127.0.0.1, waited for with deadlines and killed at teardown."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from . import marks
from .processes import DIE_WITH_PARENT, free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
def ping(port: int, timeout_s: float = 0.5) -> bool:
    """PING over a raw socket: no client library involved."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
        s.sendall(b"PING\r\n")
        return s.recv(64).startswith(b"+PONG")


class RedisServer:
    """``RedisServer(port=..., persistence=False).start()``, then ``stop()``, ``kill()``, ``restart()``."""

    def __init__(
        self, port: int | None = None, *, persistence: bool = False, cluster: bool = False, extra: tuple[str, ...] = ()
    ) -> None:
        self.port = port or free_port(cluster_bus=cluster)
        self.persistence, self.cluster, self.extra = persistence, cluster, extra
        self.dir = Path(tempfile.mkdtemp(prefix="htag-sse-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        argv = [
            *DIE_WITH_PARENT,
            REDIS_SERVER,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--enable-debug-command",
            "yes",
            "--logfile",
            str(self.dir / "redis.log"),
        ]
        if self.persistence:
            argv += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            argv += ["--save", "", "--appendonly", "no"]
        if self.cluster:
            argv += [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(self.dir / "nodes.conf"),
                "--cluster-node-timeout",
                "2000",
            ]
        return argv + list(self.extra)

    def start(self, timeout_s: float = 10.0) -> RedisServer:
        marks.starting("redis")
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited ({self.proc.returncode}): {self.log()}")
            try:
                if ping(self.port):
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"redis-server on port {self.port} did not answer within {timeout_s} s")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: nothing is saved."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> RedisServer:
        self.stop()
        return self.start()

    def cli(self, *args: str) -> str:
        """``redis-cli`` on this server (as someone with access to Redis but not to the app's secret)."""
        return self.raw(*args).decode(errors="replace").strip()

    def raw(self, *args: str, stdin: bytes | None = None) -> bytes:
        """``redis-cli``'s raw output (``-x``: ``stdin`` is the last argument)."""
        done = subprocess.run(
            [REDIS_CLI, "-p", str(self.port), *args], input=stdin, check=False, capture_output=True, timeout=10
        )
        return done.stdout

    def stall(self, seconds: float) -> subprocess.Popen[bytes]:
        """``DEBUG SLEEP``: the server answers nothing for ``seconds`` (wait() on what is returned)."""
        return subprocess.Popen(
            [REDIS_CLI, "-p", str(self.port), "DEBUG", "SLEEP", str(seconds)], stdout=subprocess.DEVNULL
        )

    async def stalled(self) -> bool:
        """Whether the server does not answer a PING within 0.2 s."""
        try:
            return not ping(self.port, 0.2)
        except TimeoutError:
            return True

    async def blocked(self, n: int) -> bool:
        """Whether at least ``n`` clients wait in a blocking command (XREAD BLOCK)."""
        info = self.cli("INFO", "clients")
        return any(line.startswith("blocked_clients:") and int(line.split(":")[1]) >= n for line in info.split())

    def log(self) -> str:
        try:
            return (self.dir / "redis.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def cleanup(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisCluster:
    """``masters`` redis-server processes joined in a Cluster (no replicas), waited for until
    every node says ``cluster_state:ok``."""

    def __init__(self, masters: int = 3) -> None:
        self.nodes = [RedisServer(cluster=True) for _ in range(masters)]

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}"

    def start(self, timeout_s: float = 30.0) -> RedisCluster:
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        done = subprocess.run(
            [REDIS_CLI, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=False,
            capture_output=True,
            timeout=timeout_s,
        )
        if done.returncode != 0:
            raise AssertionError(f"redis-cli --cluster create failed: {done.stdout.decode()} {done.stderr.decode()}")
        deadline = time.monotonic() + timeout_s
        while not all("cluster_state:ok" in n.cli("CLUSTER", "INFO") for n in self.nodes):
            if time.monotonic() > deadline:
                raise AssertionError("the cluster did not reach cluster_state:ok")
            time.sleep(0.05)
        return self

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()
