"""What an interaction may reach on an htag v1 page: its own tags' event handlers, the
generators it started, and the methods the app's own classes expose or bind."""

from __future__ import annotations

import functools
import inspect
import logging
import re
import sys
import types
from typing import Any, cast

from htag import Tag
from htag.render import HRenderer
from htag.tag import TAG_KEYWORDS

from ..errors import RequestError
from ..wire import Interaction
from .markup import is_htags

log = logging.getLogger("htag_sse")


#: htag's own event dispatchers, the targets of ``_onclick=self.method`` handlers.
DISPATCHERS = frozenset({"__on_event__", "__on__"})


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
    if provider is None or is_htags(provider):
        return False
    return _allowed(cls, name, provider.__dict__[name])


def _allowed(cls: type, name: str, attr: Any) -> bool:
    if not isinstance(attr, types.FunctionType):
        return False
    if getattr(attr, "_autoExposeClientSide_", False):
        return True
    if name.startswith("_") or name in TAG_KEYWORDS:
        return any(name in bound_names(k) for k in cls.__mro__ if not is_htags(k))
    return True


def _instance_method(obj: Tag, name: str) -> bool:
    """A function the app set on the tag itself (htbulma's ``LocalStorage``), bound in its code."""
    if name.startswith("__") or any(name in k.__dict__ for k in type(obj).__mro__):
        return False
    attr = obj.__dict__.get(name)
    function = getattr(attr, "__func__", attr)  # a bound method, or a plain function
    return isinstance(function, types.FunctionType) and _allowed(type(obj), name, function)


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
