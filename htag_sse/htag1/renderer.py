"""htag v1's ``HRenderer`` driven the lean way (:class:`Renderer`), with htag's semantics: how an
interaction runs its handlers (plain, ``ev``, generators, chains) and which tags it changed."""

from __future__ import annotations

import collections
import functools
import inspect
import logging
import traceback
import types
from typing import Any

from htag import Tag
from htag.render import HRenderer
from htag.runners.commons import url2ak
from htag.tag import BaseCaller, HTagException

from ..adapter import Init, InitError, Push
from .markup import all_js, html_of

log = logging.getLogger("htag_sse")


class Renderer(HRenderer):  # type: ignore[misc]
    """htag's ``HRenderer``, built and driven the lean way, with htag's semantics: statics
    come ready (found once per app class), ``sendactions`` is given, an ``init`` error is
    raised (never rendered unescaped), and interactions run the handlers directly (no
    async generator per click, one event class per set of fields, the state walk on a
    flat list, exposed methods listed once per class, log text built only when enabled).
    The differential tests compare it with htag's own ``HRenderer`` for every handler style.
    """

    def __init__(self, cls: type[Tag], init: Init, session: Any, push: Push | None, fullerror: bool) -> None:
        # htag's __init__ is not called: it would scan every Tag class for statics at
        # each page, and render an init error into the page unescaped.
        self.fullerror = fullerror
        self._interaction_scripts: list[str] = []
        self.init = (tuple(init[0]), dict(init[1]))
        self.session = session
        self.sendactions = push
        self._statics: list[Any] = []
        self._loop: dict[int, dict[str, Any]] = {}
        self.tag = _instantiate(cls, self)
        self.tag.tag = "body"

    async def interact(self, oid: int, method_name: Any, args: Any, kargs: Any, event: Any = None) -> dict[str, Any]:
        try:
            before: dict[int, Any] = {}
            _images(self.tag, before)
            obj = Tag.find_tag(oid)
            if obj:
                r = await _call(obj, method_name, args, kargs, event)
                if isinstance(r, (types.AsyncGeneratorType, types.GeneratorType)):
                    self._loop[id(r)] = {"gen": r, "tag": obj}
            else:
                found = self._loop.get(oid)
                if not found:
                    raise HTagException(f"{oid} is not an existing Tag or generator (dead objects ?)?!")
                r, obj = found["gen"], found["tag"]
            ret, next_call = None, None
            if isinstance(r, types.AsyncGeneratorType):
                try:
                    ret, next_call = await r.__anext__(), BaseCaller(r)
                except StopAsyncIteration:
                    del self._loop[id(r)]
            elif isinstance(r, types.GeneratorType):
                try:
                    ret, next_call = next(r), BaseCaller(r)
                except StopIteration:
                    del self._loop[id(r)]
            elif r is not None:
                raise AssertionError("a handler returns nothing, or yields (htag's rule)")
            rep = self._mkReponse(_guess(self.tag, before))
            if ret:
                obj.add(ret)
                many = not isinstance(ret, str) and hasattr(ret, "__iter__")
                rep.setdefault("stream", {})[id(obj)] = "".join(str(i) for i in ret) if many else str(ret)
            if self._interaction_scripts:
                rep["post"] = rep.get("post", "") + "\n".join(self._interaction_scripts)
                self._interaction_scripts = []
            if next_call is not None:
                rep["next"] = str(next_call)
        except Exception as e:
            log.exception("a handler of %s failed", type(self.tag).__name__)
            rep = {"err": traceback.format_exc() if self.fullerror else str(e)}
        return rep

    def _mkReponse(self, tags: list[Any]) -> dict[str, Any]:
        """htag's answer for changed tags: their HTML, and their scripts."""
        rep: dict[str, Any] = {}
        if tags:
            rep["update"] = {id(t): html_of(t) for t in tags}
            scripts = [js for t in tags if isinstance(t, Tag) for js in all_js(t)]
            if scripts:
                rep["post"] = "\n".join(scripts)
        return rep


async def _call(obj: Tag, name: str, args: Any, kargs: Any, event: Any) -> Any:
    """Run what an interaction names: a handler of an event, or a bound/exposed method."""
    method = getattr(obj, name)
    kind = getattr(method, "__name__", None)
    if kind == "__on_event__" and type(obj).__on_event__ is Tag.__on_event__:
        return await _handlers(obj, args, kargs, event, with_event=True)
    if kind == "__on__" and type(obj).__on__ is Tag.__on__:
        obj._event = event or {}
        return await _handlers(obj, args, kargs, event, with_event=False)
    if kind == "__on_event__":  # a class of its own dispatching events: htag's way
        cbname, *rest = args
        return (
            await method(cbname, event, *rest, **kargs) if _is_async(method) else method(cbname, event, *rest, **kargs)
        )
    obj._event = event or {}
    return await method(*args, **kargs) if _is_async(method) else method(*args, **kargs)


async def _handlers(obj: Tag, args: Any, kargs: Any, event: Any, *, with_event: bool) -> Any:
    cbname, *rest = args
    caller = obj._callbacks_[cbname]
    return await _run(obj, [(caller.callback, rest, kargs), *caller._others], 0, event, with_event)


async def _run(obj: Tag, calls: list[Any], start: int, event: Any, with_event: bool) -> Any:
    """Call the handlers of a chain in turn; one that yields hands the rest to a generator."""
    for i in range(start, len(calls)):
        method, a, ka = calls[i]
        head: tuple[Any, ...]
        if with_event:
            head = (_event_type(tuple(event))(obj, **event),)
        elif hasattr(method, "__self__") and method.__self__ == obj:
            head = ()
        else:
            head = (obj,)
        r = await method(*head, *a, **ka) if _is_async(method) else method(*head, *a, **ka)
        if isinstance(r, (types.AsyncGeneratorType, types.GeneratorType)):
            return _chain(obj, r, calls, i + 1, event, with_event)
        if r is not None:
            raise AssertionError("a handler returns nothing, or yields (htag's rule)")
    return None


async def _chain(obj: Tag, r: Any, calls: list[Any], start: int, event: Any, with_event: bool) -> Any:
    if isinstance(r, types.AsyncGeneratorType):
        async for item in r:
            yield item
    else:
        for item in r:
            yield item
    rest = await _run(obj, calls, start, event, with_event)
    if rest is not None:
        async for item in rest:
            yield item


def _is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn)


@functools.lru_cache(maxsize=512)
def _event_type(fields: tuple[str, ...]) -> type:
    """htag gives handlers taking ``ev`` a namedtuple of the DOM event (a new class per click in htag)."""
    return collections.namedtuple("event", ["target", *fields])


def _images(tag: Tag, out: dict[int, Any]) -> None:
    """The state image of ``tag`` and of every tag under it (parents first), by id."""
    out[id(tag)] = _image(tag)
    for child in tag._childs:
        if isinstance(child, Tag):
            _images(child, out)


def _image(tag: Tag) -> Any:
    """What htag's ``_getStateImage`` tells, as a tuple compared in C: the tag name, its
    attributes (``repr`` of all but strings, as htag's ``str(dict)``) and its children
    (tags by id). ``render()`` runs first, as in htag; a class with its own
    ``_getStateImage`` keeps it."""
    if type(tag)._getStateImage is not _STATE_IMAGE:
        return tag._getStateImage()
    render = getattr(tag, "render", None)
    if render is not None and callable(render):
        render()
    attrs, children = tag._attrs, tag._childs
    return (
        tag.tag,
        tuple([(k, v if type(v) is str else repr(v)) for k, v in attrs.items()]) if attrs else (),
        tuple([c if type(c) is str else id(c) if isinstance(c, Tag) else str(c) for c in children]) if children else (),
    )


_STATE_IMAGE = Tag._getStateImage


def _guess(root: Tag, before: dict[int, Any]) -> list[Tag]:
    """The tags whose state changed (a changed tag stands for its subtree), as htag's Stater guesses."""
    changed: list[Tag] = []
    _changes(root, before, changed)
    return changed


def _changes(tag: Tag, before: dict[int, Any], changed: list[Tag]) -> None:
    if _image(tag) != before.get(id(tag)):
        real: Tag | None = tag
        while real is not None and real.tag is None:
            real = real.parent
        if real is None:
            raise HTagException("no real parent ?!?")
        changed.append(real)
        return
    for child in tag._childs:
        if isinstance(child, Tag):
            _changes(child, before, changed)


def _instantiate(cls: type[Tag], hr: HRenderer) -> Tag:
    """The app's root tag, with htag's rule: init arguments that do not fit are dropped."""
    args, kargs = hr.init
    try:
        try:
            return cls(*args, _hr_=hr, **kargs)
        except TypeError:
            log.info("%s does not take the arguments %r: created without them (htag's rule)", cls.__name__, hr.init)
            return cls(_hr_=hr)
    except Exception as e:
        raise InitError(e, traceback.format_exc()) from e


def renderer(cls: type[Tag], init: Init, session: Any, push: Push | None, *, debug: bool, lean: bool) -> HRenderer:
    """A live renderer of the app: the lean one, or htag's own (``lean=False``)."""
    if lean:
        return Renderer(cls, init, session, push, debug)
    hr = HtagRenderer(cls, "", init=init, fullerror=debug, statics=[], session=session)
    if getattr(hr.tag, "js", None) == "document.title='HTag Error'" and type(hr.tag).__name__ == "TagBody":
        raise InitError(RuntimeError(_init_error_text(hr.tag)), "(htag's HRenderer logged it: logger htag.render)")
    hr._statics = []
    hr.sendactions = push  # htag's HRenderer takes it no other way
    return hr


class HtagRenderer(HRenderer):  # type: ignore[misc]
    """htag's own ``HRenderer`` (``lean=False``), but for one thing: the scripts ``init`` asks for
    (``self.call(...)``) stay pending for the page's ``start()``. htag moves them into its own page
    script, which htag-sse does not use (it writes the document itself)."""

    _interaction_scripts: list[str]

    def __init__(self, *args: Any, **kargs: Any) -> None:
        self._at_init: list[str] | None = []
        super().__init__(*args, **kargs)
        self._interaction_scripts = [*(self._at_init or ()), *self._interaction_scripts]
        self._at_init = None

    def _addInteractionScript(self, js: str) -> None:
        if self._at_init is not None:
            self._at_init.append(js)
        else:
            super()._addInteractionScript(js)


def init_of(url: str) -> Init:
    """A page's init arguments from its URL's query string, with htag's rules (``?a&b=2`` -> ``("a",), {"b": "2"}``)."""
    args, kargs = url2ak(url)
    return tuple(args), dict(kargs)


def _init_error_text(tag: Tag) -> str:
    return "".join(str(c) for c in tag.childs).removeprefix("init error : ")
