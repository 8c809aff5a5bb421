"""A test client for htag apps: ``HtagTestClient(App)``, in-process, no browser (see docs/testing.md).

It speaks the wire exactly as the browser client (``static/htag-sse.js``) does, over httpx's
ASGI transport: it reads a page's boot settings from its HTML, sends the interactions its
elements' handlers hold (page token, ``X-Htag-Seq`` from 1, sealed in parano mode), pulls a
generator's next items, reruns a page the server lost, reloads (F5) with the reload cookie,
reads pushes over long-poll, and applies htag's actions to its own copy of the page's HTML.
JS is not run: ``post`` scripts are kept in :attr:`Tab.scripts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from htag import Tag

from .app import HtagSSE
from .dom import HIDDEN, JS, HtagTestError, Node, interact_calls, matcher, morph, parse, resolve
from .parano import b64, unb64
from .session import Session
from .stores import MemoryStore

log = logging.getLogger("htag_sse")

#: Refusals that used up their interaction's number (the browser client's USED_UP).
USED_UP = frozenset({"bad_interaction", "unknown_event", "forbidden_method", "unknown_id", "too_large"})
#: What parano messages are sealed for (the browser client's PURPOSE).
UP, DOWN, PUSHED, RERUN = b"htag-sse up", b"htag-sse down", b"htag-sse event", b"htag-sse rerun"
BOOT = re.compile(r"\bhtagSSE\(\s*(?=\{)")
CALL = re.compile(r"\binteract\(\s*(?=\{)")
EXPOSED = re.compile(r"self\.(\w+) = function\(_\) \{try\{interact\(\s*")
NODE_JS = re.compile(r"(this|self|event\.target|document\.getElementById\(['\"]([\w-]+)['\"]\))\.(.+)")
#: The fields of a DOM event that htag's jevent() sends (Chromium's, for a trusted event), per kind of event.
EVENT: dict[str, Any] = {"isTrusted": True, "bubbles": True, "defaultPrevented": False, "returnValue": True,
                         "cancelBubble": False}  # fmt: skip
KINDS: dict[str, dict[str, Any]] = {
    "click": {"cancelable": True, "composed": True, "detail": 1, "button": 0, "buttons": 0, "altKey": False,
              "ctrlKey": False, "metaKey": False, "shiftKey": False},
    "input": {"cancelable": False, "composed": True, "detail": 0},
    "change": {"cancelable": False, "composed": False},
}  # fmt: skip


class PushTimeout(HtagTestError, TimeoutError):
    """No push came in time."""


class Element:
    """An element of a tab's page. It follows its tag: once an update replaced it (same htag id),
    it reads the new one; after a rerun or a refresh it stays the element the morph kept."""

    def __init__(self, tab: Tab, node: Node) -> None:
        self._tab, self._node, self._id = tab, node, node.attrs.get("id")

    def _live(self) -> Node:
        if self._tab._attached(self._node):
            self._id = self._node.attrs.get("id")
        elif self._id is not None and (found := self._tab._by_id(self._id)) is not None:
            self._node = found
        return self._node

    def __repr__(self) -> str:
        return f"<Element {self._live().describe()}>"

    @property
    def text(self) -> str:
        """Its visible text."""
        return self._live().text()

    @property
    def html(self) -> str:
        """Its outer HTML, as the page holds it now."""
        return self._live().outer()

    @property
    def attrs(self) -> dict[str, str | None]:
        return dict(self._live().attrs)

    @property
    def value(self) -> str:
        """A form field's value: what the user typed, else what the HTML says."""
        return self._live().value()

    def find(self, selector: str | None = None, *, text: str | None = None) -> Element:
        return self._tab._find(self._live(), selector, text)[0]

    def find_all(self, selector: str | None = None, *, text: str | None = None) -> list[Element]:
        return self._tab._find(self._live(), selector, text, needed=False)

    async def click(self, **event: Any) -> dict[str, Any]:
        """Click it: its ``onclick`` handlers (its own and its parents') send their interactions; a
        checkbox or radio button is ticked first (then ``onchange`` too). ``event``: DOM event fields
        to change (``ctrlKey=True``). Returns the answer's actions."""
        node, tab = self._usable("click"), self._tab
        ticks = node.tag == "input" and node.attrs.get("type") in ("checkbox", "radio")
        if ticks:
            node.typed = True if node.attrs.get("type") == "radio" else not node.prop("checked")
        calls = tab._handlers(node, "click", event)
        if ticks:
            calls += tab._handlers(node, "input", {}) + tab._handlers(node, "change", {})
        elif not calls:
            with_handlers = ", ".join(n.describe() for n in tab._doc.elements() if n.attrs.get("onclick"))
            raise HtagTestError(f"{node.describe()} has no onclick handler, nor has any element around it: a click "
                                f"sends nothing. Elements with one: {with_handlers or 'none'}")  # fmt: skip
        return await tab._send_all(calls)

    async def type(self, text: str) -> dict[str, Any]:
        """Type ``text`` into this field (replacing its value) and leave it: ``oninput`` then, if the
        value changed, ``onchange``. Without handlers the value stays in the field (``{}``)."""
        return await self._edit(text, {"data": text, "inputType": "insertText", "isComposing": False})

    async def change(self, value: str | bool) -> dict[str, Any]:
        """Set a field's value (a checkbox's or radio's ``checked``, a select's option) and fire its
        ``oninput`` and ``onchange`` handlers."""
        return await self._edit(value, {})

    async def call(self, method: str, *args: Any) -> dict[str, Any]:
        """Call a method this element's tag exposes (``@expose``), as JS would: ``element.method(...args)``."""
        return await self._tab._call(method, args, self._live())

    async def _edit(self, value: str | bool, typing: dict[str, Any]) -> dict[str, Any]:
        node = self._usable("type into" if typing else "change", field=True)
        ticks = node.attrs.get("type") in ("checkbox", "radio")
        if ticks != isinstance(value, bool) or (typing and ticks):
            raise HtagTestError(f"{node.describe()}: change(True) or change(False) ticks a checkbox or radio, "
                                "type(text) or change(text) fills other fields")  # fmt: skip
        options = [o.option_value() for o in node.elements() if o.tag == "option"]
        if node.tag == "select" and value not in options:
            raise HtagTestError(f"{node.describe()} has no option {value!r}: its options are {options}")
        before, node.typed = node.prop("checked" if ticks else "value"), value
        calls = self._tab._handlers(node, "input", typing)
        if value != before:  # a browser fires change only for a new value
            calls += self._tab._handlers(node, "change", {})
        return await self._tab._send_all(calls)

    def _usable(self, action: str, field: bool = False) -> Node:
        node = self._live()
        if not self._tab._attached(node):
            raise HtagTestError(
                f"{node.describe()} is no longer in the page (an update removed it): cannot {action} it"
            )
        if "disabled" in node.attrs or (field and "readonly" in node.attrs):
            raise HtagTestError(f"{node.describe()} is disabled or read-only: a browser does not let users {action} it")
        if field and node.tag not in ("input", "textarea", "select"):
            raise HtagTestError(f"{node.describe()} is not a form field: cannot {action} it")
        return node


class Tab:
    """One browser tab showing a page (``await client.open()``): its HTML, kept up to date with the
    answers and pushes it applies, and what the browser would have reported."""

    def __init__(self, client: HtagTestClient, path: str) -> None:
        self.client, self.path = client, path
        self.config: dict[str, Any] = {}  # the page's boot settings (htagSSE({...}))
        self.id = self.token = ""
        self.seq = self.last = self.last_status = 0  # last interaction number, last event applied, last HTTP status
        self.last_error: str | None = None  # what the last interaction brought: "HTTP 403: …", "PYTHON ERROR: …"
        self.errors: list[str] = []  # every error the browser would have reported
        self.history: list[dict[str, Any]] = []  # every actions applied: answers, pushes, refreshes
        self.scripts: list[str] = []  # the JS of those actions (post, next): kept, not run
        self._key: bytes | None = None
        self._doc = Node("#document", {})
        self._exposed: dict[str, dict[str, dict[str, Any]]] = {}  # method -> {tag id: its interact() call}
        self._renamed: dict[str, str] = {}
        self._lock, self._rerunning = asyncio.Lock(), asyncio.Lock()
        self._born = time.monotonic()

    def __repr__(self) -> str:
        return f"<Tab {self.id} {self.path}>"

    @property
    def html(self) -> str:
        return "<!DOCTYPE html>" + "".join(c.outer() if isinstance(c, Node) else c for c in self._doc.children)

    @property
    def text(self) -> str:
        """The visible text of the page's body."""
        return self._body().text()

    def find(self, selector: str | None = None, *, text: str | None = None) -> Element:
        """The first element matching the CSS-like ``selector`` and/or whose visible text is ``text``."""
        return self._find(self._doc, selector, text)[0]

    def find_all(self, selector: str | None = None, *, text: str | None = None) -> list[Element]:
        return self._find(self._doc, selector, text, needed=False)

    async def call(self, method: str, *args: Any) -> dict[str, Any]:
        """Call a method the app exposes (``@expose``): the root's, or the one tag's exposing it."""
        return await self._call(method, args, None)

    async def interact(self, interaction: dict[str, Any]) -> dict[str, Any]:
        """Send one interaction as htag's ``interact()`` does; apply the answer, then pull a generator's
        next items until it ends. Returns the first answer's actions (``{}`` if refused)."""
        async with self._lock:
            answer = first = await self._send(interaction)
            while isinstance(answer.get("next"), str) and (pulls := list(interact_calls(answer["next"]))):
                for _, pull in pulls:
                    answer = await self._send(resolve(pull, self._evaluator(None, None, {}, ())))
            return first

    async def next_push(self, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for the page's next pushed event (``await tag.update()``), apply it, return its actions.
        A page the server lost is rerun meanwhile, as the browser does."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for eid, data in await self._poll():
                        actions, fresh = self._event(eid, data), eid > self.last
                        self.last = max(self.last, eid)
                        if actions is not None and (fresh or "body" in actions):
                            self._apply(actions)
                            return actions
        except TimeoutError:
            raise PushTimeout(f"page {self.id} got no push within {timeout:g} s (last event {self.last}): does the "
                              "app `await tag.update()`, from a task still running?") from None  # fmt: skip

    async def reload(self) -> None:
        """F5 as the browser client does it: the reload cookie names this page, the tab releases it,
        and the new GET takes the same live instance over (a new token; its attributes kept)."""
        name, jar = self.config["reload_cookie"], self.client.http.cookies
        domain, path = self.client.cookie_domain, self.config["cookie_path"]
        jar.set(name, f"{self.id}~{self.token}", domain=domain, path=path)
        await self.close()
        try:
            await self._load()
        finally:
            if any(c.name == name for c in jar.jar):  # the server deletes it; a browser forgets it in 5 s
                jar.delete(name, domain=domain, path=path)

    async def close(self) -> None:
        """The tab goes (``pagehide``): it releases its page, as ``navigator.sendBeacon`` does."""
        await self.client.http.post(self._url("release"), content=self.token.encode(),
                                    headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": self.client.origin})  # fmt: skip

    # ---------------------------------------------------------------- the page's HTML

    async def _load(self) -> None:
        r = await self.client.http.get(self.path)
        found = next(interact_calls(r.text, BOOT), None) if r.status_code == 200 else None
        if found is None:
            raise HtagTestError(f"GET {self.path} answered {r.status_code}, not an htag-sse page: {r.text[:300]}")
        self.config, self._born, self._exposed = found[1], time.monotonic(), {}
        self._doc = Node("#document", {})
        self._doc.children = self._doc.adopt(parse(r.text))
        self._adopt(self.config["page"], self.config["token"], self.config["last"], self.config.get("key"))
        self._learn(r.text)

    def _adopt(self, pid: str, token: str, last: int, key: str | None) -> None:
        self.id, self.token, self.last, self.seq = pid, token, last, 0
        self._key = unb64(key) if key else None

    def _find(self, root: Node, selector: str | None, text: str | None, needed: bool = True) -> list[Element]:
        match = matcher(selector) if selector else lambda n: n.tag not in HIDDEN
        nodes = [n for n in root.elements() if match(n)]
        if text is not None:
            want = " ".join(text.split())
            nodes = [n for n in nodes if " ".join(n.text().split()) == want]
            inner = {id(n) for n in nodes}
            nodes = [n for n in nodes if not any(id(d) in inner for d in n.elements())]
        if needed and not nodes:
            what = " with the text ".join(repr(w) for w in (selector, text) if w is not None)
            raise HtagTestError(f"no element {what} in page {self.id}; it shows:\n{self.text[:600]}")
        return [Element(self, n) for n in nodes]

    def _by_id(self, tid: str) -> Node | None:
        return next((n for n in self._doc.elements() if n.attrs.get("id") == tid), None)

    def _body(self) -> Node:
        return next((n for n in self._doc.elements() if n.tag == "body"), self._doc)

    def _attached(self, node: Node) -> bool:
        while node.parent is not None:
            node = node.parent
        return node is self._doc

    def _apply(self, actions: dict[str, Any]) -> None:
        """htag's actions, as the browser client applies them (htag-sse's ``body``: a morph)."""
        self.history.append(actions)
        if isinstance(actions.get("body"), str):
            new = next((n for n in parse(actions["body"]) if isinstance(n, Node)), None)
            if new is not None:
                morph(self._body(), new)
        for tid, html in (actions.get("update") or {}).items():
            node = self._by_id(str(tid))
            if node is None or node.parent is None:
                log.debug("page %s: no element %s to update", self.id, tid)
                continue
            siblings = node.parent.children
            at = next(i for i, c in enumerate(siblings) if c is node)
            siblings[at : at + 1] = node.parent.adopt(parse(html))
            node.parent = None
        for tid, html in (actions.get("stream") or {}).items():
            if (node := self._by_id(str(tid))) is not None:
                node.children += node.adopt(parse(html))
        for js in (actions.get("post"), actions.get("next")):
            if isinstance(js, str) and js:
                self.scripts.append(js)
                self._learn(js)
        if actions.get("err") is not None:
            self._report(f"PYTHON ERROR: {actions['err']}")

    def _learn(self, js: str) -> None:
        """Methods tags expose (``@expose``): htag declares them in JS, ``self.<name> = function(_) {…}``."""
        for m, call in interact_calls(js, EXPOSED):
            self._exposed.setdefault(m[1], {})[str(call.get("id"))] = call

    def _report(self, text: str) -> None:
        self.last_error = text
        self.errors.append(text)
        log.debug("page %s: %s", self.id, text)
        if self.client.raise_errors:
            raise HtagTestError(f"page {self.id}: {text}")

    # ---------------------------------------------------------------- interactions

    def _handlers(self, node: Node, kind: str, extra: dict[str, Any]) -> list[dict[str, Any]]:
        """The interactions a DOM event on ``node`` sends: the ``on<kind>`` handlers of ``node`` and of
        its parents (it bubbles), their JS arguments evaluated now, as the browser runs them."""
        calls: list[dict[str, Any]] = []
        owner: Node | None = node
        while owner is not None:
            for _, call in interact_calls(owner.attrs.get("on" + kind) or ""):
                at = {"type": kind, "eventPhase": 2 if owner is node else 3, "timeStamp": self._clock()}
                event = {**EVENT, **KINDS[kind], **at, **extra}
                calls.append(resolve(call, self._evaluator(owner, node, event, ())))
            owner = owner.parent
        return calls

    async def _send_all(self, calls: list[dict[str, Any]]) -> dict[str, Any]:
        """Send what one user action started, in order; the last answer (``{}`` for none)."""
        answer: dict[str, Any] = {}
        for call in calls:
            answer = await self.interact(call)
        return answer

    def _evaluator(self, this: Node | None, target: Node | None, event: dict[str, Any],
                   args: tuple[Any, ...]) -> Callable[[JS], Any]:  # fmt: skip
        def evaluate(expr: JS) -> Any:
            if expr == "...arguments":
                return list(args)
            if re.fullmatch(r"jevent\(\s*\w*\s*\)", expr):  # htag's: the event's own scalar fields
                return dict(event)
            if m := NODE_JS.fullmatch(expr):
                nodes = {"this": this, "self": this, "event.target": target}
                node = nodes[m[1]] if m[1] in nodes else self._by_id(m[2])
                with contextlib.suppress(KeyError):
                    if node is not None:
                        return node.prop(m[3])
            where = this.describe() if this is not None else "a script"
            raise HtagTestError(f"the test client cannot evaluate the JS {expr!r} (of {where}): send that interaction "
                                "yourself with tab.interact({...})")  # fmt: skip

        return evaluate

    async def _call(self, method: str, args: tuple[Any, ...], node: Node | None) -> dict[str, Any]:
        found = {tid: c for tid, c in self._exposed.get(method, {}).items() if self._by_id(tid) is not None}
        exposed = sorted(m for m, tags in self._exposed.items() if any(self._by_id(t) for t in tags))
        only = next(iter(found.values())) if len(found) == 1 and node is None else None
        chosen = found.get((node or self._body()).attrs.get("id") or "") or only
        if chosen is None:
            where = node.describe() if node is not None else f"page {self.id}"
            hint = f"{len(found)} tags expose it: call it on one, tab.find(...).call(...)" if len(found) > 1 else ""
            raise HtagTestError(f"{where} exposes no method {method!r} (exposed: {exposed}). {hint}".strip())
        return await self.interact(resolve(chosen, self._evaluator(None, None, {}, args)))

    def _clock(self) -> float:
        """``event.timeStamp``: milliseconds since the page loaded."""
        return round((time.monotonic() - self._born) * 1000, 1)

    def _url(self, what: str) -> str:
        return f"{self.config['base']}/{self.id}/{what}"

    async def _send(self, o: dict[str, Any], replay: bool = True) -> dict[str, Any]:
        """One POST, as the browser client's ``sendBatch`` (a batch of one)."""
        self.seq = n = self.seq + 1
        body = self._seal(UP, {"n": n, "o": o}) if self._key else json.dumps(o)
        headers = {"X-Htag-Token": self.token, "X-Htag-Seq": str(n), "Origin": self.client.origin,
                   "Content-Type": "text/plain" if self._key else "application/json"}  # fmt: skip
        r = await self.client.http.post(self._url("interact"), content=body.encode(), headers=headers)
        self.last_status = r.status_code
        if r.status_code == 410 and replay:  # the page is gone: rerun it, then replay this on the new page
            again = self._replay(o, await self._rerun(self.id))
            if again is not None:
                return await self._send(again, replay=False)
            self._report("an interaction dropped: its element did not survive the page's rerun")
            return {}
        if r.status_code != 200:
            try:
                info = r.json()
            except ValueError:
                info = {}
            info = info if isinstance(info, dict) else {}
            self.seq = n - 1 + (info.get("error") in USED_UP)  # the numbers nothing used are free again
            self._report(f"HTTP {r.status_code}: {info.get('message') or r.text[:300]}")
            return {}
        message = self._open(DOWN, r.text) if self._key else {"n": n, "a": r.json()}
        if message.get("n") != n:
            raise HtagTestError(f"page {self.id} answered interaction {message.get('n')} to interaction {n}")
        self.last_error = None
        self._apply(message["a"])
        return dict(message["a"])

    async def _rerun(self, pid: str) -> dict[str, str] | None:
        """The server lost the page: recreate it from the session, morph its body in, switch to it.
        Returns old tag id -> new id of the elements that survived (None: the page was loaded anew)."""
        async with self._rerunning:
            if pid != self.id:  # rerun meanwhile
                return self._renamed
            r = await self.client.http.post(self._url("rerun"), headers={"X-Htag-Token": self.token,
                                                                         "Origin": self.client.origin})  # fmt: skip
            if r.status_code != 200:  # no record of it left: the browser loads the page anew
                log.debug("page %s cannot be rerun (HTTP %s): loading it anew", pid, r.status_code)
                await self.reload()
                return None
            fresh = self._open(RERUN, r.text) if self._key else r.json()
            before = [(n.attrs.get("id") or "", n) for n in self._doc.elements() if (n.attrs.get("id") or "").isdigit()]
            self._apply({"body": fresh["body"]})
            self._adopt(fresh["page"], fresh["token"], fresh["last"], fresh.get("key"))
            self._renamed = {old: n.attrs.get("id") or "" for old, n in before if self._attached(n)}
            self._apply({"post": fresh["post"]})
            return self._renamed

    def _replay(self, o: dict[str, Any], renamed: dict[str, str] | None) -> dict[str, Any] | None:
        """``o`` for the rerun page: only tag ids change (the browser client's ``replayFor``)."""
        new = (renamed or {}).get(str(o.get("id")))
        if renamed is None or new is None or not new.isdigit():
            return None
        again = {**o, "id": int(new)}
        if o.get("method") in ("__on__", "__on_event__"):
            event, _, owner = str((o.get("args") or [""])[0]).rpartition("-")
            node = self._by_id(renamed.get(owner, "-"))
            again["args"] = [f"{event}-{renamed.get(owner)}", *o["args"][1:]]
            if node is None or again["args"][0] not in (node.attrs.get(event) or ""):
                return None
        return again

    # ---------------------------------------------------------------- pushes and parano mode

    async def _poll(self) -> list[list[Any]]:
        http, base = self.client.http, self.config["base"]
        if self.client.push == "page":
            r = await http.get(self._url("poll"), params={"after": self.last})
        else:
            r = await http.get(f"{base}/poll", params={"p": f"{self.id}:{self.last}"})
        if r.status_code == 410 or r.status_code == 200 and self.id in r.json().get("gone", ()):
            await self._rerun(self.id)
            return []
        if r.status_code != 200:
            raise HtagTestError(f"the long-poll of page {self.id} answered {r.status_code}: {r.text[:300]}")
        answer = r.json()
        return list(answer["events"] if "events" in answer else answer["pages"].get(self.id, []))

    def _event(self, eid: int, data: Any) -> dict[str, Any] | None:
        if not self._key:
            return dict(data)
        message = self._open(PUSHED, data)
        return dict(message["a"]) if message.get("i") == eid else None  # replayed or moved: ignored

    def _seal(self, purpose: bytes, message: dict[str, Any]) -> str:
        assert self._key is not None
        nonce = os.urandom(12)
        return b64(nonce + AESGCM(self._key).encrypt(nonce, json.dumps(message).encode(), purpose))

    def _open(self, purpose: bytes, sealed: str) -> dict[str, Any]:
        assert self._key is not None
        raw = unb64(sealed.strip())
        try:
            return dict(json.loads(AESGCM(self._key).decrypt(raw[:12], raw[12:], purpose)))
        except (InvalidTag, ValueError) as e:
            raise HtagTestError(f"a sealed message for page {self.id} does not open with its key ({e!r})") from None


class HtagTestClient:
    """A user's browser for tests: ``HtagTestClient(App, **options)`` serves ``App`` with
    ``HtagSSE(App, session_store=MemoryStore(), **options)``; ``HtagTestClient(app=an_htag_sse_app,
    path="/route?x=1")`` tests your application. ``async with`` closes it (and stops the application
    it built, as a server does). The tabs it opens share its cookies: one user, one session.

    ``push``: how tabs read pushes, ``"shared"`` (``<base>/poll?p=…``) or ``"page"`` (``<base>/<page>/poll``).
    ``raise_errors``: refusals and Python errors raise :class:`HtagTestError` instead of landing in
    :attr:`Tab.last_error`.
    """

    def __init__(self, App: type[Tag] | str | None = None, /, *, app: HtagSSE | None = None, path: str = "/",
                 base_url: str = "http://testserver", push: Literal["shared", "page"] = "shared",
                 raise_errors: bool = False, stop_app: bool | None = None, **options: Any) -> None:  # fmt: skip
        if (App is None) == (app is None) or (app is not None and options):
            raise HtagTestError("give an app class and its options, HtagTestClient(App, debug=True), or an "
                                "application, HtagTestClient(app=HtagSSE(App, ...))")  # fmt: skip
        if push not in ("shared", "page"):
            raise HtagTestError(f"push must be 'shared' or 'page', not {push!r}")
        self.app = app if app is not None else HtagSSE(App, session_store=MemoryStore(), **options)
        self.path, self.push, self.raise_errors = path, push, raise_errors
        self.stop_app = app is None if stop_app is None else stop_app
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=base_url)
        url = urlsplit(base_url)
        self.origin = f"{url.scheme}://{url.netloc}"
        host = url.hostname or ""
        self.cookie_domain = host if "." in host else host + ".local"  # how http.cookiejar names a dotless host

    async def open(self, path: str | None = None) -> Tab:
        """A new tab on ``path`` (the client's ``path`` by default)."""
        tab = Tab(self, path or self.path)
        await tab._load()
        return tab

    async def session(self) -> Session:
        """The user's session as the server sees it (``request.session``; ``tag.state`` lives in it)."""
        return await self.app.sessions.resolve(self.http.cookies.get(self.app.settings.session_cookie))

    async def aclose(self) -> None:
        await self.http.aclose()
        if self.stop_app:
            await self.app.stop()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:  # fmt: skip
        await self.aclose()
