"""A browser tab over real HTTP, speaking the wire as the browser client does (its cookies, Origin,
page token, ``X-Htag-Seq`` numbering, the release beacon): for real-server tests where Chromium
cannot play the part (a tab back from the back/forward cache) or where a test must time each request
itself (a request sent while a worker is stalled)."""

from __future__ import annotations

import re

import httpx

from harness.topologies import Topology
from htag_sse.testing.boot import boot_config, interactions


class WireTab:
    """A tab as the browser client speaks the wire (its cookies, Origin, token, numbering), over real
    HTTP: for what Chromium will not do here (it keeps no page with ``Cache-Control: no-store`` in
    its back/forward cache, so a tab coming back from it is played by the wire)."""

    def __init__(self, topology: Topology, path: str) -> None:
        self.http = httpx.Client(base_url=topology.url, timeout=30)
        answer = self.http.get(path)
        answer.raise_for_status()
        self.path, self.owner = path, topology.worker(answer.headers.get("x-htag-worker"))
        self.boot, self.calls, self.seq = boot_config(answer.text), interactions(answer.text), 0

    def click(self, name: str, via: str | None = None) -> httpx.Response:
        """The interaction of element ``name``, sent to the topology's entry (or straight to ``via``, a
        host's URL: the browser there would send that Origin)."""
        self.seq += 1
        origin = via or str(self.http.base_url)
        headers = {"X-Htag-Token": self.boot["token"], "X-Htag-Seq": str(self.seq), "Origin": origin,
                   "Content-Type": "application/json"}  # fmt: skip
        return self.http.post(f"{origin}{self.boot['base']}/{self.boot['page']}/interact", json=self.calls[name],
                              headers=headers)  # fmt: skip

    def release(self) -> None:
        self.http.post(f"{self.boot['base']}/{self.boot['page']}/release", content=self.boot["token"],
                       headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": str(self.http.base_url)})  # fmt: skip

    def rerun(self) -> httpx.Response:
        """What the client does on a 410: ask for a rerun of its page, then switch to the new one."""
        answer = self.http.post(f"{self.boot['base']}/{self.boot['page']}/rerun",
                                headers={"X-Htag-Token": self.boot["token"], "Origin": str(self.http.base_url)})  # fmt: skip
        if answer.status_code == 200:
            fresh = answer.json()
            self.boot = {**self.boot, "page": fresh["page"], "token": fresh["token"], "last": fresh["last"]}
            self.calls, self.seq = interactions(fresh["body"]), 0
        return answer

    def close(self) -> None:
        self.http.close()


def shown(answer: httpx.Response) -> str:
    """The text an interaction's answer shows (its updates, tags stripped)."""
    return re.sub(r"<[^>]+>", "", "".join(answer.json().get("update", {}).values()))
