"""A tab that sends exactly what a test tells it (attacks, malformed bodies, forged headers),
numbered and signed as the browser client numbers and signs its own: the page's token, the next
``X-Htag-Seq``. Pages are read with :mod:`htag_sse.testing.boot`, as the test client reads them.
For tests written as a user would, use :class:`htag_sse.testing.HtagTestClient`."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from htag_sse.testing.boot import boot_config, interactions


@dataclass
class RawTab:
    client: httpx.AsyncClient
    html: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    seq: int = 0

    @classmethod
    async def open(cls, client: httpx.AsyncClient, path: str = "/") -> RawTab:
        tab = cls(client)
        r = await client.get(path)
        assert r.status_code == 200, r.text
        tab.load(r.text)
        return tab

    def load(self, page_html: str) -> None:
        self.html = page_html
        self.config = boot_config(page_html)
        self.calls = interactions(page_html)
        self.seq = 0

    def adopt(self, fresh: dict[str, Any]) -> None:
        """Switch to the page a rerun answered (as the browser client does)."""
        self.config.update(page=fresh["page"], token=fresh["token"], last=fresh["last"])
        self.calls = interactions(fresh["body"])
        self.html = fresh["body"]
        self.seq = 0

    @property
    def page(self) -> str:
        return self.config["page"]

    def url(self, what: str) -> str:
        return f"{self.config['base']}/{self.page}/{what}"

    async def post(self, body: Any, *, raw: bytes | None = None, headers: dict[str, Any] | None = None) -> httpx.Response:
        """POST one interaction (or a list: a batch) as the browser client does: with the page's
        token and the next sequence number (a test may give its own ``X-Htag-Seq``)."""
        headers = dict(headers or {})
        given = headers.get("X-Htag-Seq")
        if given is None:
            self.seq += 1
            headers["X-Htag-Seq"] = str(self.seq)
        elif isinstance(given, str) and given.isdigit():
            self.seq = int(given) + (len(body) - 1 if isinstance(body, list) else 0)
        h = {"X-Htag-Token": self.config["token"], "Content-Type": "application/json", **headers}
        content = raw if raw is not None else json.dumps(body).encode()
        r = await self.client.post(self.url("interact"), content=content, headers=h)
        if given is None and isinstance(body, list):
            self.seq += len(body) - 1
        return r

    async def forge(self, body: Any, headers: dict[str, Any]) -> httpx.Response:
        """What an attacker replaying this tab's request would send: it does not count as the tab's."""
        h = {"X-Htag-Token": self.config["token"], "X-Htag-Seq": str(self.seq + 1), **headers}
        return await self.client.post(self.url("interact"), json=body, headers=h)

    async def click(self, name: str, **changes: Any) -> dict[str, Any]:
        """Send the interaction of element ``name``; return the decoded actions."""
        r = await self.post({**self.calls[name], **changes})
        assert r.status_code == 200, r.text
        return r.json()

    async def call(self, method: str, *args: Any, oid: int | None = None) -> httpx.Response:
        body = {"id": oid or self.root_id, "method": method, "args": list(args), "kargs": {}, "event": {}}
        return await self.post(body)

    @property
    def root_id(self) -> int:
        return int(re.search(r'<body id="(\d+)"', self.html).group(1))


def text_of(actions: dict[str, Any]) -> str:
    """The visible text of an actions answer (updates and streams), tags stripped."""
    parts = list(actions.get("update", {}).values()) + list(actions.get("stream", {}).values())
    return html.unescape(re.sub(r"<[^>]+>", " ", " ".join(parts))).strip()
