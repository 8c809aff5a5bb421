"""htag-sse: serve htag v1 apps on the web over plain HTTP.

Interactions are HTTP POSTs, ``await tag.update()`` pushes arrive over
Server-Sent Events (or long-poll where a proxy buffers them). No WebSockets.
"""

from .app import AppServer, HtagSSE, Runner
from .bus import Bus, LoopbackBus
from .errors import AppLoadError, ConfigError, HtagSSEError, RequestError, StoreError
from .oauth import OAuthLogin
from .server import tune_gc
from .session import Session
from .stores import DiskStore, MemoryStore, Store

__version__ = "0.2.0.dev0"

__all__ = [
    "AppLoadError",
    "AppServer",
    "Bus",
    "ConfigError",
    "DiskStore",
    "HtagSSE",
    "HtagSSEError",
    "LoopbackBus",
    "MemoryStore",
    "OAuthLogin",
    "RequestError",
    "Runner",
    "Session",
    "Store",
    "StoreError",
    "__version__",
    "tune_gc",
]
