"""The library runs on Linux, macOS and Windows: no POSIX-only APIs in it."""

import re

import pytest

from harness.processes import ROOT

FORBIDDEN = {
    r"\bimport fcntl\b|\bfrom fcntl\b": "fcntl (POSIX file locks)",
    r"\bos\.fork\(|\bos\.forkpty\(": "fork",
    r"\bAF_UNIX\b|open_unix_connection|start_unix_server|create_unix_": "unix sockets",
    r"\bshared_memory\b|SharedMemory": "shared memory",
    r"\bos\.kill\(": "os.kill (TerminateProcess on Windows)",
    r"\bsignal\.SIGKILL\b|\bsignal\.SIGHUP\b|\bsignal\.SIGUSR": "POSIX-only signals",
    r"get_context\(['\"]fork": "the fork start method",
}


@pytest.mark.parametrize("path", sorted((ROOT / "htag_sse").glob("*.py")), ids=lambda p: p.name)
def test_no_posix_only_api(path):
    source = path.read_text()
    found = [what for pattern, what in FORBIDDEN.items() if re.search(pattern, source)]
    assert not found, f"{path.name} uses {', '.join(found)}"
