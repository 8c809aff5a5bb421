"""python -m htag_sse [APP] / htag-sse [APP]: serve an htag app (development, or simple production).

APP is main:App, main.py, path/to/file.py:Class or package.module:Class.
Without it: index:App if there is an index.py, else an app that lists the
htag apps of this directory and opens any of them. See docs/devserver.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
import webbrowser
from pathlib import Path
from typing import Any

from hypercorn.config import Sockets
from starlette.middleware import Middleware

from .app import HtagSSE
from .errors import AppLoadError, ConfigError
from .explorer import LocalOnly, explorer, local_hosts, open_route
from .loader import apps_in, load, parse_target
from .server import LOG_LEVELS, LOOPS, SERVERS, RunConfig, bind, hypercorn_config, run_with
from .server.logs import setup_logging
from .server.reload import reloading

ENV = "HTAG_SSE_CLI"  # the parsed options, for the server processes that rebuild the app
#: The command line's options that are run options (:class:`~htag_sse.server.RunConfig`).
RUN_OPTIONS = ("host", "port", "workers", "loop", "log_level", "access_log", "certfile", "keyfile", "server")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="htag-sse", description=__doc__, formatter_class=_Formatter)
    p.add_argument("app", nargs="?", default=None, help="the app: main:App, main.py, dir/file.py:Class, pkg.mod:Class")
    d = RunConfig()  # the defaults
    p.add_argument("--host", help=f"address to listen on (default: $HTAG_SSE_HOST, else {d.host})")
    p.add_argument(
        "--port", type=int, help=f"port, 0: a free one, printed (default: $PORT or $HTAG_SSE_PORT, else {d.port})"
    )
    p.add_argument("--workers", type=int, default=d.workers, help="worker processes")
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
    p.add_argument("--log-level", default=d.log_level, choices=LOG_LEVELS, help="log level")
    p.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=d.access_log,
                   help="a line per request (every click is one)")  # fmt: skip
    p.add_argument("--loop", default=d.loop, choices=LOOPS, help="event loop (uvloop: pip install htag-sse[uvloop])")
    p.add_argument("--server", default=d.server, choices=SERVERS,
                   help="the HTTP server (granian: pip install htag-sse[granian]; see docs/performance.md)")  # fmt: skip
    return p


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each default, but for options whose help says where theirs comes from."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return action.help if action.default is None else super()._get_help_string(action)


def chosen(options: dict[str, Any]) -> str | None:
    """The app named, else ``index:App`` if there is an ``index.py`` (that defines ``App``, or is
    broken: its error is shown rather than hidden by the app list), else None (the app list)."""
    index = Path(options["cwd"]) / "index.py"
    if options["app"] is None and index.is_file():
        try:
            if "App" in apps_in(index.read_text(encoding="utf-8"), index):
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
    if spec is None:  # the app list: for this machine's names only (DNS rebinding)
        hosts = local_hosts(options["host"])
        return HtagSSE(explorer(cwd), routes=[open_route(cwd, options["debug"], hosts)],
                       middleware=[Middleware(LocalOnly, hosts=hosts)], **common)  # fmt: skip
    return HtagSSE(load(parse_target(spec, cwd)), **common)


def __getattr__(name: str) -> Any:
    """``htag_sse.cli:served``: server processes import the app from here."""
    if name == "served":
        return build(json.loads(os.environ[ENV]))
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(args.log_level)
    try:
        run = RunConfig.from_environment({name: getattr(args, name) for name in RUN_OPTIONS})
        if args.reload and args.workers != 1:
            raise ConfigError("--reload runs one server process: drop --workers")
        if args.reload and run.server != "hypercorn":
            raise ConfigError("--reload serves with hypercorn: drop --server")
        if run.server == "granian":
            from .server.granian import reserved

            run = reserved(run)  # now: --port 0 gets its port
        options = {**vars(args), "host": run.host, "port": run.port, "cwd": os.getcwd()}
        cfg = hypercorn_config(run)
        os.environ[ENV] = json.dumps(options)
        app = None if args.reload else build(options)  # fail here, clearly, before any process starts
        sockets = bind(cfg) if run.server == "hypercorn" else None  # now: --port 0 gets its port
        url = _url(sockets, bool(args.certfile)) if sockets else _address(run)
        what = chosen(options) or "the list of the apps in " + options["cwd"]
        print(f"htag-sse: serving {what} at {url} (Ctrl-C to stop)", flush=True)
        if args.open:
            webbrowser.open(url)
        if args.reload and sockets:
            reloading(cfg, sockets, Path(options["cwd"]), args.loop, args.log_level)
        elif sockets:
            run_with(app, run, sockets, import_as="htag_sse.cli:served")
        else:
            from .server.granian import serve

            serve(app, run, import_as="htag_sse.cli:served")
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


def _address(run: RunConfig) -> str:
    return f"{'https' if run.tls else 'http'}://{'[' + run.host + ']' if ':' in run.host else run.host}:{run.port}"


if __name__ == "__main__":
    sys.exit(main())
