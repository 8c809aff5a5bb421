"""python -m htag_sse [APP] / htag-sse [APP]: serve an htag app (development, or simple production).

APP is main:App, main.py, path/to/file.py:Class or package.module:Class.
Without it: index:App if index.py defines App, else an app that lists the
htag apps of this directory and opens any of them.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import sys
import time
import traceback
import webbrowser
from pathlib import Path
from typing import Any

from .app import HtagSSE
from .errors import AppLoadError, ConfigError
from .explorer import explorer, open_route
from .loader import load, parse_target, tag_classes_in
from .server import LOOPS, config, run_with, worker_process

ENV = "HTAG_SSE_CLI"  # the parsed options, for worker processes that rebuild the app
log = logging.getLogger("htag_sse")


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
                   help="where sessions are kept (diskcache; HTAG_SSE_DIR)")
    p.add_argument("--parano", action="store_true", help="seal every body and event with AES-GCM")
    p.add_argument("--debug", action="store_true", help="full tracebacks in pages and in errors")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"], help="log level")
    p.add_argument("--loop", default="asyncio", choices=LOOPS, help="event loop (uvloop: pip install htag-sse[uvloop])")
    return p


def chosen(options: dict[str, Any]) -> str | None:
    """The app named, else ``index:App`` if ``index.py`` defines ``App``, else None (the app list)."""
    index = Path(options["cwd"]) / "index.py"
    if options["app"] is None and index.is_file() and "App" in tag_classes_in(index.read_text(encoding="utf-8")):
        return "index:App"
    return options["app"]


def build(options: dict[str, Any]) -> HtagSSE:
    """The app the options describe (also run by each worker process)."""
    cwd = Path(options["cwd"])
    common = {"session_dir": options["session_dir"], "parano": options["parano"], "debug": options["debug"]}
    spec = chosen(options)
    if spec is None:
        return HtagSSE(explorer(cwd), routes=[open_route(cwd, options["debug"])], **common)
    return HtagSSE(load(parse_target(spec, cwd)), **common)


def __getattr__(name: str) -> Any:
    """``htag_sse.cli:served``: worker processes import the app from here."""
    if name == "served":
        return build(json.loads(os.environ[ENV]))
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.log_level != "debug":
        logging.getLogger("htag").setLevel(logging.WARNING)  # htag tells every tag creation at INFO
    options = {**vars(args), "cwd": os.getcwd()}
    try:
        if args.reload and args.workers > 1:
            raise ConfigError("--reload runs one worker: drop --workers")
        cfg = config(args.host, args.port, log_level=args.log_level, certfile=args.certfile, keyfile=args.keyfile)
        cfg.errorlog = logging.getLogger("hypercorn.error")  # through our logging setup, once
        os.environ[ENV] = json.dumps(options)
        app = build(options)  # fail here, clearly, before any process starts
        what = chosen(options) or "the list of the apps in " + options["cwd"]
        sockets = cfg.create_sockets()  # bound now: --port 0 gets its port
        url = _url(sockets, bool(args.certfile))
        print(f"htag-sse: serving {what} at {url} (Ctrl-C to stop)", flush=True)
        if args.open:
            webbrowser.open(url)
        if args.reload:
            reloading(cfg, sockets, Path(options["cwd"]), args.loop)
        else:
            run_with(app, cfg, sockets, workers=args.workers, loop=args.loop, import_path="htag_sse.cli:served")
    except (AppLoadError, ConfigError) as e:
        if args.debug:
            traceback.print_exc()
        print(f"htag-sse: {e}", file=sys.stderr)
        return 2
    return 0


def _url(sockets: Any, tls: bool) -> str:
    sock = (sockets.secure_sockets or sockets.insecure_sockets)[0]
    host, port = sock.getsockname()[:2]
    return f"{'https' if tls else 'http'}://{'[' + host + ']' if ':' in host else host}:{port}"


def reloading(cfg: Any, sockets: Any, root: Path, loop: str) -> None:
    """Serve from a child process; start a new one when a .py file under ``root`` changes.

    Open pages lose their stream, reconnect to the new process and rerun there
    with the new code (their state is in the session).
    """
    ctx = multiprocessing.get_context("spawn")
    cfg.application_path, cfg.worker_class = "htag_sse.cli:served", loop
    seen = _mtimes(root)
    while True:
        stop = ctx.Event()
        child = ctx.Process(target=worker_process, kwargs={"cfg": cfg, "sockets": sockets, "stop": stop})
        child.start()
        try:
            while child.is_alive():
                time.sleep(0.5)
                now = _mtimes(root)
                if now != seen:
                    changed = sorted(str(p.relative_to(root)) for p in set(now) | set(seen) if now.get(p) != seen.get(p))
                    print(f"htag-sse: {', '.join(changed)} changed: reloading", flush=True)
                    seen = now
                    break
            else:
                print("htag-sse: the server stopped; fix the error, it restarts on the next change", flush=True)
                while _mtimes(root) == seen:
                    time.sleep(0.5)
                seen = _mtimes(root)
        finally:
            stop.set()
            child.join(10)
            if child.is_alive():
                child.terminate()


def _mtimes(root: Path) -> dict[Path, float]:
    found = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).parts
        if not any(p.startswith(".") or p in ("__pycache__", "venv", ".venv", "node_modules") for p in parts[:-1]):
            try:
                found[path] = path.stat().st_mtime
            except OSError:
                continue
    return found


if __name__ == "__main__":
    sys.exit(main())
