"""Writing htag v1 tags as HTML and their scripts as JS: the text htag's ``Tag.__str__`` and
``_getAllJs`` write, without their per-tag overhead."""

from __future__ import annotations

import functools
import html
import inspect
import logging
import types
import weakref
from typing import Any

from htag import Tag
from htag.tag import TAG_KEYWORDS, BaseCaller, Caller, HTagException


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
        if is_htags(klass):
            break
        for key, value in vars(klass).items():
            if key in ("__getattr__", "__getattribute__", "_getAllJs", "_genIIFEScript"):
                return None
            if hasattr(value, "__get__") and not isinstance(value, (types.FunctionType, staticmethod, classmethod)):
                return None
    return frozenset(
        n for n in dir(cls) if n not in TAG_KEYWORDS and hasattr(getattr(cls, n, None), "_autoExposeClientSide_")
    )


def is_htags(klass: type) -> bool:
    """Whether ``klass`` is htag's own (or ``object``): what the app did not write."""
    return klass is object or klass.__module__ == "htag" or klass.__module__.startswith("htag.")
