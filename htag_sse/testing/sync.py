"""The test client for plain ``def test_...`` functions: ``with HtagTestClient(App) as tab:`` gives a
:class:`SyncTab` whose every action returns when done, on a private event loop (a
:class:`~htag_sse.testing.VirtualTimeLoop`: ``tab.advance(seconds)`` skips time). The loop runs
only while an action runs: the app's tasks (a clock) move while the test clicks, waits for a push
or advances the clock, and wait in between."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from .clock import VirtualTimeLoop
from .dom import HtagTestError
from .element import Element
from .tab import Tab

if TYPE_CHECKING:
    from ..app import HtagSSE
    from ..session import Session
    from .client import HtagTestClient

T = TypeVar("T")


class Driver:
    """The private event loop the synchronous client runs everything on."""

    def __init__(self) -> None:
        self.loop = VirtualTimeLoop()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self.loop.run_until_complete(work)
        work.close()
        raise HtagTestError("the synchronous test client cannot run inside a running event loop (an async test): "
                            "use `async with HtagTestClient(App) as client` there")  # fmt: skip

    def close(self) -> None:
        try:
            self.run(self.loop.shutdown_asyncgens())
        except HtagTestError:  # inside a running loop: said already by the action that failed
            pass
        finally:
            self.loop.close()


class SyncClient:
    """The client of a :class:`SyncTab` (``tab.client``): more tabs, the session, the application."""

    def __init__(self, client: HtagTestClient, driver: Driver) -> None:
        self._client, self._driver = client, driver

    @property
    def app(self) -> HtagSSE:
        return self._client.app

    def open(self, path: str | None = None) -> SyncTab:
        """A new tab of the same user on ``path`` (the client's ``path`` by default)."""
        return SyncTab(self._driver.run(self._client.open(path)), self)

    def session(self) -> Session:
        return self._driver.run(self._client.session())


class SyncElement:
    """An element of a :class:`SyncTab`: :class:`~htag_sse.testing.Element`, its actions synchronous."""

    def __init__(self, element: Element, driver: Driver) -> None:
        self.element, self._driver = element, driver

    def __repr__(self) -> str:
        return repr(self.element)

    @property
    def text(self) -> str:
        return self.element.text

    @property
    def html(self) -> str:
        return self.element.html

    @property
    def attrs(self) -> dict[str, str | None]:
        return self.element.attrs

    @property
    def value(self) -> str:
        return self.element.value

    def find(self, selector: str | None = None, *, text: str | None = None) -> SyncElement:
        return SyncElement(self.element.find(selector, text=text), self._driver)

    def find_all(self, selector: str | None = None, *, text: str | None = None) -> list[SyncElement]:
        return [SyncElement(e, self._driver) for e in self.element.find_all(selector, text=text)]

    def click(self, **event: Any) -> dict[str, Any]:
        return self._driver.run(self.element.click(**event))

    def type(self, text: str) -> dict[str, Any]:
        return self._driver.run(self.element.type(text))

    def change(self, value: str | bool) -> dict[str, Any]:
        return self._driver.run(self.element.change(value))

    def call(self, method: str, *args: Any) -> dict[str, Any]:
        return self._driver.run(self.element.call(method, *args))

    def submit(self, values: dict[str, Any] | None = None, *, button: str | None = None) -> dict[str, Any]:
        return self._driver.run(self.element.submit(values, button=button))


class SyncTab:
    """A :class:`~htag_sse.testing.Tab` whose actions return when done (see the module's docstring)."""

    def __init__(self, tab: Tab, client: SyncClient) -> None:
        self.tab, self.client, self._driver = tab, client, client._driver

    def __repr__(self) -> str:
        return repr(self.tab)

    def __getattr__(self, name: str) -> Any:  # text, html, id, token, config, last_status, last_error, errors...
        if name.startswith("_") or name in ("call", "interact", "next_push", "reload", "close", "submit", "advance"):
            raise AttributeError(name)
        return getattr(self.tab, name)

    @property
    def text(self) -> str:
        return self.tab.text

    @property
    def html(self) -> str:
        return self.tab.html

    def find(self, selector: str | None = None, *, text: str | None = None) -> SyncElement:
        return SyncElement(self.tab.find(selector, text=text), self._driver)

    def find_all(self, selector: str | None = None, *, text: str | None = None) -> list[SyncElement]:
        return [SyncElement(e, self._driver) for e in self.tab.find_all(selector, text=text)]

    def call(self, method: str, *args: Any) -> dict[str, Any]:
        return self._driver.run(self.tab.call(method, *args))

    def interact(self, interaction: dict[str, Any]) -> dict[str, Any]:
        return self._driver.run(self.tab.interact(interaction))

    def submit(self, selector: str = "form", values: dict[str, Any] | None = None, *,
               button: str | None = None) -> dict[str, Any]:  # fmt: skip
        return self._driver.run(self.tab.submit(selector, values, button=button))

    def next_push(self, timeout: float = 5.0) -> dict[str, Any]:
        return self._driver.run(self.tab.next_push(timeout))

    def advance(self, seconds: float) -> None:
        """Skip ``seconds`` of the app's timers at once (see :func:`~htag_sse.testing.clock.advance`)."""
        self._driver.run(self.tab.advance(seconds))

    def reload(self) -> None:
        self._driver.run(self.tab.reload())

    def close(self) -> None:
        self._driver.run(self.tab.close())
