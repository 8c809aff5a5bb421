"""What a worker asks of a page another worker owns, and what comes back: data that crosses
processes, typed here and checked where it enters one (:meth:`PageCall.from_payload`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..adapter import Init
from ..errors import RequestError
from ..eventlog import Events


def _bad(what: str) -> RequestError:
    return RequestError(400, "bad_call", f"a relayed call with {what}")


@dataclass(frozen=True, slots=True)
class PageCall:
    """A relayed request about page ``pid``, made in session ``sid`` (``token``: the page token it
    carried; ``body``/``seq``: an interaction; ``cursor``/``timeout_s``: a pull of events; ``seen``:
    the newest version of the session the relaying worker knows was written)."""

    pid: str
    sid: str | None
    token: str | None = None
    seq: int | None = None
    body: bytes | RequestError | None = None
    cursor: int | None = None
    timeout_s: float = 0.0
    seen: int = 0

    def to_payload(self) -> dict[str, Any]:
        body: Any = self.body
        if isinstance(body, RequestError):  # refused before it could be read (413): it uses up its number
            body = {"refused": [body.status, body.code, body.message]}
        return {"pid": self.pid, "sid": self.sid, "token": self.token, "seq": self.seq, "body": body,
                "cursor": self.cursor, "timeout_s": self.timeout_s, "seen": self.seen}  # fmt: skip

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> PageCall:
        pid, sid, token, seq, body = p.get("pid"), p.get("sid"), p.get("token"), p.get("seq"), p.get("body")
        cursor, timeout_s, seen = p.get("cursor"), p.get("timeout_s", 0.0), p.get("seen", 0)
        if not isinstance(pid, str) or not isinstance(sid, str | None) or not isinstance(token, str | None):
            raise _bad("no page id, or a bad session or token")
        for name, n in (("seq", seq), ("cursor", cursor), ("seen", seen)):
            if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 0):
                raise _bad(f"a bad {name}")
        if not isinstance(timeout_s, int | float) or isinstance(timeout_s, bool) or not 0 <= timeout_s <= 3600:
            raise _bad("a bad timeout")
        if isinstance(body, dict):
            try:
                status, code, text = body["refused"]
                body = RequestError(int(status), str(code), str(text))
            except (KeyError, TypeError, ValueError):
                raise _bad("a bad refusal") from None
        elif body is not None and not isinstance(body, bytes):
            raise _bad("a body that is not bytes")
        return cls(pid, sid, token, seq, body, cursor, float(timeout_s), seen or 0)


@dataclass(frozen=True, slots=True)
class TakeoverCall:
    """A GET of app ``app`` with ``init`` in session ``sid`` asks a page's owner to hand it the page:
    page ``pid`` with its tab's ``token`` (a reload), or (``token`` None) page ``pid`` if its tab
    released it. ``root`` is the request's root path (the page's scripts are found under it); ``seen``:
    the newest version of the session the GET's worker knows was written."""

    pid: str
    sid: str
    app: str
    init: Init
    token: str | None
    root: str
    seen: int = 0

    def to_payload(self) -> dict[str, Any]:
        return {"pid": self.pid, "sid": self.sid, "app": self.app, "init": [list(self.init[0]), self.init[1]],
                "token": self.token, "root": self.root, "seen": self.seen}  # fmt: skip

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> TakeoverCall:
        pid, sid, app, init, token, root = (p.get(k) for k in ("pid", "sid", "app", "init", "token", "root"))
        texts = (pid, sid, app, root)
        if not all(isinstance(t, str) for t in texts) or not isinstance(token, str | None):
            raise _bad("no page, session, app or root")
        if not (isinstance(init, list) and len(init) == 2 and isinstance(init[0], list) and isinstance(init[1], dict)):
            raise _bad("bad init arguments")
        seen = p.get("seen", 0)
        if not isinstance(seen, int) or isinstance(seen, bool) or seen < 0:
            raise _bad("a bad seen")
        return cls(str(pid), str(sid), str(app), (tuple(init[0]), dict(init[1])), token, str(root), seen)


def interact_reply(answer: dict[str, Any]) -> tuple[int, bytes, int]:
    """(status, body, the session's version after it) of a relayed interaction's answer."""
    status, body, version = answer.get("status"), answer.get("body"), answer.get("version", 0)
    if not isinstance(status, int) or not isinstance(body, bytes) or not isinstance(version, int):
        raise RequestError(502, "bad_reply", "the worker that holds this page answered something unreadable")
    return status, body, version


def html_reply(answer: dict[str, Any]) -> str:
    """The document of a page its owner handed over."""
    html = answer.get("html")
    if not isinstance(html, str):
        raise RequestError(502, "bad_reply", "the worker that holds this page answered something unreadable")
    return html


def events_reply(answer: dict[str, Any]) -> Events:
    """The events of a relayed pull's answer."""
    try:
        return [(int(i), str(d)) for i, d in answer["events"]]
    except (KeyError, TypeError, ValueError):
        raise RequestError(502, "bad_reply", "the worker that holds this page answered something unreadable") from None
