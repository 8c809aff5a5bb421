"""Test htag apps in-process over the real wire, no browser: ``HtagTestClient(App)`` (docs/testing.md).

It speaks the wire exactly as the browser client (``static/htag-sse.js``) does, over httpx's
ASGI transport: it reads a page's boot settings from its HTML, sends the interactions its
elements' handlers hold (page token, ``X-Htag-Seq`` from 1, sealed in parano mode), pulls a
generator's next items, reruns a page the server lost, reloads (F5) with the reload cookie,
reads pushes over long-poll, and applies htag's actions to its own copy of the page's HTML.
"""

from .boot import boot_config, interactions
from .client import HtagTestClient
from .clock import VirtualTimeLoop
from .dom import HtagTestError, PushTimeout
from .element import Element
from .sync import SyncElement, SyncTab
from .tab import Tab

__all__ = ["Element", "HtagTestClient", "HtagTestError", "PushTimeout", "SyncElement", "SyncTab", "Tab",
           "VirtualTimeLoop", "boot_config", "interactions"]  # fmt: skip
