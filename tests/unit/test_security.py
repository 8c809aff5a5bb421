"""POSTs carry their page's token and come from the page's own origin."""

import pytest

from htag_sse.errors import RequestError
from htag_sse.head import Head
from htag_sse.security import check_origin, check_token
from htag_sse.settings import Settings


def head(client="203.0.113.9", settings=Settings(), **headers):
    scope = {"type": "http", "method": "POST", "path": "/_htag/x/interact", "scheme": "http", "client": (client, 5000),
             "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]}
    return Head.parse(scope, settings)


def test_tokens_are_compared_in_constant_time_and_required():
    check_token("abc", "abc")
    for given in (None, "", "abd", "é"):
        with pytest.raises(RequestError) as e:
            check_token("abc", given)
        assert e.value.status == 403


def test_origin_must_be_this_server_or_allowed():
    settings = Settings()
    check_origin(head(host="a.test", origin="http://a.test"), settings)
    check_origin(head(host="a.test"), settings)  # no Origin (non-browser client): the token still protects
    check_origin(head(host="a.test", referer="http://a.test/page?x=1"), settings)
    proxied = {"client": "127.0.0.1", "host": "10.0.0.1:8000", "x_forwarded_host": "a.test", "origin": "https://a.test"}
    check_origin(head(**proxied), settings)
    with pytest.raises(RequestError):  # X-Forwarded-Host counts only from a trusted proxy
        strict = Settings(forwarded_allow_ips=())
        check_origin(head(settings=strict, **proxied), strict)
    allowing = Settings(allowed_origins=("https://b.test",))
    check_origin(head(host="a.test", origin="https://b.test"), allowing)
    for bad in (head(host="a.test", origin="http://evil.test"), head(host="a.test", origin="null"),
                head(host="a.test", referer="http://evil.test/x"), head(host="a.test", sec_fetch_site="cross-site")):
        with pytest.raises(RequestError) as e:
            check_origin(bad, settings)
        assert e.value.status == 403
