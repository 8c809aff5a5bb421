"""Counters and gauges, in-process and as Prometheus text; structured log lines."""

import logging

from htag_sse.metrics import Metrics


def test_counters_gauges_and_prometheus_text():
    metrics = Metrics()
    metrics.gauges["pages_open"] = lambda: 3
    metrics.event("page.created", page="a.1")
    metrics.event("page.created", page="a.2")
    snap = metrics.snapshot()
    assert snap["page.created"] == 2 and snap["pages_open"] == 3 and snap["uptime_s"] >= 0
    text = metrics.prometheus()
    assert "# TYPE htag_sse_page_created_total counter\nhtag_sse_page_created_total 2\n" in text
    assert "# TYPE htag_sse_pages_open gauge\nhtag_sse_pages_open 3\n" in text


def test_events_are_one_structured_line_with_fields_for_json_formatters(caplog):
    caplog.set_level(logging.INFO, logger="htag_sse")
    Metrics().event("page.dropped", page="a.1", reason="no tab for 60 s")
    (record,) = caplog.records
    assert record.getMessage() == 'event=page.dropped page=a.1 reason="no tab for 60 s"'
    assert record.event == "page.dropped" and record.reason == "no tab for 60 s"
