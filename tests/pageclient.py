"""A scripted browser tab for in-process tests: loads a page, reads its boot
config and the interactions its elements would send, and sends them."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx

BOOT = re.compile(r"htagSSE\((\{.*?\})\);")
CALL = re.compile(r"interact\( (\{.*?\}) \);")


def interactions(page_html: str) -> dict[str, dict[str, Any]]:
    """Map each element's class (or id) to the interaction its onclick/onchange sends.

    JS expressions among the arguments (``this.value``) are kept as strings.
    """
    found: dict[str, dict[str, Any]] = {}

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            for name in ("onclick", "onchange"):
                m = CALL.search(a.get(name) or "")
                if m:
                    js = m.group(1).replace("jevent(event)", "{}")
                    call = json.loads(re.sub(r"(?<=[\[,])\s*this\.\w+", lambda x: json.dumps(x.group().strip()), js))
                    found[a.get("class") or a.get("id") or tag] = call

    Parser().feed(page_html)
    return found


@dataclass
class Tab:
    client: httpx.AsyncClient
    html: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    seq: int = 0

    @classmethod
    async def open(cls, client: httpx.AsyncClient, path: str = "/") -> Tab:
        tab = cls(client)
        r = await client.get(path)
        assert r.status_code == 200, r.text
        tab.load(r.text)
        return tab

    def load(self, page_html: str) -> None:
        self.html = page_html
        self.config = json.loads(BOOT.search(page_html).group(1))
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
