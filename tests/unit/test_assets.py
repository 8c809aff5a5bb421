"""The browser client: served with hashed URLs and cached for good; each page boots it with every
setting it needs (the client has no defaults of its own)."""

import json
import re

from htag_sse.assets import CLIENT, RELOAD_COOKIE, Assets, js_literal
from htag_sse.head import Head
from htag_sse.settings import Route, Settings


def head(query="", **headers):
    scope = {"type": "http", "method": "GET", "path": "/_htag/static/x", "query_string": query.encode(),
             "client": ("1.2.3.4", 1), "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]}
    return Head.parse(scope, Settings())


def test_the_boot_call_carries_every_setting_and_says_when_the_client_did_not_load():
    assets = Assets(Settings(grace_s=30))
    boot = assets.boot("/app", Settings(grace_s=30), Route(transport="poll"))("p.1", "tok", None, 7)
    config = json.loads(re.search(r"htagSSE\((\{.*?\})\)", boot).group(1))
    assert config == {"base": "/app/_htag", "transport": "poll", "grace_s": 30, "heartbeat_s": 25.0, "probe_s": 3.0,
                      "reload_cookie": RELOAD_COOKIE, "cookie_path": "/", "page": "p.1", "token": "tok", "last": 7}
    assert boot.startswith("if (window.htagSSE)") and "root_path" in boot and "/app/_htag/static/htag-sse.js" in boot


def test_static_files_are_cached_for_good_under_their_hash_and_revalidated_otherwise():
    assets = Assets(Settings())
    url = assets.url("", CLIENT)
    version = url.split("v=")[1]
    forever = assets.serve(CLIENT, head(f"v={version}"))
    assert forever.status_code == 200 and "immutable" in forever.headers["cache-control"]
    assert assets.serve(CLIENT, head()).headers["cache-control"] == "no-cache"
    etag = forever.headers["etag"]
    assert assets.serve(CLIENT, head(if_none_match=etag)).status_code == 304
    assert assets.serve("nope.js", head()).status_code == 404


def test_json_is_safe_inside_an_inline_script():
    assert js_literal({"x": "</script><script>alert(1)</script>\u2028"}) == (
        '{"x": "<\\/script><script>alert(1)<\\/script>\\u2028"}'
    )
