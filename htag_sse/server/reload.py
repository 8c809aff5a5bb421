"""``--reload``, the development server's restarts: a supervisor that watches the files (with
watchfiles when installed), starts a new server process on new code while the old one serves,
and keeps the last good app serving (with the error shown to page loads) while the code is broken.
See docs/devserver.md."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from hypercorn.config import Config, Sockets
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..explorer import LocalOnly, counted_file, error_page, local_hosts, skipped_dir, walk
from ..loader import explain
from .hypercorn import serve
from .logs import setup_logging
from .process import STOP_SIGNALS, import_app, run_loop

log = logging.getLogger("htag_sse")

#: How often the watcher looks at the files when watchfiles is not installed.
POLL_S = 1.0


class Child:
    """A server process of ``--reload`` (see :func:`reload_worker`)."""

    def __init__(self, ctx: Any, cfg: Config, sockets: Sockets, log_level: str, error: str | None = None) -> None:
        self.conn, theirs = ctx.Pipe()
        kwargs = {"cfg": cfg, "sockets": sockets, "conn": theirs, "log_level": log_level, "error": error}
        self.proc = ctx.Process(target=reload_worker, kwargs=kwargs)
        self.grace_s = cfg.graceful_timeout + 5
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited: Ctrl-C is the parent's
        try:
            self.proc.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        theirs.close()

    def send(self, *message: str) -> None:
        try:
            self.conn.send(message)
        except OSError:  # it is gone: its sentinel tells
            pass

    def report(self) -> tuple[str, ...] | None:
        """``("ready",)`` or ``("broken", why)`` once it has loaded the app (or died trying), else None."""
        try:
            if self.conn.poll():
                message: tuple[str, ...] = self.conn.recv()
                return message
        except (EOFError, OSError):
            pass
        if self.proc.exitcode is not None:
            return ("broken", f"the server process exited with code {self.proc.exitcode} while loading the app")
        return None

    def stop(self, serving: bool = True) -> None:
        self.send("stop")
        self.proc.join(self.grace_s if serving else 1.0)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5)
        self.conn.close()


def reloading(cfg: Config, sockets: Sockets, root: Path, loop: str, log_level: str) -> None:
    """Serve from child processes (see :class:`Reloader`) until a stop signal."""
    cfg.application_path, cfg.worker_class = "htag_sse.cli:served", loop
    stopping = threading.Event()
    previous = {
        s: signal.signal(getattr(signal, s), lambda *_: stopping.set()) for s in STOP_SIGNALS if hasattr(signal, s)
    }
    reloader = Reloader(cfg, sockets, log_level)
    try:
        for changed in watch(root, stopping):
            reloader.step(changed)
    finally:
        reloader.stop()
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


class Reloader:
    """The children of ``--reload``: the one serving, and the one loading new code after a change.

    The new one takes over if the code loads; else the error is printed once
    and the serving one keeps its open pages (page loads get the error page),
    or, with no good code yet, the new one serves the error page.
    """

    def __init__(self, cfg: Config, sockets: Sockets, log_level: str) -> None:
        self.cfg, self.sockets, self.log_level = cfg, sockets, log_level
        self.ctx = multiprocessing.get_context("spawn")
        self.serving: Child | None = None
        self.good = False  # the serving child runs the app (not the error page)
        self.trial: Child | None = self.child()
        self.shown: str | None = None  # the error printed last

    def child(self, error: str | None = None) -> Child:
        return Child(self.ctx, self.cfg, self.sockets, self.log_level, error)

    def step(self, changed: list[str]) -> None:
        if changed:
            log.info("%s changed: reloading", ", ".join(changed))
            if self.trial is not None:
                self.trial.stop(serving=False)
            self.trial = self.child()
        if self.trial is not None and (report := self.trial.report()) is not None:
            self.loaded(self.trial, report)
            self.trial = None
        if self.serving is not None and self.serving.proc.exitcode is not None:
            why = f"the server process exited with code {self.serving.proc.exitcode}: it restarts on the next change"
            log.warning("%s", why)
            self.serving, self.shown = None, why
            self.trial = self.trial or self.child(error=why)

    def loaded(self, trial: Child, report: tuple[str, ...]) -> None:
        broken = report[0] == "broken"
        if broken and report[1] != self.shown:
            kept = " (open pages keep the last good code)" if self.good else ""
            log.error("the app cannot load; pages show this until it is fixed%s:\n%s", kept, report[1])
        elif not broken and self.shown is not None:
            log.info("the app loads again")
        self.shown = report[1] if broken else None
        if broken and self.serving is not None:  # it keeps serving, and shows the new error
            self.serving.send(*report)
            trial.stop(serving=False)
            return
        trial.send("serve")
        if self.serving is not None:
            self.serving.stop()
        self.serving, self.good = trial, not broken

    def stop(self) -> None:
        for child in (self.trial, self.serving):
            if child is not None:
                child.stop(serving=child is self.serving)


def watch(root: Path, stopping: threading.Event, poll: bool = False) -> Iterator[list[str]]:
    """Lists of the .py files under ``root`` that changed (relative, with /), an empty one every
    ~0.3 s without change; files that count are those of :func:`~htag_sse.explorer.walk`.
    Uses watchfiles (file system notifications) when installed, else polls every ``POLL_S``."""
    root = root.resolve()
    try:
        import watchfiles
    except ImportError:
        poll = True
    if not poll:

        def counts(change: object, path: str) -> bool:
            rel = Path(path).relative_to(root)
            dirs = [root.joinpath(*rel.parts[: i + 1]) for i in range(len(rel.parts) - 1)]
            return counted_file(Path(path)) and not any(skipped_dir(d) for d in dirs)

        events = watchfiles.watch(root, watch_filter=counts, rust_timeout=300, yield_on_timeout=True,
                                  stop_event=stopping, raise_interrupt=False)  # fmt: skip
        for found in events:
            yield sorted({Path(p).relative_to(root).as_posix() for _, p in found})
        return
    seen = _mtimes(root)
    while not stopping.wait(POLL_S):
        now = _mtimes(root)
        yield sorted(p.relative_to(root).as_posix() for p in set(now) | set(seen) if now.get(p) != seen.get(p))
        seen = now


def _mtimes(root: Path) -> dict[Path, float]:
    found = {}
    for path in walk(root):
        try:
            found[path] = path.stat().st_mtime
        except OSError:  # removed meanwhile
            continue
    return found


def reload_worker(cfg: Config, sockets: Sockets, conn: Connection, log_level: str, error: str | None = None) -> None:
    """A server process of ``--reload``: load the app (unless ``error`` says why not), tell the
    parent (``("ready",)`` or ``("broken", why)``), serve once it answers ``("serve",)``.

    Ctrl-C is the parent's: it stops this process with ``("stop",)``, or by
    going away. ``("broken", why)`` while serving: the code on disk is broken
    (see :class:`Guard`).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup_logging(log_level)
    app = None
    if error is None:
        try:
            app = import_app(cfg.application_path)
        except (Exception, SystemExit) as e:  # noqa: BLE001 - whatever the user's code raised: shown, served
            error = explain(e)
    try:
        conn.send(("broken", error) if error is not None else ("ready",))
        if conn.recv() != ("serve",):
            return
    except (EOFError, OSError):
        return
    bound = cfg.bind[0].rpartition(":")[0].strip("[]")
    guard, stop = Guard(app, error, hosts=local_hosts(bound)), threading.Event()
    threading.Thread(target=_listen, args=(conn, guard, stop), daemon=True).start()
    run_loop(cfg.worker_class, serve(app, cfg, sockets=sockets, stop=stop, served=guard, signals=("SIGTERM",)))


def _listen(conn: Connection, guard: Guard, stop: threading.Event) -> None:
    try:
        while (message := conn.recv())[0] == "broken":
            guard.error = message[1]
    except (EOFError, OSError):
        pass
    stop.set()


class Guard:
    """The app of a ``--reload`` server process, and the error of the code on disk (when it is broken).

    While ``error`` is set, every page GET gets the error page (it reloads
    itself) — for this machine's names only (``hosts``: the error's text may
    hold secrets); the htag requests (``prefix``) of the pages already open
    still reach the last good app, if this process has one.
    """

    def __init__(self, app: ASGIApp | None, error: str | None, prefix: str = "/_htag/",
                 hosts: frozenset[str] | None = frozenset({"localhost", "127.0.0.1", "::1"})) -> None:  # fmt: skip
        self.app, self.error, self.prefix, self.hosts = app, error, prefix, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is not None and (
            self.error is None or scope["type"] != "http" or scope["path"].startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
        elif scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            message = "The app cannot load; this page reloads by itself once the file is fixed."
            page = error_page(500, "The code is broken", message, self.error or "", refresh_s=2, back=False)
            await LocalOnly(page, self.hosts)(scope, receive, send)  # the error's text: for this machine only
        else:
            await PlainTextResponse("the app cannot load: see the server's console", 503)(scope, receive, send)
