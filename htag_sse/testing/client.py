"""``HtagTestClient``: a user's browser for tests, in-process over the real wire (see docs/testing.md)."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import httpx

from ..app import HtagSSE
from ..session import Session
from ..stores import MemoryStore
from .dom import HtagTestError
from .sync import Driver, SyncClient, SyncTab
from .tab import Tab


class HtagTestClient:
    """A user's browser for tests: ``HtagTestClient(App, **options)`` serves ``App`` with
    ``HtagSSE(App, session_store=MemoryStore(), **options)``; ``HtagTestClient(app=an_htag_sse_app,
    path="/route?x=1")`` tests your application. ``async with`` closes it (and stops the application
    it built, as a server does). The tabs it opens share its cookies: one user, one session.

    ``push``: how tabs read pushes, ``"shared"`` (``<base>/poll?p=…``) or ``"page"`` (``<base>/<page>/poll``).
    ``raise_errors``: refusals and Python errors raise :class:`HtagTestError` instead of landing in
    :attr:`Tab.last_error`.
    """

    def __init__(self, App: type[Any] | str | None = None, /, *, app: HtagSSE | None = None, path: str = "/",
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
        self._driver: Driver | None = None  # the synchronous client's loop (``with``)

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

    def __enter__(self) -> SyncTab:
        """``with HtagTestClient(App) as tab:`` in a plain ``def test_...``: a tab on ``path`` whose
        actions return when done (``tab.client.open()`` opens more), on a private event loop whose
        clock ``tab.advance(seconds)`` moves (see :mod:`htag_sse.testing.sync`)."""
        if self._driver is not None:
            raise HtagTestError("this client is in use already: one `with` per client")
        driver = self._driver = Driver()
        try:
            return SyncClient(self, driver).open()
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        driver, self._driver = self._driver, None
        if driver is not None:
            try:
                driver.run(self.aclose())
            finally:
                driver.close()
