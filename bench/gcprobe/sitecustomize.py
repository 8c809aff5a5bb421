"""Imported at startup by every Python process whose ``PYTHONPATH`` holds this directory
(bench_fleet.py puts it on its servers'): when ``BENCH_GC_LOG`` names a directory, the process
appends one line per full garbage collection (generation 2) to ``<dir>/<pid>.log``:
``<time.monotonic() at its end> <duration s> <objects collected>``. Other collections only cost
a call that returns at once."""

import gc
import os
import time

_DIR = os.environ.get("BENCH_GC_LOG")

if _DIR:
    _out = open(os.path.join(_DIR, f"{os.getpid()}.log"), "a", buffering=1)  # noqa: SIM115 (lives with the process)
    _started = [0.0]

    def _on_gc(phase: str, info: dict) -> None:  # type: ignore[type-arg]
        if info["generation"] != 2:
            return
        if phase == "start":
            _started[0] = time.perf_counter()
        else:
            _out.write(f"{time.monotonic()!r} {time.perf_counter() - _started[0]!r} {info['collected']}\n")

    gc.callbacks.append(_on_gc)
