"""bench/tags.py's ``Counter`` served by htag 1.0's own runner and by htagweb 1.0, for
bench_peers.py, each in its own virtualenv (htag 1.0.0 has no ``tag.update()`` over HTTP
and htagweb 1.0.0 none at all, so there is no push app):

    python -m bench.peer_htag1 PORT                                # htag.runners.Runner, http_only
    python -m uvicorn --factory bench.peer_htag1:htagweb ...       # htagweb.Runner, http_only
"""

from __future__ import annotations

import os
import sys
from typing import Any

from bench.tags import Counter


def htagweb() -> Any:
    """htagweb's ASGI app: a process per user, interactions POSTed to ``/_/<module.Class>``."""
    from htagweb import Runner
    from htagweb.fifo import AsyncStream

    # htagweb keeps each user's process sockets in /tmp/<user id>/ and, at startup, kills every
    # process named by a PID file it finds there: use the bench's throwaway directory instead.
    AsyncStream.FOLDER = os.environ["HTAGWEB_DIR"]
    return Runner(Counter, http_only=True)


def main() -> None:
    """htag 1.0's own pure-python server: one page instance per route, shared by every visitor."""
    from htag.runners import Runner

    Runner(Counter, host="127.0.0.1", port=int(sys.argv[1]), interface=0, http_only=True).run()


if __name__ == "__main__":
    main()
