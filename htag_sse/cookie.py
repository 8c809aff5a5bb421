"""The session cookie, and the ASGI middleware that makes the session ``request.session``
for every route of the application (and of an outer app it is shared with)."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import RequestError, StoreError
from .head import Head, head_of
from .session import Session, Sessions
from .settings import Settings

log = logging.getLogger("htag_sse")


def session_cookie(settings: Settings, sid: str, secure: bool) -> bytes:
    """``Set-Cookie`` for session ``sid``: HttpOnly, SameSite=Lax, Secure under https."""
    flags = "; Secure" if secure else ""
    return (
        f"{settings.session_cookie}={sid}; Path={settings.session_path}; "
        f"Max-Age={int(settings.session_max_age_s)}; HttpOnly; SameSite=Lax{flags}"
    ).encode("latin-1")


def version_cookie(settings: Settings, sid: str, version: int, secure: bool) -> bytes:
    """``Set-Cookie`` telling the browser which version of session ``sid`` its last answer saw written.

    Workers that share a store that tells them of every change (Redis) keep a copy of each session and
    use it without asking while no change was told; the next request of this browser may outrun that
    news to another host, and brings this version: a copy older than it is read again (read your writes).
    """
    flags = "; Secure" if secure else ""
    return (
        f"{settings.session_cookie}_v={sid[:8]}.{version}; Path={settings.session_path}; "
        f"Max-Age={int(settings.session_max_age_s)}; HttpOnly; SameSite=Lax{flags}"
    ).encode("latin-1")


def session_headers(sessions: Sessions, session: Session, head: Head, settings: Settings) -> list[tuple[bytes, bytes]]:
    """The cookies an answer must set: the session's id when it is new or its expiry slid, and the
    version it saw written when that is not the one the browser told (only where copies are kept)."""
    headers = []
    if session.cookie_due and session.sid:
        session.cookie_due = False
        headers.append((b"set-cookie", session_cookie(settings, session.sid, head.https)))
    if sessions.versioned and session.sid:
        version = sessions.newest(session)
        if version and version != head.seen_version(settings):
            headers.append((b"set-cookie", version_cookie(settings, session.sid, version, head.https)))
    return headers


class SessionMiddleware:
    """Puts the user's :class:`~htag_sse.session.Session` in ``scope["session"]``.

    Changed values are written before the response starts; the cookie is sent
    only when the session gets a new id (created or rotated) or its expiry
    slides. A new session past the per-address limit answers 429, and a
    store that cannot answer, 503, instead of the route's response.
    """

    def __init__(self, app: ASGIApp, sessions: Sessions, settings: Settings) -> None:
        self.app = app
        self.sessions = sessions
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or isinstance(scope.get("session"), Session):
            await self.app(scope, receive, send)
            return
        head = head_of(scope, self.settings)
        try:
            sid = head.sid(self.settings)
            session = await self.sessions.resolve(sid, head.address, head.seen_version(self.settings))
        except StoreError as e:
            log.warning("%s %s: the session store cannot answer: %s", head.method, head.path, e)
            await storage_unavailable(send)
            return
        scope["session"] = session
        refused = False

        async def send_with_cookie(message: Message) -> None:
            nonlocal refused
            if refused:
                return
            if message["type"] == "http.response.start":
                try:
                    headers = await self.finish(session, head)
                    if scope.get("htag_sse.cookies"):  # htag-sse's own route inside set them already
                        headers = []
                except RequestError as e:  # 429: no new session for this client now
                    refused = True
                    await _refuse(send, e.status, (e.message + "\n").encode(), [(b"retry-after", b"60")])
                    return
                except StoreError as e:
                    refused = True
                    log.warning("%s %s: the session could not be written: %s", head.method, head.path, e)
                    await storage_unavailable(send)
                    return
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def finish(self, session: Session, head: Head) -> list[tuple[bytes, bytes]]:
        """Before a response starts: write what changed; the cookie headers due."""
        if session.sid is None and session._touched and len(session):
            await self.sessions.ensure(session)  # a route wrote to a fresh session: it gets an id
        self.sessions.save(session)
        await self.sessions.settle(session)
        return session_headers(self.sessions, session, head, self.settings)


#: What a request that needs the store answers while it cannot (503).
STORE_UNAVAILABLE = b"The server cannot reach its storage: try again in a moment.\n"


async def storage_unavailable(send: Send) -> None:
    """503 as plain text (the browser client retries it with backoff)."""
    await _refuse(send, 503, STORE_UNAVAILABLE, [(b"retry-after", b"1")])


async def _refuse(send: Send, status: int, text: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store"),
                            *(headers or [])]})  # fmt: skip
    await send({"type": "http.response.body", "body": text})
