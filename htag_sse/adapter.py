"""The seam between htag-sse and a GUI toolkit: what the pages need of an app, typed.

:class:`Adapter` makes live instances of an app's class; :class:`LiveApp` is one page's
instance (its interactions, its document, its refresh). Only the adapter touches the
toolkit's internals: htag v1's is :mod:`htag_sse.htag1`; a second one (htag 2) would
implement the same two protocols.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .wire import Interaction

#: An app's init arguments (from the page's query string): positional and keyword.
Init = tuple[tuple[Any, ...], dict[str, Any]]
#: What one interaction (or a push) does to the page: htag's actions (``update``, ``post``, ``err``...).
Actions = dict[str, Any]
#: How a live app pushes actions to its page's streams (``await tag.update()``); False once the page is gone.
Push = Callable[[Actions], Awaitable[bool]]
#: An app's class (for htag v1: a subclass of ``htag.Tag``).
AppClass = type[Any]


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


class LiveApp(Protocol):
    """One page's live instance of an app."""

    @property
    def root(self) -> Any:
        """The app's root object (for htag, the root tag), for tests and tools."""
        ...

    def check(self, item: Interaction) -> None:
        """Refuse (:class:`~htag_sse.errors.RequestError`) an interaction this page does not allow."""
        ...

    async def interact(self, item: Interaction) -> Actions:
        """Run an interaction that :meth:`check` allowed; its actions (an error is an ``err`` action)."""
        ...

    def refresh(self) -> Actions:
        """Actions replacing the whole body with the current state (and its scripts)."""
        ...

    def document(self, head: str, boot: str) -> str:
        """The whole HTML document of the current state; ``head`` goes into ``<head>``, ``boot`` runs last."""
        ...

    def close(self) -> None:
        """The page is gone: let go of what it holds (pending generators...)."""
        ...


class Adapter(Protocol):
    """Makes live apps of one toolkit."""

    def is_app(self, obj: object) -> bool:
        """Whether ``obj`` is an app class this adapter can serve."""
        ...

    def init_of(self, url: str) -> Init:
        """A page's init arguments from its URL (its query string), with the toolkit's rules."""
        ...

    def start(self, cls: AppClass, init: Init, session: Any, push: Push | None, *, debug: bool) -> LiveApp:
        """A live instance of ``cls`` for a new page (raises :class:`InitError` if its init fails)."""
        ...
