"""htag's per-name tag classes (``Tag.span``), made once per name while a lean page's code runs.

htag makes a new class at every ``Tag.span(...)``, with a copy of ``Tag.__dict__`` (12 µs and
3.7 KB each, two per counter page, two hundred in a large form). While the code of a page
served with ``lean=True`` runs (its ``init``, handlers, ``render()``, and the tasks it starts),
``Tag.<name>`` gives the class made the first time for that name: ``Tag.span is Tag.span`` is
true there (a documented difference). Elsewhere (``lean=False`` pages, module level, other
code) htag's own behaviour is kept: a new class per call.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from htag import Tag

#: At most this many names are kept (apps use a few dozen); past it, htag's way (a new class).
MAX_NAMES = 512

#: True while a lean page's code runs (tasks it starts inherit it): ``token = lean_code.set(True)``.
lean_code: ContextVar[bool] = ContextVar("htag_sse_lean_tags", default=False)
_classes: dict[str, type] = {}
_htags: Callable[[type, str], type] | None = None  # htag's own TagCreator.__getattr__


def _tag_class(cls: type, name: str) -> type:
    """``Tag.<name>``: the class made once for ``name`` in a lean page's code, else htag's."""
    assert _htags is not None
    if not lean_code.get() or name[:1] == "_":
        return _htags(cls, name)
    made = _classes.get(name)
    if made is None:
        made = _htags(cls, name)
        if len(_classes) < MAX_NAMES:
            _classes[name] = made
    return made


def install() -> None:
    """Put the cache in front of htag's ``Tag.<name>`` (once per process; it does nothing
    outside a lean page's code)."""
    global _htags
    creator = type(Tag)
    if _htags is None:
        _htags = creator.__getattr__
        creator.__getattr__ = _tag_class
