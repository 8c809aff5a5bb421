"""``hypercorn tests.support.serve_client:app``: the app of tests/apps_client.py named by ``HTAG_SSE_TEST_APP``."""

import os

from .apps_client import build

app = build(os.environ.get("HTAG_SSE_TEST_APP", "numbers"))
