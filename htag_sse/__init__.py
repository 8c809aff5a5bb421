"""htag-sse: serve htag v1 apps on the web over plain HTTP.

Interactions are HTTP POSTs, ``await tag.update()`` pushes arrive over
Server-Sent Events (or long-poll where a proxy buffers them). No WebSockets.
"""

from .app import AppServer, HtagSSE, Runner
from .errors import AppLoadError, ConfigError, HtagSSEError, RequestError
from .oauth import OAuthLogin
from .server import tune_gc
from .session import Session
from .stores import DiskStore, MemoryStore, Store

__version__ = "0.1.0"

__all__ = [
    "AppLoadError",
    "AppServer",
    "ConfigError",
    "DiskStore",
    "HtagSSE",
    "HtagSSEError",
    "MemoryStore",
    "OAuthLogin",
    "RequestError",
    "Runner",
    "Session",
    "Store",
    "__version__",
    "tune_gc",
]
