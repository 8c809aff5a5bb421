"""One tab's side of the wire, spoken exactly as the browser client (``static/htag-sse.js``) speaks
it: the page's boot settings, its token (and key, in parano mode), the interaction numbers
(``X-Htag-Seq`` from 1), the last event applied; POSTs, reruns, long-polls and the release beacon.
The page model on top of it is :class:`~htag_sse.testing.tab.Tab`."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..parano import b64, unb64
from .boot import boot_config
from .dom import HtagTestError

#: Refusals that used up their interaction's number (the browser client's USED_UP).
USED_UP = frozenset({"bad_interaction", "unknown_event", "forbidden_method", "unknown_id", "too_large"})
#: What parano messages are sealed for (the browser client's PURPOSE).
UP, DOWN, PUSHED, RERUN = b"htag-sse up", b"htag-sse down", b"htag-sse event", b"htag-sse rerun"


class Channel:
    """What a tab knows of its page on the server, and the requests it sends about it."""

    def __init__(self, http: httpx.AsyncClient, origin: str) -> None:
        self.http, self.origin = http, origin
        self.config: dict[str, Any] = {}  # the page's boot settings (htagSSE({...}))
        self.id = self.token = ""
        self.seq = self.last = self.last_status = 0  # last interaction number, last event applied, last HTTP status
        self.key: bytes | None = None

    def url(self, what: str) -> str:
        return f"{self.config['base']}/{self.id}/{what}"

    async def load(self, path: str) -> str:
        """GET ``path``: a new page; its HTML."""
        r = await self.http.get(path)
        if r.status_code != 200 or "htagSSE(" not in r.text:
            raise HtagTestError(f"GET {path} answered {r.status_code}, not an htag-sse page: {r.text[:300]}")
        self.config = boot_config(r.text)
        self.adopt(self.config["page"], self.config["token"], self.config["last"], self.config.get("key"))
        return r.text

    def adopt(self, pid: str, token: str, last: int, key: str | None) -> None:
        self.id, self.token, self.last, self.seq = pid, token, last, 0
        self.key = unb64(key) if key else None

    async def post(self, o: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """One POST, as the browser client's ``sendBatch`` (a batch of one): (status, the actions on 200,
        else the error's JSON). A refusal that used no number gives it back."""
        self.seq = n = self.seq + 1
        body = self._seal(UP, {"n": n, "o": o}) if self.key else json.dumps(o)
        headers = {"X-Htag-Token": self.token, "X-Htag-Seq": str(n), "Origin": self.origin,
                   "Content-Type": "text/plain" if self.key else "application/json"}  # fmt: skip
        r = await self.http.post(self.url("interact"), content=body.encode(), headers=headers)
        self.last_status = r.status_code
        if r.status_code != 200:
            try:
                info = r.json()
            except ValueError:
                info = {}
            info = info if isinstance(info, dict) else {}
            self.seq = n - 1 + (info.get("error") in USED_UP)  # the numbers nothing used are free again
            return r.status_code, {"message": r.text[:300], **info}
        message = self._open(DOWN, r.text) if self.key else {"n": n, "a": r.json()}
        if message.get("n") != n:
            raise HtagTestError(f"page {self.id} answered interaction {message.get('n')} to interaction {n}")
        return 200, dict(message["a"])

    async def rerun(self) -> dict[str, Any] | None:
        """Ask the server to recreate the page it lost: its fresh body, id, token... (None: it cannot)."""
        r = await self.http.post(self.url("rerun"), headers={"X-Htag-Token": self.token, "Origin": self.origin})
        if r.status_code != 200:
            return None
        fresh = self._open(RERUN, r.text) if self.key else r.json()
        self.adopt(fresh["page"], fresh["token"], fresh["last"], fresh.get("key"))
        return dict(fresh)

    async def poll(self, shared: bool) -> list[list[Any]] | None:
        """One long-poll for events after :attr:`last` (``None``: the page is gone)."""
        if shared:
            r = await self.http.get(f"{self.config['base']}/poll", params={"p": f"{self.id}:{self.last}"})
        else:
            r = await self.http.get(self.url("poll"), params={"after": self.last})
        if r.status_code == 410 or r.status_code == 200 and self.id in r.json().get("gone", ()):
            return None
        if r.status_code != 200:
            raise HtagTestError(f"the long-poll of page {self.id} answered {r.status_code}: {r.text[:300]}")
        answer = r.json()
        return list(answer["events"] if "events" in answer else answer["pages"].get(self.id, []))

    def event(self, eid: int, data: Any) -> dict[str, Any] | None:
        """A pushed event's actions (``None``: a sealed event replayed or moved, ignored)."""
        if not self.key:
            return dict(data)
        message = self._open(PUSHED, data)
        return dict(message["a"]) if message.get("i") == eid else None

    async def release(self) -> None:
        """The tab goes (``pagehide``): ``navigator.sendBeacon`` of the token."""
        await self.http.post(self.url("release"), content=self.token.encode(),
                             headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": self.origin})  # fmt: skip

    def _seal(self, purpose: bytes, message: dict[str, Any]) -> str:
        assert self.key is not None
        nonce = os.urandom(12)
        return b64(nonce + AESGCM(self.key).encrypt(nonce, json.dumps(message).encode(), purpose))

    def _open(self, purpose: bytes, sealed: str) -> dict[str, Any]:
        assert self.key is not None
        raw = unb64(sealed.strip())
        try:
            return dict(json.loads(AESGCM(self.key).decrypt(raw[:12], raw[12:], purpose)))
        except (InvalidTag, ValueError) as e:
            raise HtagTestError(f"a sealed message for page {self.id} does not open with its key ({e!r})") from None
