"""The browser client's pure parts (SSE parser, base64url, AES-GCM sealing,
batches, replay after a rerun), tested under node: ``node --test tests/js/``."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from harness.processes import ROOT


def test_the_client_node_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the browser client's tests need node >= 20")
    run = subprocess.run(
        [node, "--test", "tests/js/"], cwd=ROOT, check=False, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, f"node --test tests/js/ failed:\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout, run.stdout[-2000:]
