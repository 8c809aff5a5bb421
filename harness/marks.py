"""What a test says it starts (its pytest markers), checked as it starts it: a test that starts a
redis-server without ``@pytest.mark.redis`` fails, so that ``pytest -m "not redis"`` selects honestly.
Outside pytest (the benchmarks) nothing is checked."""

from __future__ import annotations

#: The markers of the test running now (set by tests/conftest.py), or None outside pytest.
running: frozenset[str] | None = None


def starting(what: str) -> None:
    """Called by the harness as it starts ``what`` (a marker name: server, redis, nginx, ...)."""
    if running is not None and what not in running:
        raise AssertionError(
            f"this test starts {what} but is not marked with pytest.mark.{what}: mark it (its module's "
            f"pytestmark, or the test), so that -m selects it honestly"
        )
