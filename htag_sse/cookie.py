"""The session cookie, and the ASGI middleware that makes it ``request.session``."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .limits import is_https
from .session import Session, Sessions
from .settings import Settings

log = logging.getLogger("htag_sse")


def read_cookie(scope: Scope, name: str) -> str | None:
    """The value of cookie ``name`` (HTTP/2 may split cookies over several headers)."""
    prefix = name + "="
    for key, value in scope["headers"]:
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                part = part.strip()
                if part.startswith(prefix):
                    return part[len(prefix) :]
    return None


def set_cookie_header(settings: Settings, sid: str, secure: bool) -> bytes:
    flags = "; Secure" if secure else ""
    return (
        f"{settings.session_cookie}={sid}; Path={settings.session_path}; "
        f"Max-Age={int(settings.session_max_age_s)}; HttpOnly; SameSite=Lax{flags}"
    ).encode("latin-1")


class SessionMiddleware:
    """Puts the user's :class:`~htag_sse.session.Session` in ``scope["session"]``.

    Changed values are saved before the response starts; the cookie is sent
    only when the session gets a new id (created or rotated) or its expiry
    slides.
    """

    def __init__(self, app: ASGIApp, sessions: Sessions, settings: Settings) -> None:
        self.app = app
        self.sessions = sessions
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = self.sessions.resolve(read_cookie(scope, self.settings.session_cookie))
        scope["session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *finish(self.sessions, self.settings, scope, session)]
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def finish(sessions: Sessions, settings: Settings, scope: Scope, session: Session) -> list[tuple[bytes, bytes]]:
    """Before a response starts: save what changed; the cookie header if one is due."""
    try:
        sessions.save(session)
    except Exception:  # a broken store must not turn every page into a 500
        log.exception("could not save session %s…", (session.sid or "new")[:6])
    if session.cookie_due and session.sid:
        session.cookie_due = False
        secure = is_https(scope, settings.forwarded_allow_ips)
        return [(b"set-cookie", set_cookie_header(settings, session.sid, secure))]
    return []
