"""Per-minute limits, in bounded memory."""

from htag_sse.limits import MAX_TRACKED, PerMinute


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
