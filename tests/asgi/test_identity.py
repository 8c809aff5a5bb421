"""A page belongs to who was logged in when it opened: a logout, a login (as anyone) and a
rotation of the session id end the old identity's pages, which are never handed on — not to the
next user of the browser, not to an anonymous visitor, not through the reload cookie."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from htag_sse import HtagSSE, MemoryStore
from htag_sse.testing import HtagTestClient, Tab

from ..support.apps import Notes


def notes_app() -> HtagSSE:
    holder: list[HtagSSE] = []

    async def login(request: Request) -> JSONResponse:  # as OAuthLogin does: the user, then a new id
        request.session["user"] = request.query_params["user"]
        return JSONResponse({"sid": await holder[0].rotate_session(request)})

    async def logout(request: Request) -> JSONResponse:  # an app's own logout: clear() alone
        request.session.clear()
        return JSONResponse({})

    holder.append(HtagSSE(Notes, session_store=MemoryStore(), routes=[Route("/login", login), Route("/logout", logout)]))
    return holder[0]


async def alices_page(client: HtagTestClient) -> Tab:
    assert (await client.http.get("/login", params={"user": "alice"})).status_code == 200
    tab = await client.open()
    await tab.find("input.note").change("alice's secret")
    assert tab.find(".hello").text == "hello alice" and tab.find(".notes").text == "alice's secret"
    return tab


def leaves(tab: Tab) -> None:
    """What a browser does as the tab goes to another URL: the reload cookie names its page (for 5 s)."""
    name, jar = tab.config["reload_cookie"], tab.client.http.cookies
    jar.set(name, f"{tab.id}~{tab.token}", domain=tab.client.cookie_domain, path=tab.config["cookie_path"])


@pytest.mark.parametrize("then", ["logout, then bob logs in", "bob logs in over her session", "logout, anonymous"])
@pytest.mark.parametrize("cookie", [False, True], ids=["released", "reload cookie"])
async def test_the_next_user_of_the_browser_never_gets_the_previous_users_page(then: str, cookie: bool) -> None:
    async with HtagTestClient(app=notes_app(), stop_app=True) as client:
        alice = await alices_page(client)
        old = client.app.pages.get(alice.id)
        if cookie:
            leaves(alice)
        await alice.close()  # the release beacon a real browser sends as the tab leaves
        if then.startswith("logout"):
            await client.http.get("/logout")
        if "bob" in then:
            await client.http.get("/login", params={"user": "bob"})
        nxt = await client.open()
        assert nxt.id != alice.id and "alice" not in nxt.text, nxt.text
        assert nxt.find(".hello").text == ("hello bob" if "bob" in then else "hello nobody")
        assert old is not None and old.closed  # her live page ended with her identity
        gone = await client.http.post(f"{alice.config['base']}/{alice.id}/interact", json={},
                                      headers={"X-Htag-Token": alice.token, "X-Htag-Seq": "2",
                                               "Origin": client.origin})  # fmt: skip
        assert gone.status_code == 410


async def test_a_logout_in_one_tab_ends_every_tab_of_that_identity() -> None:
    async with HtagTestClient(app=notes_app(), stop_app=True) as client:
        one = await alices_page(client)
        two = await client.open()
        await client.http.get("/logout")
        assert client.app.pages.get(one.id) is None and client.app.pages.get(two.id) is None


async def test_a_login_keeps_the_session_data_but_not_the_pages() -> None:
    async with HtagTestClient(app=notes_app(), stop_app=True) as client:
        await client.http.get("/login", params={"user": "alice"})
        tab = await client.open()
        await client.http.get("/login", params={"user": "alice"})  # the same user again: still a new id
        assert (await client.session())["user"] == "alice"
        assert client.app.pages.get(tab.id) is None
