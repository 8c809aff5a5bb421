"""Options are validated early, with the bad value in the message."""

import pytest

from htag_sse import ConfigError, HtagSSE, MemoryStore
from htag_sse.settings import OPTIONS, Options, Route, Settings


@pytest.mark.parametrize(
    "option, value, words",
    [
        ("timeout_interaction", 0, "timeout_interaction must be a number of seconds > 0, got 0"),
        ("timeout_interaction", "60", "got '60'"),
        ("timeout_inactivity", -1, "timeout_inactivity must be a number of seconds >= 0, got -1"),
        ("heartbeat_s", float("nan"), "heartbeat_s"),
        ("grace_s", True, "grace_s"),
        ("backlog_events", 0, "backlog_events must be an integer >= 1, got 0"),
        ("max_body_bytes", 1.5, "max_body_bytes"),
        ("transport", "websocket", "transport must be one of"),
        ("prefix", "_htag", "prefix must start with '/'"),
        ("prefix", "/x/", "prefix"),
        ("session_cookie", "a b", "session_cookie"),
    ],
)
def test_bad_values_are_refused_at_construction(option, value, words):
    with pytest.raises(ConfigError) as e:
        HtagSSE(session_store=MemoryStore(), **{option: value})
    assert words in str(e.value)


def test_http_only_means_no_push_channel():
    assert Settings.build(http_only=True).route.transport == "none"
    assert not Settings.build(http_only=True).push
    with pytest.raises(ConfigError, match="contradicts"):
        Settings.build(http_only=True, transport="sse")


def test_routes_override_some_options_only():
    base = Settings.build(http_only=True).route
    assert base.but(http_only=False).transport == "auto"
    assert base.but(parano=None) is base
    assert Route().but(timeout_interaction=5).timeout_interaction == 5
    with pytest.raises(ConfigError, match="unknown option"):
        Route().but(prefix="/x")
    assert Route.from_dict(Route(parano=True).to_dict()) == Route(parano=True)


def test_every_option_is_typed_for_type_checkers_and_has_one_default():
    assert set(Options.__annotations__) == OPTIONS


def test_redis_needs_a_secret_and_options_come_from_the_environment(monkeypatch):
    with pytest.raises(ConfigError, match="needs a secret"):
        Settings.build(redis="redis://127.0.0.1:6379/0")
    monkeypatch.setenv("HTAG_SSE_REDIS", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("HTAG_SSE_SECRET", "Xq3-vT9_kLm2Rz8w")
    settings = Settings.build()
    assert settings.redis == "redis://127.0.0.1:6379/0" and settings.secret == b"Xq3-vT9_kLm2Rz8w"
    with pytest.raises(ConfigError, match="max_interaction_bytes"):
        Settings.build(max_body_bytes=2048, max_interaction_bytes=1024)


@pytest.mark.parametrize("secret, words", [
    ("a" * 16, "secret is not random enough (about 0 bits"),
    ("ab" * 8, "secret is not random enough (about 16 bits"),
    ("short", "secret must be at least 16 bytes (or characters) of random data, got 5 bytes"),
])  # fmt: skip
def test_short_or_guessable_secrets_are_refused(secret, words):
    with pytest.raises(ConfigError) as e:
        HtagSSE(session_store=MemoryStore(), secret=secret)
    assert words in str(e.value)


def test_random_secrets_pass(monkeypatch):
    import secrets

    for _ in range(200):
        Settings.build(secret=secrets.token_hex(8))  # 16 hex digits: the shortest random secret worth taking
        Settings.build(secret=secrets.token_urlsafe(32))


@pytest.mark.parametrize("value", ["a" * 32, "tiny"])
def test_a_bad_secret_from_the_environment_blames_the_environment(monkeypatch, value):
    monkeypatch.setenv("HTAG_SSE_SECRET", value)
    with pytest.raises(ConfigError, match=r"^HTAG_SSE_SECRET \(in the environment\) "):
        Settings.build()


def test_a_redis_url_from_the_environment_without_a_secret_blames_the_environment(monkeypatch):
    monkeypatch.setenv("HTAG_SSE_REDIS", "redis://127.0.0.1:6379/0")
    monkeypatch.delenv("HTAG_SSE_SECRET", raising=False)
    with pytest.raises(ConfigError, match=r"^HTAG_SSE_REDIS is set \(in the environment\): Redis needs a secret"):
        Settings.build()


def test_htagwebs_sesprovider_is_refused_even_as_none_naming_its_replacement():
    for value in (None, "some.provider"):
        with pytest.raises(ConfigError, match=r"sesprovider= is htagweb's, not an htag-sse option .*use session_store="):
            HtagSSE(session_store=MemoryStore(), sesprovider=value)


def test_unknown_options_are_refused_even_as_none():
    with pytest.raises(ConfigError, match="unknown option.s. colour"):
        HtagSSE(session_store=MemoryStore(), colour=None)
