"""A page's record in the store (``p:<page id>``): what any worker needs to reach the page, or to
rerun it once its live instance is gone. Data only (JSON), checked when it is read back: a record
is written by one process and read by others."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..adapter import Init
from ..errors import ConfigError
from ..parano import b64, unb64
from ..settings import Route

#: How long a page's record outlives its creation (or its last takeover): a tab left longer reloads.
RECORD_TTL_S = 86400.0


def record_key(pid: str) -> str:
    return "p:" + pid


@dataclass(frozen=True, slots=True)
class PageRecord:
    sid: str | None  # the session the page belongs to
    app: str  # the app class, ``module:QualName``
    init: Init  # its init arguments
    token: str  # the page token of the tab holding it now
    route: Route  # its route options
    key: bytes | None = None  # its parano key
    before: tuple[str, ...] = ()  # the tokens of the tabs it was taken over from (a tab back from bfcache)

    def encode(self) -> bytes:
        return json.dumps({
            "sid": self.sid, "app": self.app, "init": [list(self.init[0]), self.init[1]], "token": self.token,
            "route": self.route.to_dict(), "key": b64(self.key) if self.key else None, "before": list(self.before),
        }).encode()  # fmt: skip

    @classmethod
    def decode(cls, blob: bytes | None) -> PageRecord | None:
        """The record ``blob`` holds, or ``None`` if it is missing or not a page record."""
        if not blob:
            return None
        try:
            data: Any = json.loads(blob)
            sid, app, init, token, route = (data[k] for k in ("sid", "app", "init", "token", "route"))
            key, before = data.get("key"), data.get("before", [])
            args, kargs = init
            ok = (
                isinstance(sid, str | None) and isinstance(app, str) and isinstance(token, str)
                and isinstance(args, list) and isinstance(kargs, dict) and isinstance(route, dict)
                and isinstance(key, str | None) and isinstance(before, list) and all(isinstance(t, str) for t in before)
            )  # fmt: skip
            if not ok:
                return None
            init = (tuple(args), kargs)
            return cls(sid, app, init, token, Route.from_dict(route), unb64(key) if key else None, tuple(before))
        except (ValueError, TypeError, KeyError, ConfigError):
            return None
