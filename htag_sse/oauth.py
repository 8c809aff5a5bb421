"""Log users in with OAuth2 / OpenID Connect, in a few lines (authlib's Starlette client).

::

    app = HtagSSE()
    login = OAuthLogin(app, "keycloak", server_metadata_url="https://sso.example.com/realms/r/.well-known/openid-configuration")
    app.add_route("/", login.required(App))      # no user yet: off to /login first

authlib keeps its ``state`` and ``nonce`` in ``request.session`` between the
redirect and the callback: htag-sse's session, shared by every worker. The
user's claims land in the session under ``"user"``: ``request.session["user"]``
in a route, ``self.session["user"]`` in an htag tag.
"""

from __future__ import annotations

import html
import logging
import os
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .adapter import AppClass
from .errors import ConfigError

if TYPE_CHECKING:
    from .app import HtagSSE

log = logging.getLogger("htag_sse")

#: Where the page the user wanted waits while they log in.
NEXT_KEY = "_htag_sse_login_next"


class OAuthLogin:
    """A provider registered with authlib, and the ``/login``, ``/auth`` and ``/logout`` routes.

    Give an OIDC discovery URL (``server_metadata_url``) or explicit endpoints
    (``authorize_url``, ``access_token_url``, ``userinfo_endpoint``: GitHub-style
    OAuth2). ``client_id``/``client_secret`` default to the environment
    variables ``<NAME>_CLIENT_ID``/``<NAME>_CLIENT_SECRET`` (``name`` upper-cased).
    """

    def __init__(
        self,
        app: HtagSSE,
        name: str = "oidc",
        *,
        server_metadata_url: str | None = None,
        authorize_url: str | None = None,
        access_token_url: str | None = None,
        userinfo_endpoint: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str = "openid profile email",
        login_path: str = "/login",
        callback_path: str = "/auth",
        logout_path: str = "/logout",
        after_logout: str = "/",
        session_key: str = "user",
        **client_kwargs: Any,
    ) -> None:
        env = name.upper().replace("-", "_")
        client_id = client_id or os.environ.get(f"{env}_CLIENT_ID")
        client_secret = client_secret or os.environ.get(f"{env}_CLIENT_SECRET")
        if not client_id:
            raise ConfigError(f"OAuthLogin {name!r}: give client_id=... or set {env}_CLIENT_ID")
        if not server_metadata_url and not (authorize_url and access_token_url):
            raise ConfigError(
                f"OAuthLogin {name!r}: give server_metadata_url (OIDC) or authorize_url and access_token_url"
            )
        self.app = app
        self.name = name
        self.login_path, self.callback_path, self.logout_path = login_path, callback_path, logout_path
        self.after_logout = after_logout
        self.session_key = session_key
        import authlib.deprecate  # noqa: F401 - it installs an "always" filter first, which ours then overrides

        with warnings.catch_warnings():  # authlib 1.9 announces its own httpx module's move
            warnings.simplefilter("ignore")
            from authlib.integrations.starlette_client import OAuth

            self.oauth = OAuth()
            self.client = self.oauth.register(
                name,
                client_id=client_id,
                client_secret=client_secret,
                server_metadata_url=server_metadata_url,
                authorize_url=authorize_url,
                access_token_url=access_token_url,
                userinfo_endpoint=userinfo_endpoint,
                client_kwargs={"scope": scope, **client_kwargs},
            )
        app.add_route(login_path, self.login, name=f"{name}_login")
        app.add_route(callback_path, self.callback, name=f"{name}_callback")
        app.add_route(logout_path, self.logout, name=f"{name}_logout")

    def user(self, where: Any) -> dict[str, Any] | None:
        """The logged-in user's claims, from a request (Starlette's ``Request``) or from a tag of an htag page."""
        session = where.session if isinstance(where, Request) else where.root.session
        return session.get(self.session_key) if session is not None else None

    def required(self, App: AppClass, **handle_options: Any) -> Callable[[Request], Awaitable[Response]]:
        """A route serving ``App`` to logged-in users only; others go to the login first."""

        async def endpoint(request: Request) -> Response:
            if self.user(request) is None:
                request.session[NEXT_KEY] = _local(
                    str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
                )
                return RedirectResponse(request.url_for(f"{self.name}_login"), 303)
            return await self.app.handle(request, App, **handle_options)

        return endpoint

    async def login(self, request: Request) -> Response:
        """Off to the provider (``?next=/path`` names where to come back)."""
        if "next" in request.query_params:
            request.session[NEXT_KEY] = _local(request.query_params["next"])
        response: Response = await self.client.authorize_redirect(request, request.url_for(f"{self.name}_callback"))
        return response

    async def callback(self, request: Request) -> Response:
        """Back from the provider: check the state, fetch the token, keep the user's claims."""
        from authlib.integrations.base_client import OAuthError

        try:
            token = await self.client.authorize_access_token(request)
            claims = token.get("userinfo") or await self.client.userinfo(token=token)
        except OAuthError as e:
            log.warning("login with %s refused: %s %s", self.name, e.error, e.description)
            return HTMLResponse(_page("Login failed", f"{e.error}: {e.description or ''}"), 400)
        target = request.session.pop(NEXT_KEY, "/")
        previous = request.session.get(self.session_key)
        if previous is not None and previous.get("sub") != claims.get("sub"):
            request.session.clear()  # another user on this browser: nothing of the last one's is kept
        request.session[self.session_key] = dict(claims)
        await self.app.rotate_session(request)  # a logged-in session gets a new id (no fixation)
        log.info("user %s logged in with %s", claims.get("sub"), self.name)
        return RedirectResponse(_local(target), 303)

    async def logout(self, request: Request) -> Response:
        """Forget everything of the user's session (not only who they are), under a new id."""
        request.session.clear()
        await self.app.rotate_session(request)
        return RedirectResponse(self.after_logout, 303)


def _local(target: str) -> str:
    """Only paths of this site: no open redirect to another host."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _page(title: str, message: str) -> str:
    return (
        f"<!DOCTYPE html><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
    )
