"""What a worker has been doing: counters and gauges readable in-process
(``app.metrics.snapshot()``), as Prometheus text (``HtagSSE(metrics=True)``:
``GET <prefix>/metrics``), and as structured log lines (``event=... key=value``,
also passed as ``extra`` fields for JSON log formatters)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

log = logging.getLogger("htag_sse")


class Metrics:
    """Counts events by name (``page.created``, ``interaction``...); gauges are read when asked."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.gauges: dict[str, Callable[[], float]] = {}
        self.started = time.monotonic()

    def event(self, name: str, level: int = logging.INFO, **fields: Any) -> None:
        """Count ``name`` and log it as one structured line."""
        self.counts[name] += 1
        if log.isEnabledFor(level):
            text = " ".join(f"{k}={_value(v)}" for k, v in fields.items())
            log.log(level, "event=%s %s", name, text, extra={"event": name, **fields})

    def snapshot(self) -> dict[str, float]:
        """Every counter and gauge now, by name."""
        data: dict[str, float] = {"uptime_s": round(time.monotonic() - self.started, 1)}
        data.update({name: read() for name, read in self.gauges.items()})
        data.update(self.counts)
        return data

    def prometheus(self) -> str:
        """The snapshot in Prometheus' text format (``htag_sse_page_created_total``...)."""
        lines = []
        for name, value in sorted(self.snapshot().items()):
            metric = "htag_sse_" + name.replace(".", "_")
            kind = "counter" if name in self.counts else "gauge"
            metric += "_total" if kind == "counter" else ""
            lines += [f"# TYPE {metric} {kind}", f"{metric} {value}"]
        return "\n".join(lines) + "\n"


def _value(v: Any) -> str:
    text = str(v)
    return text if text and " " not in text and '"' not in text else '"' + text.replace('"', "'") + '"'
