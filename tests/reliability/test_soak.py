"""A smoke-sized run of the load and soak script (bench/reliability/soak.py): the same code and the same checks as
the 20-minute run recorded in docs/reliability.md, for 15 seconds."""
from __future__ import annotations

import pytest

from bench.reliability import soak


@pytest.mark.slow
def test_a_short_soak_run_loses_nothing_and_reports_every_figure(tmp_path):
    report = soak.run(seconds=15, rate=60, edits=3, readers=2, editors=2, sample_every=2, release_every=5,
                      data_dir=tmp_path)
    assert report["ok"], soak.markdown(report)
    ledger = report["ledger"]
    assert ledger["lost"] == 0 and not ledger["problems"]
    assert ledger["acknowledged_edits"] == ledger["new_commits"] == ledger["new_audit_rows"] > 0
    assert ledger["releases_approved"] >= 1
    endpoints = report["endpoints"]
    for label in ("POST predict (1 case)", "GET bundle v1", "GET diff", "PUT rule (busy)", "bad: NaN"):
        assert endpoints[label]["requests"] > 0 and endpoints[label]["p99_ms"] > 0, label
    assert all(not any(s.startswith("5") for s in e["statuses"]) for e in endpoints.values())
    assert set(endpoints["bad: NaN"]["statuses"]) == {"422"}
    assert len(report["workers"]) == 2
    for figures in report["workers"].values():
        assert figures["samples"] >= 4
        assert figures["rss_mb"]["last"] > 20 and figures["fds"]["last"] > 3
    text = soak.markdown(report)
    assert "| POST predict (1 case) |" in text and "Result: OK" in text
