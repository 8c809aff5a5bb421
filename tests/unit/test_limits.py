"""Client addresses behind trusted proxies, https detection, per-minute limits."""

from htag_sse.limits import MAX_TRACKED, PerMinute, client_address, is_https


def scope(client, scheme="http", **headers):
    return {"client": (client, 1234), "scheme": scheme,
            "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]}


def test_forwarded_headers_count_only_from_trusted_proxies():
    trusted = ("127.0.0.1",)
    assert client_address(scope("127.0.0.1", x_forwarded_for="198.51.100.7"), trusted) == "198.51.100.7"
    assert client_address(scope("203.0.113.5", x_forwarded_for="198.51.100.7"), trusted) == "203.0.113.5"
    # a client can prepend anything: the proxy appends the real peer last
    assert client_address(scope("127.0.0.1", x_forwarded_for="6.6.6.6, 198.51.100.7"), trusted) == "198.51.100.7"
    assert is_https(scope("127.0.0.1", x_forwarded_proto="https"), trusted)
    assert not is_https(scope("203.0.113.5", x_forwarded_proto="https"), trusted)
    assert is_https(scope("203.0.113.5", scheme="https"), trusted)
    assert is_https(scope("203.0.113.5", x_forwarded_proto="https"), ("*",))


def test_per_minute_windows():
    limit = PerMinute(3)
    assert [limit.allow("a", now=60.0) for _ in range(4)] == [True, True, True, False]
    assert limit.allow("b", now=61.0)  # another address
    assert limit.allow("a", now=120.0)  # the next minute


def test_the_limiter_memory_is_bounded():
    limit = PerMinute(1)
    for i in range(MAX_TRACKED + 10):
        limit.allow(f"10.{i}", now=60.0)
    assert len(limit) <= MAX_TRACKED
    assert limit.allow("fresh", now=120.0)  # old windows are forgotten when a new minute comes
    assert len(limit) == 1
