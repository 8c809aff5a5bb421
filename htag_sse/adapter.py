"""Everything that touches htag v1's internals lives here: building a page's
``HRenderer`` (with statics found once per app class), rendering its document
again, which tags and methods an interaction may reach, and a lean interaction
path (:class:`Renderer`) with htag's semantics. The seam a second htag adapter
(htag 2) plugs into. ``HtagSSE(lean=False)`` uses htag's own ``HRenderer`` instead.
"""

from __future__ import annotations

import collections
import functools
import html
import inspect
import logging
import re
import sys
import traceback
import types
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar, cast

from htag import Tag
from htag.render import HRenderer
from htag.runners.commons import url2ak
from htag.tag import TAG_KEYWORDS, BaseCaller, Caller, HTagException

from .errors import RequestError
from .wire import Interaction

log = logging.getLogger("htag_sse")
T = TypeVar("T")

Init = tuple[tuple[Any, ...], dict[str, Any]]
Push = Callable[[dict[str, Any]], Awaitable[bool]]
#: htag's own event dispatchers, the targets of ``_onclick=self.method`` handlers.
DISPATCHERS = frozenset({"__on_event__", "__on__"})
#: Stands for the page's boot call in the page script template.
_BOOT = "\x00htag-sse-boot\x00"
_START = "function start() {  }"


class InitError(Exception):
    """The app's ``init`` raised: shown as an error page (escaped), with details only in debug mode."""

    def __init__(self, error: BaseException, trace: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.trace = trace

    def page(self, debug: bool) -> str:
        detail = f"<pre>{html.escape(self.trace)}</pre>" if debug else ""
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Error</title></head><body>"
            f"<h1>This page could not start</h1><p>{html.escape(type(self.error).__name__)}: "
            f"{html.escape(str(self.error)[:500])}</p>{detail}</body></html>"
        )


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


def html_of(tag: Tag) -> str:
    """``str(tag)``: the text htag's ``Tag.__str__`` writes (``render()`` run, STRICT_MODE checked,
    ids while on a page), without its eager ``repr`` and log calls per tag, its walk to the root
    per tag, and its ``getfullargspec`` per handler. A class with a ``__str__`` of its own keeps it."""
    if type(tag).__str__ is not _TAG_STR:
        return str(tag)
    root = tag.root
    return _html(tag, root._hr is not None, bool(root.STRICT_MODE))


_TAG_STR = Tag.__str__
_TAG_LOG = logging.getLogger("htag.tag")


def _html(tag: Tag, ids: bool, strict: bool) -> str:
    render = getattr(tag, "render", None)
    if render is not None and callable(render):
        if strict:
            children = [id(c) for c in tag._childs if isinstance(c, Tag)]
            render()
            if children != [id(c) for c in tag._childs if isinstance(c, Tag)]:
                raise HTagException(f"[STRICT_MODE] In {tag!r}, the render() method has changed its children!")
        else:
            render()
    if tag.tag is None:  # a placeholder: its children only
        return "".join([_child(c, ids, strict) for c in tag._childs if c is not None])
    attrs = dict(tag._attrs)  # htag writes the attributes first, then the children
    if ids:
        if attrs.get("id"):
            _TAG_LOG.warning(
                "!!! **WARNING** Tag %s had an @id=%s, it was replaced for HRenderer needs !!!", tag, attrs["id"]
            )
        attrs["id"] = id(tag)
    written = []
    for k, v in attrs.items():
        if v is None:
            continue
        if isinstance(v, bool):
            if v:
                written.append(k)
        elif v != "":
            written.append(f'{k}="{html.escape(_caller_js(v) if type(v) is Caller else str(v))}"')
    name = tag.tag.replace("_", "-")
    content = "".join([_child(c, ids, strict) for c in tag._childs if c is not None])
    return f"<{name} {' '.join(written)}>{content}</{name}>" if written else f"<{name}>{content}</{name}>"


def _child(child: Any, ids: bool, strict: bool) -> str:
    if isinstance(child, Tag):
        return _html(child, ids, strict) if type(child).__str__ is _TAG_STR else str(child)
    return str(child)


def _caller_js(caller: Caller) -> str:
    """htag's ``Caller.__str__``, whether the handler takes ``ev`` read once per function."""
    if not caller._assigned:
        raise HTagException("Caller can't be serizalized, it's not _assign'ed to an event !")
    method = "__on_event__" if _takes_ev(caller.callback) else "__on__"
    js = BaseCaller(caller.instance, method, (caller._assigned, *caller.args), caller.kargs)
    js._befores, js._afters = caller._befores, caller._afters
    return str(js)


_TAKES_EV: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _takes_ev(callback: Any) -> bool:
    """htag's rule: ``ev`` among the first two parameters (``self`` counts)."""
    function = getattr(callback, "__func__", callback)
    if not isinstance(function, types.FunctionType):  # a partial, a callable object: asked each time
        return "ev" in inspect.getfullargspec(callback).args[:2]
    found = _TAKES_EV.get(function)
    if found is None:
        found = _TAKES_EV[function] = "ev" in inspect.getfullargspec(function).args[:2]
    return found


def all_js(tag: Tag) -> list[str]:
    """htag's ``_getAllJs``: the scripts of ``tag`` and its subtree, exposed methods listed once per class."""
    exposed = _exposed(tag.__class__)
    if exposed is None:  # a class whose attributes htag must read one by one
        return list(tag._getAllJs())
    own = tag.__dict__
    names = [n for n in exposed if n not in own or hasattr(own[n], "_autoExposeClientSide_")]
    names += [k for k, v in own.items() if k not in exposed and k not in TAG_KEYWORDS
              and hasattr(v, "_autoExposeClientSide_")]  # fmt: skip
    out = []
    if names:
        calls = (f"self.{n} = function(_) {{{BaseCaller(tag, n, [b'...arguments'], {})}}}" for n in sorted(names))
        out.append(tag._genIIFEScript(";".join(calls)))
    if tag.js:
        out.append(tag._genIIFEScript(tag.js))
    for child in tag._childs:
        if isinstance(child, Tag):
            out += all_js(child)
    return out


@functools.lru_cache(maxsize=1024)
def _exposed(cls: type) -> frozenset[str] | None:
    """The ``@expose``d names of a class, or None when reading them needs htag's walk of the
    instance (a property, ``__getattr__`` or a ``_getAllJs`` of its own would run code)."""
    for klass in cls.__mro__:
        if _is_htags(klass):
            break
        for key, value in vars(klass).items():
            if key in ("__getattr__", "__getattribute__", "_getAllJs", "_genIIFEScript"):
                return None
            if hasattr(value, "__get__") and not isinstance(value, (types.FunctionType, staticmethod, classmethod)):
                return None
    return frozenset(
        n for n in dir(cls) if n not in TAG_KEYWORDS and hasattr(getattr(cls, n, None), "_autoExposeClientSide_")
    )


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
    hr = HRenderer(cls, "", init=init, fullerror=debug, statics=[], session=session)
    if getattr(hr.tag, "js", None) == "document.title='HTag Error'" and type(hr.tag).__name__ == "TagBody":
        raise InitError(RuntimeError(_init_error_text(hr.tag)), "see the log for the traceback")
    hr._statics = []
    hr.sendactions = push  # htag's HRenderer takes it no other way
    return hr


def init_of(url: str) -> Init:
    """A page's init arguments from its URL's query string, with htag's rules (``?a&b=2`` -> ``("a",), {"b": "2"}``)."""
    args, kargs = url2ak(url)
    return tuple(args), dict(kargs)


def _init_error_text(tag: Tag) -> str:
    return "".join(str(c) for c in tag.childs).removeprefix("init error : ")


# ---------------------------------------------------------------- documents


def statics_of(cls: type[Tag]) -> tuple[Tag, ...]:
    """The app's statics (``statics``, ``imports``), found with htag's rules, once per class."""
    return _statics_of(cast(type, cls))


@functools.cache
def _statics_of(cls: type) -> tuple[Tag, ...]:
    """The app's statics (``statics``, ``imports``), found with htag's rules, once per class.

    htag scans the ``imports`` tree, or else every Tag class alive when the
    page is made; here that scan is done for the first page of a class only
    (classes imported later are not seen).
    """
    found: list[Tag] = []
    hashes: set[Any] = set()
    for klass in _import_tree(cls) if getattr(cls, "imports", None) is not None else _subclasses(Tag):
        for item in _statics_of_class(klass):
            if item._hash_ not in hashes:
                hashes.add(item._hash_)
                found.append(item)
    return tuple(found)


class _Probe(Tag.div):  # type: ignore[misc]
    imports: ClassVar[list[type]] = []  # no statics scan


def _import_tree(cls: type[Tag]) -> list[type[Tag]]:
    """``cls`` and its ``imports``, depth first, as htag walks them."""
    out = [cls]
    imports = getattr(cls, "imports", None)
    if imports is not None:
        for c in imports if isinstance(imports, (list, tuple)) else [imports]:
            if not (isinstance(c, type) and issubclass(c, Tag)):
                raise TypeError(f"imports can contain only Tag classes, got {c!r}")
            out += _import_tree(c)
    return out


def _subclasses(cls: type[Tag]) -> list[type[Tag]]:
    """Every subclass, depth first, as htag walks them."""
    out: list[type[Tag]] = []
    for c in cls.__subclasses__():
        out.append(c)
        out += _subclasses(c)
    return out


def _statics_of_class(klass: type) -> list[Tag]:
    items: list[Any] = []
    for base in klass.__bases__:
        if issubclass(base, Tag):
            items.extend(_as_list(getattr(base, "statics", [])))
    items.extend(_as_list(getattr(klass, "statics", [])))
    out: list[Tag] = []
    for i in items:
        if isinstance(i, Tag):
            out.append(i)
        elif isinstance(i, str):
            out.append(Tag.style(i))
        elif isinstance(i, bytes):
            out.append(Tag.script(i.decode()))
        else:
            raise TypeError(f"a static of {klass.__name__} is neither a Tag, a str nor bytes: {i!r}")
    return out


def _as_list(x: Any) -> list[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


@functools.cache
def _script_template() -> tuple[str, str, str]:
    """htag's page script (``start()``, ``action()``, ``jevent()``...) split around the
    body of ``start()`` and the boot call, taken from htag itself."""
    hr = HRenderer(_Probe, _BOOT, statics=[])
    text = str(hr._statics[-1].childs[0])
    before, found, after = text.partition(_START)
    middle, found_boot, end = after.partition(_BOOT)
    if not found or not found_boot:
        raise RuntimeError("htag's page script does not look like htag 1.0's: cannot render a page")
    return before + "function start() { ", " }" + middle, end


def document(hr: HRenderer, head: list[Tag], statics: tuple[Tag, ...], boot: str, title: str | None = None) -> str:
    """The page's whole HTML document: head tags, statics, htag's page script for the
    current state of its tags (pending ``self.call`` scripts included), then ``boot``.

    The very text htag's ``str(HRenderer)`` writes, put together without its seven new
    ``Tag.<name>`` classes per page (htag makes a class at each ``Tag.head()``...)."""
    before, middle, end = _script_template()
    start = "\n".join(_scripts(hr) + hr._interaction_scripts)
    hr._interaction_scripts = []
    body = html_of(hr.tag) if isinstance(hr, Renderer) else str(hr.tag)
    name = type(hr.tag).__name__ if title is None else html.escape(title)
    return "".join([
        "<!DOCTYPE html><html><head>", _metas(), *(str(t) for t in head), *(str(t) for t in statics),
        "<script>", before, start, middle, boot, end, f"</script><title>{name}</title></head>", body, "</html>",
    ])  # fmt: skip


@functools.cache
def _metas() -> str:
    """The meta tags htag puts first in every page's head."""
    from htag import __version__

    metas = (Tag.meta(_charset="utf-8"), Tag.meta(_name="viewport", _content="width=device-width, initial-scale=1"),
             Tag.meta(_name="version", _content=f"htag {__version__}"))  # fmt: skip
    return "".join(str(m) for m in metas)


def title_of(cls: type[Tag]) -> str | None:
    """An app's own title (a ``title`` string on its class), else None: htag's default, the class name."""
    title = getattr(cls, "title", None)
    return title if isinstance(title, str) else None


def refresh(hr: HRenderer) -> dict[str, Any]:
    """Actions replacing the whole body with the page's current state (and its scripts)."""
    return {"body": html_of(hr.tag) if isinstance(hr, Renderer) else str(hr.tag), "post": "\n".join(_scripts(hr))}


def _scripts(hr: HRenderer) -> list[str]:
    return all_js(hr.tag) if isinstance(hr, Renderer) else list(hr.tag._getAllJs())


def drop(hr: HRenderer) -> None:
    """The page is gone: let its pending generators go."""
    hr._loop.clear()


def root_of(tag: Tag) -> Tag:
    return tag.root


# ---------------------------------------------------------------- what an interaction may reach


def check_interaction(hr: HRenderer, inter: Interaction) -> None:
    """Refuse (with a :class:`RequestError`) anything but a call this page allows: its own tags'
    event handlers, generators it started, and methods the app's own classes expose or bind."""
    obj = Tag.find_tag(inter.id)
    if obj is None:
        if inter.id in hr._loop:  # a generator this page started: htag pulls its next item
            return
        raise RequestError(404, "unknown_id", f"no tag or generator {inter.id} on this page (removed meanwhile?)")
    root = obj.root
    if root is not hr.tag:
        if root._hr is not None:  # the root of another live page
            log.info("interaction refused: tag %s belongs to another page", inter.id)
        else:
            log.debug("interaction refused: tag %s was removed from its page", inter.id)
        raise RequestError(404, "unknown_id", f"no tag or generator {inter.id} on this page (removed meanwhile?)")
    name = inter.method
    if name is None:
        raise RequestError(400, "bad_interaction", "'method' is required to call a tag")
    if name in DISPATCHERS:
        key = inter.args[0] if inter.args else None
        if not isinstance(key, str) or key not in obj._callbacks_:
            raise RequestError(400, "unknown_event", f"{type(obj).__name__} has no handler {str(key)[:60]!r}")
        return
    if not callable_from_page(cast(type, obj.__class__), name) and not _instance_method(obj, name):
        log.info("interaction refused: method %r of %s is not exposed or bound", name, type(obj).__name__)
        raise RequestError(403, "forbidden_method", f"{name[:60]!r} is not an exposed or bound method")


@functools.cache
def callable_from_page(cls: type, name: str) -> bool:
    """Whether the page may call method ``name`` of a ``cls`` tag.

    Yes for a plain (sync or async) function that the app's own classes (or a
    widget kit's: anything but htag's) define, if it is public, ``@expose``d,
    or bound in their code (``.bind.<name>(``, ``.call.<name>(``) — whatever its
    name, even ``_submit`` or ``update``. Never a dunder, never what htag's own
    classes define, never a private method the app neither exposes nor binds.
    """
    if name.startswith("__") and name.endswith("__"):
        return False
    provider = next((k for k in cls.__mro__ if name in k.__dict__), None)  # whose attribute the call would get
    if provider is None or _is_htags(provider):
        return False
    return _allowed(cls, name, provider.__dict__[name])


def _allowed(cls: type, name: str, attr: Any) -> bool:
    if not isinstance(attr, types.FunctionType):
        return False
    if getattr(attr, "_autoExposeClientSide_", False):
        return True
    if name.startswith("_") or name in TAG_KEYWORDS:
        return any(name in bound_names(k) for k in cls.__mro__ if not _is_htags(k))
    return True


def _instance_method(obj: Tag, name: str) -> bool:
    """A function the app set on the tag itself (htbulma's ``LocalStorage``), bound in its code."""
    if name.startswith("__") or any(name in k.__dict__ for k in type(obj).__mro__):
        return False
    attr = obj.__dict__.get(name)
    function = getattr(attr, "__func__", attr)  # a bound method, or a plain function
    return isinstance(function, types.FunctionType) and _allowed(type(obj), name, function)


def _is_htags(klass: type) -> bool:
    return klass is object or klass.__module__ == "htag" or klass.__module__.startswith("htag.")


_BIND = re.compile(r"\.(?:bind|call)\.(\w+)\s*\(")


def bound_names(klass: type) -> frozenset[str]:
    """Method names bound in the source of ``klass``'s module (``x.bind.name(``, ``x.call.name(``)."""
    module = sys.modules.get(klass.__module__)
    return _module_binds(module) if module is not None else frozenset()


@functools.cache
def _module_binds(module: types.ModuleType) -> frozenset[str]:
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        log.debug("no source for %s: its private methods are callable only if @expose'd", module.__name__)
        return frozenset()
    return frozenset(_BIND.findall(source))
