"""The few exceptions htag-sse raises, all under :class:`HtagSSEError`."""

from __future__ import annotations

import json


class HtagSSEError(Exception):
    """Base class of every error raised by htag-sse."""


class ConfigError(HtagSSEError, ValueError):
    """A configuration value is invalid; the message names it and shows it."""


class AppLoadError(HtagSSEError):
    """An htag app could not be found or imported (command line, rerun)."""


class StoreError(HtagSSEError):
    """The session store cannot answer now (disk full or locked, server unreachable): nothing was
    written. Requests that need it answer 503 and the health check says so, until it answers again."""


class Fenced(StoreError):
    """This worker's lease has passed (it was paused or cut off): it may not write, and its pages
    are served elsewhere now."""


class RequestError(HtagSSEError):
    """A request was refused. Carries the HTTP status and a stable error code.

    Raised anywhere while handling a request; the endpoints turn it into a
    JSON answer ``{"error": code, "message": message}`` with ``status``.
    Nothing has been changed on the server when it is raised.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> bytes:
        return json.dumps({"error": self.code, "message": self.message}).encode()

    def generic(self) -> RequestError:
        """The same refusal, without details taken from the request (parano mode: it was sealed)."""
        return RequestError(self.status, self.code, GENERIC.get(self.code, "refused"))


#: What a refusal says when the request must not be echoed.
GENERIC = {
    "unknown_id": "no such tag or generator on this page (removed meanwhile?)",
    "forbidden_method": "this method is not exposed or bound",
    "unknown_event": "no such handler",
    "bad_interaction": "not a valid interaction",
    "bad_ciphertext": "not a message sealed with this page's key",
    "out_of_order": "this interaction is not the next one",
}
