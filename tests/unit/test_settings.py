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
    monkeypatch.setenv("HTAG_SSE_SECRET", "x" * 32)
    settings = Settings.build()
    assert settings.redis == "redis://127.0.0.1:6379/0" and settings.secret == b"x" * 32
    with pytest.raises(ConfigError, match="max_interaction_bytes"):
        Settings.build(max_body_bytes=2048, max_interaction_bytes=1024)
