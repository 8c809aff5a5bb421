"""What an interaction may reach on an htag v1 page: its own tags' event handlers, the
generators it started, and the methods the app exposes (``@expose``) or the page's code asked
htag to call (``self.bind.m(...)``, ``self.call.m(...)``) for that very tag.

Every call htag writes into a page goes through ``BaseCaller.__str__`` (an ``_onclick=self.m``
handler, ``self.bind.m(...)`` in an attribute or a script, ``self.call.m(...)``, the functions of
``@expose``, htag-sse's own markup): :func:`record_calls` hooks it once per process, and
:data:`written` keeps, per live tag, the method names written for it.
"""

from __future__ import annotations

import functools
import logging
import types
import weakref
from collections.abc import Callable

from htag import Tag
from htag.render import HRenderer
from htag.tag import BaseCaller

from ..errors import RequestError
from ..wire import Interaction
from .markup import is_htags

log = logging.getLogger("htag_sse")


#: htag's own event dispatchers, the targets of ``_onclick=self.method`` handlers.
DISPATCHERS = frozenset({"__on_event__", "__on__"})


class Written:
    """The method names htag wrote a call of (``interact({id, method})``), per live tag.

    Keyed by the tag object itself: its id with a weak reference that must still be that very
    tag (not a ``WeakKeyDictionary``: a Tag class of an app may define ``__eq__``/``__hash__``,
    and two equal tags must not share their calls). An entry goes with its tag: the memory
    is bounded by the tags alive, never by what a client sends.
    """

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[int, tuple[weakref.ref[Tag], set[str]]] = {}

    def add(self, tag: Tag, name: str) -> None:
        key = id(tag)
        entry = self._calls.get(key)
        if entry is None or entry[0]() is not tag:
            entry = (weakref.ref(tag, functools.partial(self._forget, key)), set())
            self._calls[key] = entry
        entry[1].add(name)

    def has(self, tag: Tag, name: str) -> bool:
        entry = self._calls.get(id(tag))
        return entry is not None and entry[0]() is tag and name in entry[1]

    def names(self, tag: Tag) -> frozenset[str]:
        entry = self._calls.get(id(tag))
        return frozenset(entry[1]) if entry is not None and entry[0]() is tag else frozenset()

    def _forget(self, key: int, ref: weakref.ref[Tag]) -> None:
        entry = self._calls.get(key)
        if entry is not None and entry[0] is ref:
            del self._calls[key]

    def __len__(self) -> int:
        return len(self._calls)


#: The calls htag wrote, for every live tag of this process.
written = Written()


def record_calls() -> None:
    """Hook ``BaseCaller.__str__`` (once per process) so that every call htag writes is recorded."""
    if getattr(BaseCaller.__str__, "_htag_sse_records", False):
        return
    write: Callable[[BaseCaller], str] = BaseCaller.__str__

    def recording(caller: BaseCaller) -> str:
        name = caller.mname
        if name is not None and name not in DISPATCHERS and isinstance(caller.instance, Tag):
            written.add(caller.instance, name)
        return write(caller)

    recording._htag_sse_records = True  # type: ignore[attr-defined]
    BaseCaller.__str__ = recording


record_calls()


def check_interaction(hr: HRenderer, inter: Interaction) -> None:
    """Refuse (with a :class:`RequestError`) anything but a call this page allows: its own tags'
    event handlers, generators it started, methods exposed or written for that tag."""
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
    if not callable_from_page(obj, name):
        log.info("interaction refused: method %r of %s is neither exposed nor bound", name[:60], type(obj).__name__)
        raise RequestError(403, "forbidden_method", f"{name[:60]!r} is not an exposed or bound method")


def callable_from_page(obj: Tag, name: str) -> bool:
    """Whether the page may call method ``name`` of the tag ``obj``.

    Yes when the app's classes (or a widget kit's: anything but htag's) ``@expose`` it, or when
    htag wrote a call of that method for that very tag into this page (``self.bind.name(...)``,
    ``self.call.name(...)``), whatever its name (htagui's ``_submit``, an app's own ``update``,
    htbulma's function set on the instance). Never a dunder, never what htag's own classes define,
    never a method or a function set on a tag that is neither exposed nor bound.
    """
    if name.startswith("__") and name.endswith("__"):
        return False
    cls: type = obj.__class__
    if name in exposed(cls):
        return True
    if not written.has(obj, name):
        return False
    if name in obj.__dict__:  # a function the app set on the tag itself (htbulma's LocalStorage)
        return callable(obj.__dict__[name])
    provider = next((k for k in cls.__mro__ if name in k.__dict__), None)  # whose attribute the call gets
    return provider is not None and not is_htags(provider)


@functools.lru_cache(maxsize=1024)
def exposed(cls: type) -> frozenset[str]:
    """The names a ``cls`` tag exposes (``@expose``), defined by its classes but htag's own."""
    names: set[str] = set()
    seen: set[str] = set()
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)  # the first class defining a name is the one a call gets
            function = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            if (
                not is_htags(klass)
                and isinstance(function, types.FunctionType)
                and getattr(function, "_autoExposeClientSide_", False)
                and not (name.startswith("__") and name.endswith("__"))
            ):
                names.add(name)
    return frozenset(names)


def written_for(obj: Tag) -> frozenset[str]:
    """The method names htag wrote a call of for ``obj`` so far (``self.bind``, ``self.call``, exposed)."""
    return written.names(obj)
