"""The session cookie: HttpOnly, SameSite=Lax, Secure under https only."""

from htag_sse.cookie import session_cookie
from htag_sse.settings import Settings


def test_the_session_cookie_flags():
    plain = session_cookie(Settings(session_max_age_s=3600), "abc", secure=False).decode()
    assert plain == "htag_sid=abc; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"
    secure = session_cookie(Settings(session_cookie="sid", session_path="/app"), "abc", secure=True).decode()
    assert secure.startswith("sid=abc; Path=/app;") and secure.endswith("; Secure")
