"""``hypercorn tests.serve:app``: the test app named by ``HTAG_SSE_TEST_APP``."""

import os

from .apps import build

app = build(os.environ.get("HTAG_SSE_TEST_APP", "counter"))
