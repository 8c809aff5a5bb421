"""python -m htag_sse [APP] / htag-sse [APP]: serve an htag app (development, or simple production).

APP is main:App, main.py, path/to/file.py:Class or package.module:Class.
Without it: index:App if there is an index.py, else an app that lists the
htag apps of this directory and opens any of them. See docs/devserver.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sys
import threading
import traceback
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypercorn.config import Config, Sockets

from .app import HtagSSE
from .errors import AppLoadError, ConfigError
from .explorer import counted_file, explorer, local_hosts, open_route, skipped_dir, walk
from .loader import apps_in, load, parse_target
from .server import LOOPS, STOP_SIGNALS, bind, check, config, reload_worker, run_with, setup_logging

ENV = "HTAG_SSE_CLI"  # the parsed options, for the server processes that rebuild the app
#: How often the watcher looks at the files when watchfiles is not installed.
POLL_S = 1.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="htag-sse", description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("app", nargs="?", default=None, help="the app: main:App, main.py, dir/file.py:Class, pkg.mod:Class")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port (0: a free one, printed)")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--reload", action="store_true", help="restart when a .py file of the directory changes")
    p.add_argument("--open", action="store_true", help="open a browser tab")
    p.add_argument("--certfile", help="TLS certificate (with --keyfile: https, HTTP/2 by ALPN)")
    p.add_argument("--keyfile", help="TLS private key")
    p.add_argument("--session-dir", default=os.environ.get("HTAG_SSE_DIR", ".htag-sse"),
                   help="where sessions are kept (diskcache; HTAG_SSE_DIR)")  # fmt: skip
    p.add_argument("--parano", action="store_true", help="seal every body and event with AES-GCM")
    p.add_argument("--redis", default=os.environ.get("HTAG_SSE_REDIS"),
                   help="share sessions, pages and pushes between hosts through this Redis (HTAG_SSE_REDIS); "
                        "needs HTAG_SSE_SECRET, the same on every host")  # fmt: skip
    p.add_argument("--debug", action="store_true", help="full tracebacks in pages and in errors")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"], help="log level")
    p.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True, help="a line per request")
    p.add_argument("--loop", default="asyncio", choices=LOOPS, help="event loop (uvloop: pip install htag-sse[uvloop])")
    return p


def chosen(options: dict[str, Any]) -> str | None:
    """The app named, else ``index:App`` if there is an ``index.py`` (that defines ``App``, or is
    broken: its error is shown rather than hidden by the app list), else None (the app list)."""
    index = Path(options["cwd"]) / "index.py"
    if options["app"] is None and index.is_file():
        try:
            if "App" in apps_in(index.read_text(encoding="utf-8")):
                return "index:App"
        except (SyntaxError, ValueError, UnicodeDecodeError):
            return "index:App"
    named: str | None = options["app"]
    return named


def build(options: dict[str, Any]) -> HtagSSE:
    """The app the options describe (also run by each server process)."""
    cwd = Path(options["cwd"])
    common = {"session_dir": options["session_dir"], "parano": options["parano"], "debug": options["debug"],
              "redis": options.get("redis")}  # fmt: skip
    spec = chosen(options)
    if spec is None:
        routes = [open_route(cwd, options["debug"], local_hosts(options["host"]))]
        return HtagSSE(explorer(cwd), routes=routes, **common)
    return HtagSSE(load(parse_target(spec, cwd)), **common)


def __getattr__(name: str) -> Any:
    """``htag_sse.cli:served``: server processes import the app from here."""
    if name == "served":
        return build(json.loads(os.environ[ENV]))
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(args.log_level)
    options = {**vars(args), "cwd": os.getcwd()}
    try:
        check(args.workers, args.loop)
        if args.reload and args.workers != 1:
            raise ConfigError("--reload runs one server process: drop --workers")
        cfg = config(args.host, args.port, log_level=args.log_level, access_log=args.access_log,
                     certfile=args.certfile, keyfile=args.keyfile)  # fmt: skip
        os.environ[ENV] = json.dumps(options)
        app = None if args.reload else build(options)  # fail here, clearly, before any process starts
        sockets = bind(cfg)  # now: --port 0 gets its port
        url = _url(sockets, bool(args.certfile))
        what = chosen(options) or "the list of the apps in " + options["cwd"]
        print(f"htag-sse: serving {what} at {url} (Ctrl-C to stop)", flush=True)
        if args.open:
            webbrowser.open(url)
        if args.reload:
            reloading(cfg, sockets, Path(options["cwd"]), args.loop, args.log_level)
        else:
            run_with(app, cfg, sockets, workers=args.workers, loop=args.loop, import_path="htag_sse.cli:served",
                     log_level=args.log_level)  # fmt: skip
    except (AppLoadError, ConfigError) as e:
        if args.debug:
            traceback.print_exc()
        print(f"htag-sse: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C before serving
        return 130
    return 0


def _url(sockets: Sockets, tls: bool) -> str:
    sock = (sockets.secure_sockets or sockets.insecure_sockets)[0]
    host, port = sock.getsockname()[:2]
    return f"{'https' if tls else 'http'}://{'[' + host + ']' if ':' in host else host}:{port}"


class Child:
    """A server process of ``--reload`` (see :func:`~htag_sse.server.reload_worker`)."""

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
            print(f"htag-sse: {', '.join(changed)} changed: reloading", flush=True)
            if self.trial is not None:
                self.trial.stop(serving=False)
            self.trial = self.child()
        if self.trial is not None and (report := self.trial.report()) is not None:
            self.loaded(self.trial, report)
            self.trial = None
        if self.serving is not None and self.serving.proc.exitcode is not None:
            why = f"the server process exited with code {self.serving.proc.exitcode}: it restarts on the next change"
            print(f"htag-sse: {why}", file=sys.stderr, flush=True)
            self.serving, self.shown = None, why
            self.trial = self.trial or self.child(error=why)

    def loaded(self, trial: Child, report: tuple[str, ...]) -> None:
        broken = report[0] == "broken"
        if broken and report[1] != self.shown:
            kept = " (open pages keep the last good code)" if self.good else ""
            print(f"htag-sse: the app cannot load; pages show this until it is fixed{kept}:\n{report[1]}",
                  file=sys.stderr, flush=True)  # fmt: skip
        elif not broken and self.shown is not None:
            print("htag-sse: the app loads again", flush=True)
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


if __name__ == "__main__":
    sys.exit(main())
