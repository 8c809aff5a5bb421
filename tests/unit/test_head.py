"""A request's head, read once: cookies, proxies, client address, numbers."""

import pytest

from htag_sse.head import Head, network_of, parse_count
from htag_sse.settings import Settings


def head(client="203.0.113.9", scheme="http", settings=Settings(), path="/_htag/p/interact", root="", **headers):
    scope = {"type": "http", "method": "GET", "path": path, "root_path": root, "scheme": scheme,
             "client": (client, 1234), "query_string": b"a=1",
             "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]}
    return Head.parse(scope, settings)


def test_forwarded_headers_count_only_from_trusted_proxies():
    assert head("127.0.0.1", x_forwarded_for="198.51.100.7").address == "198.51.100.7"
    assert head("203.0.113.5", x_forwarded_for="198.51.100.7").address == "203.0.113.5"
    # a client can prepend anything: the proxy appends the real peer last
    assert head("127.0.0.1", x_forwarded_for="6.6.6.6, 198.51.100.7").address == "198.51.100.7"
    assert head("127.0.0.1", x_forwarded_proto="https").https
    assert not head("203.0.113.5", x_forwarded_proto="https").https
    assert head("203.0.113.5", scheme="https").https
    assert head("203.0.113.5", settings=Settings(forwarded_allow_ips=("*",)), x_forwarded_proto="https").https


def test_cookies_split_over_several_headers_and_the_mount_path():
    scope = {"type": "http", "method": "GET", "path": "/app/_htag/p/events", "root_path": "/app", "scheme": "http",
             "client": ("1.2.3.4", 1), "headers": [(b"cookie", b"a=1; htag_sid=abc"), (b"cookie", b"b=2")]}
    h = Head.parse(scope, Settings())
    assert h.cookies == {"a": "1", "htag_sid": "abc", "b": "2"} and h.sid(Settings()) == "abc"
    assert h.path == "/_htag/p/events" and h.root_path == "/app"


def test_numbers_in_headers():
    h = head(x_htag_seq="7", content_length="12", last_event_id="3")
    assert (h.seq, h.bad_seq, h.content_length, h.last_event_id) == (7, False, 12, 3)
    assert head(x_htag_seq="²").bad_seq and head(x_htag_seq="-1").bad_seq


@pytest.mark.parametrize("raw, expected", [("12", 12), ("0", 0), (None, None), ("", None), ("-1", None), ("1e3", None), ("9" * 30, None), ("²", None), ("٣", None)])
def test_counts_are_ascii_digits_only(raw, expected):
    assert parse_count(raw) == expected


def test_ipv6_clients_count_per_64():
    assert network_of("2001:db8:1:2:aaaa::1") == network_of("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert network_of("2001:db8:1:3::1") != network_of("2001:db8:1:2::1")
    assert network_of("198.51.100.7") == "198.51.100.7" and network_of("::ffff:198.51.100.7") == "198.51.100.7"
    assert network_of("unknown") == "unknown"
