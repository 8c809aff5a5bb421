"""F5 keeps the live instance (htag's desktop behaviour): a reloading tab's page is taken over
by its next GET; two tabs open at once never share one."""

from htag_sse import MemoryStore
from htag_sse.assets import RELOAD_COOKIE

from ..support.apps import build
from ..support.rawtab import RawTab, text_of


async def open_tally(asgi_client, path="/"):
    app = build("tally", session_store=MemoryStore())
    client = asgi_client(app)
    return app, client, await RawTab.open(client, path)


def reload_cookie(client, tab):
    """What the browser client does as its tab unloads (beforeunload): name its page for the next GET."""
    client.cookies.set(RELOAD_COOKIE, f"{tab.page}~{tab.config['token']}", domain="testserver.local")


async def test_f5_keeps_a_counter_held_in_an_attribute(asgi_client):
    app, client, tab = await open_tally(asgi_client)
    for _ in range(3):
        await tab.click("inc")
    reload_cookie(client, tab)
    again = await RawTab.open(client)
    assert again.page == tab.page and again.config["token"] != tab.config["token"]
    assert '<span class="count"' in again.html and ">3</span>" in again.html
    assert RELOAD_COOKIE not in client.cookies  # used once
    assert text_of(await again.click("inc")) == "4"  # numbering starts again for the new tab
    old = await tab.post(tab.calls["inc"])  # the old document (back from the back/forward cache)
    assert old.status_code == 410 and old.json()["error"] == "page_taken"  # it reruns, or reloads
    assert len(app.pages) == 1


async def test_a_released_page_is_taken_over_by_the_next_get_of_the_same_app(asgi_client):
    app, client, tab = await open_tally(asgi_client, "/?start=5")
    await tab.click("inc")
    r = await client.post(tab.url("release"), content=tab.config["token"])  # navigator.sendBeacon(url, token)
    assert r.status_code == 204
    other_query = await RawTab.open(client, "/?start=7")
    assert other_query.page != tab.page and ">7</span>" in other_query.html
    again = await RawTab.open(client, "/?start=5")
    assert again.page == tab.page and ">6</span>" in again.html


async def test_two_tabs_of_the_same_url_keep_their_own_instance(asgi_client):
    app, client, first = await open_tally(asgi_client)
    second = await RawTab.open(client)
    assert second.page != first.page
    await first.click("inc")
    assert text_of(await second.click("inc")) == "1" and text_of(await first.click("inc")) == "2"


async def test_a_release_needs_the_token_and_a_later_request_of_the_tab_cancels_it(asgi_client):
    app, client, tab = await open_tally(asgi_client)
    assert (await client.post(tab.url("release"), content=b"wrong")).status_code == 403
    assert (await client.post(tab.url("release"), headers={"X-Htag-Token": tab.config["token"]})).status_code == 204
    await tab.click("inc")  # the tab came back (back/forward cache): its page is not up for grabs
    assert (await RawTab.open(client)).page != tab.page


async def test_another_session_cannot_take_a_page_over(asgi_client):
    app, client, tab = await open_tally(asgi_client)
    await client.post(tab.url("release"), content=tab.config["token"])
    stranger = asgi_client(app)
    stranger.cookies.set(RELOAD_COOKIE, f"{tab.page}~{tab.config['token']}")
    assert (await RawTab.open(stranger)).page != tab.page


async def test_a_stale_reload_cookie_with_a_wrong_token_gives_a_fresh_page(asgi_client):
    app, client, tab = await open_tally(asgi_client)
    await tab.click("inc")
    client.cookies.set(RELOAD_COOKIE, f"{tab.page}~not-the-token")
    fresh = await RawTab.open(client)
    assert fresh.page != tab.page and ">0</span>" in fresh.html
