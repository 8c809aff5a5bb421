"""OAuthLogin's configuration and its guards (the full flow runs in tests/e2e/test_oauth.py)."""

import pytest
from htag import Tag

from htag_sse import ConfigError, HtagSSE, MemoryStore, OAuthLogin
from htag_sse.oauth import _local

from ..support.rawtab import RawTab


class Whoami(Tag.div):
    def init(self):
        self += Tag.span(str(login_of[0].user(self)), _class="who")


login_of: list[OAuthLogin] = []


def make(**kwargs):
    app = HtagSSE(session_store=MemoryStore())
    login = OAuthLogin(app, "corp", server_metadata_url="https://sso.example/.well-known/openid-configuration",
                       client_id="id", client_secret="secret", **kwargs)  # fmt: skip
    login_of[:] = [login]
    app.add_route("/", login.required(Whoami))
    return app, login


def test_client_credentials_come_from_arguments_or_the_environment(monkeypatch):
    app = HtagSSE(session_store=MemoryStore())
    with pytest.raises(ConfigError, match="CORP_CLIENT_ID"):
        OAuthLogin(app, "corp", server_metadata_url="https://sso.example/x")
    monkeypatch.setenv("CORP_CLIENT_ID", "from-env")
    login = OAuthLogin(app, "corp", server_metadata_url="https://sso.example/x")
    assert login.client.client_id == "from-env"
    with pytest.raises(ConfigError, match="server_metadata_url"):
        OAuthLogin(HtagSSE(session_store=MemoryStore()), "gh", client_id="x")


async def test_a_protected_app_sends_strangers_to_the_login_and_remembers_where_they_went(asgi_client):
    app, _ = make()
    client = asgi_client(app)
    r = await client.get("/?tab=2")
    assert r.status_code == 303 and r.headers["location"] == "http://testserver/login"
    assert (await app.sessions.resolve(client.cookies["htag_sid"]))["_htag_sse_login_next"] == "/?tab=2"


async def test_a_logged_in_user_gets_the_app_which_sees_the_claims(asgi_client):
    app, login = make()
    client = asgi_client(app)
    await client.get("/")  # a session
    session = await app.sessions.resolve(client.cookies["htag_sid"])
    session["user"] = {"sub": "42", "name": "Ann"}
    app.sessions.save(session)
    await app.sessions.settle(session)
    tab = await RawTab.open(client)
    assert "{&#x27;sub&#x27;: &#x27;42&#x27;" in tab.html or "'sub': '42'" in tab.html


async def test_logout_forgets_the_user_and_changes_the_session_id(asgi_client):
    app, _ = make()
    client = asgi_client(app)
    await client.get("/")
    sid = client.cookies["htag_sid"]
    session = await app.sessions.resolve(sid)
    session["user"] = {"sub": "42"}
    session["cart"] = ["book"]
    app.sessions.save(session)
    await app.sessions.settle(session)
    r = await client.get("/logout")
    assert r.status_code == 303 and client.cookies["htag_sid"] != sid
    assert dict(await app.sessions.resolve(client.cookies["htag_sid"])) == {}  # nothing of the user is kept
    assert (await client.get("/")).status_code == 303  # no user anymore


async def test_a_provider_error_on_the_callback_is_a_clear_400(asgi_client):
    app, _ = make()
    r = await asgi_client(app).get("/auth?error=access_denied&error_description=user+said+no")
    assert r.status_code == 400 and "access_denied: user said no" in r.text


@pytest.mark.parametrize("target, expected", [
    ("/page?x=1", "/page?x=1"), ("https://evil.example/", "/"), ("//evil.example", "/"), ("evil", "/"), ("", "/"),
])  # fmt: skip
def test_after_login_only_local_paths(target, expected):
    assert _local(target) == expected
