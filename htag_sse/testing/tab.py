"""A test tab: the page as the browser holds it (its HTML, kept up to date with the answers and
pushes it applies, as the browser client applies them) and what the user does in it; the wire
itself is :class:`~htag_sse.testing.channel.Channel`. JS is not run: ``post`` scripts are kept in
:attr:`Tab.scripts`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .channel import Channel
from .clock import advance
from .dom import HIDDEN, JS, HtagTestError, Node, PushTimeout, interact_calls, matcher, morph, parse, resolve
from .element import Element
from .forms import form_expression

if TYPE_CHECKING:
    from .client import HtagTestClient

log = logging.getLogger("htag_sse")

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
    "submit": {"cancelable": True, "composed": True},
}  # fmt: skip


class Tab:
    """One browser tab showing a page (``await client.open()``): its HTML, kept up to date with the
    answers and pushes it applies, and what the browser would have reported."""

    def __init__(self, client: HtagTestClient, path: str) -> None:
        self.client, self.path = client, path
        self.wire = Channel(client.http, client.origin)
        self.last_error: str | None = None  # what the last interaction brought: "HTTP 403: …", "PYTHON ERROR: …"
        self.errors: list[str] = []  # every error the browser would have reported
        self.history: list[dict[str, Any]] = []  # every actions applied: answers, pushes, refreshes
        self.scripts: list[str] = []  # the JS of those actions (post, next): kept, not run
        self._doc = Node("#document", {})
        self._exposed: dict[str, dict[str, dict[str, Any]]] = {}  # method -> {tag id: its interact() call}
        self._renamed: dict[str, str] = {}
        self._lock, self._rerunning = asyncio.Lock(), asyncio.Lock()
        self._born = time.monotonic()

    def __repr__(self) -> str:
        return f"<Tab {self.id} {self.path}>"

    @property
    def id(self) -> str:
        """The page's id."""
        return self.wire.id

    @property
    def token(self) -> str:
        return self.wire.token

    @property
    def config(self) -> dict[str, Any]:
        """The page's boot settings (``htagSSE({...})``)."""
        return self.wire.config

    @property
    def last_status(self) -> int:
        """The HTTP status of the last interaction."""
        return self.wire.last_status

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

    async def submit(self, selector: str = "form", values: dict[str, Any] | None = None, *,
                     button: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Fill the form ``selector`` finds with ``values`` (by field name) and send it as a user does:
        see :meth:`Element.submit <htag_sse.testing.Element.submit>`."""
        return await self.find(selector).submit(values, button=button)

    async def advance(self, seconds: float) -> None:
        """Move the event loop's clock ``seconds`` forward at once: the app's timers due meanwhile
        (``asyncio.sleep``, ``call_later``) fire in order, none waiting. Needs the loop of
        :class:`~htag_sse.testing.VirtualTimeLoop` (the synchronous client runs on one)."""
        await advance(seconds)

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
                        actions, fresh = self.wire.event(eid, data), eid > self.wire.last
                        self.wire.last = max(self.wire.last, eid)
                        if actions is not None and (fresh or "body" in actions):
                            self._apply(actions)
                            return actions
        except TimeoutError:
            raise PushTimeout(f"page {self.id} got no push within {timeout:g} s (last event {self.wire.last}): does the "
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
        await self.wire.release()

    # ---------------------------------------------------------------- the page's HTML

    async def _load(self) -> None:
        html = await self.wire.load(self.path)
        self._born, self._exposed = time.monotonic(), {}
        self._doc = Node("#document", {})
        self._doc.children = self._doc.adopt(parse(html))
        self._learn(html)

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
            rendered = [n for n in parse(html) if isinstance(n, Node) or n.strip()]
            if len(rendered) == 1 and isinstance(rendered[0], Node) and rendered[0].tag == node.tag:
                morph(node, rendered[0], by_id=True)  # what the user typed survives, as in the browser
                continue
            siblings = node.parent.children  # not one element of the same kind: htag's outerHTML
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
            if this is not None and this.tag == "form":  # new FormData(this), a kit's way to send a form
                with contextlib.suppress(KeyError):
                    return form_expression(expr, this)
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

    async def _call(self, method: str, args: tuple[Any, ...], node: Node | None,
                    event: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        found = {tid: c for tid, c in self._exposed.get(method, {}).items() if self._by_id(tid) is not None}
        exposed = sorted(m for m, tags in self._exposed.items() if any(self._by_id(t) for t in tags))
        only = next(iter(found.values())) if len(found) == 1 and node is None else None
        chosen = found.get((node or self._body()).attrs.get("id") or "") or only
        if chosen is None:
            where = node.describe() if node is not None else f"page {self.id}"
            hint = f"{len(found)} tags expose it: call it on one, tab.find(...).call(...)" if len(found) > 1 else ""
            raise HtagTestError(f"{where} exposes no method {method!r} (exposed: {exposed}). {hint}".strip())
        return await self.interact(resolve(chosen, self._evaluator(None, None, event or {}, args)))

    def _clock(self) -> float:
        """``event.timeStamp``: milliseconds since the page loaded."""
        return round((time.monotonic() - self._born) * 1000, 1)

    async def _send(self, o: dict[str, Any], replay: bool = True) -> dict[str, Any]:
        """One interaction; a page the server lost is rerun, and the interaction replayed on it."""
        status, answer = await self.wire.post(o)
        if status == 410 and replay:  # the page is gone: rerun it, then replay this on the new page
            again = self._replay(o, await self._rerun(self.id))
            if again is not None:
                return await self._send(again, replay=False)
            self._report("an interaction dropped: its element did not survive the page's rerun")
            return {}
        if status != 200:
            self._report(f"HTTP {status}: {answer['message']}")
            return {}
        self.last_error = None
        self._apply(answer)
        return answer

    async def _rerun(self, pid: str) -> dict[str, str] | None:
        """The server lost the page: recreate it from the session, morph its body in, switch to it.
        Returns old tag id -> new id of the elements that survived (None: the page was loaded anew)."""
        async with self._rerunning:
            if pid != self.id:  # rerun meanwhile
                return self._renamed
            before = [(n.attrs.get("id") or "", n) for n in self._doc.elements() if (n.attrs.get("id") or "").isdigit()]
            fresh = await self.wire.rerun()
            if fresh is None:  # no record of it left: the browser loads the page anew
                log.debug("page %s cannot be rerun (HTTP %s): loading it anew", pid, self.wire.last_status)
                await self.reload()
                return None
            self._apply({"body": fresh["body"]})
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

    # ---------------------------------------------------------------- pushes

    async def _poll(self) -> list[list[Any]]:
        events = await self.wire.poll(shared=self.client.push == "shared")
        if events is None:
            await self._rerun(self.id)
            return []
        return events
