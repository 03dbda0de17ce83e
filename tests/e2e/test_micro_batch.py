"""Micro-batch mode end to end with the real processes: the ingestion service and the Dagster
daemon run; events are sent; nothing is materialized by hand; every acknowledged event must
appear in the session view. Runs bench/freshness briefly (its latency figures are the
benchmark's business, not asserted here: the machine is shared)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_sensors_bring_fresh_events_to_the_session_view_without_manual_runs(tmp_path):
    report_path = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "bench/freshness/run.py", "--minutes", "0.4", "--interval", "3", "--drain-minutes", "10",
         "--dir", str(tmp_path / "project"), "--json", str(report_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=15 * 60,
    )  # fmt: skip
    assert report_path.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report["events_acknowledged"] >= 5
    assert report["events_not_visible"] == 0, report
    # One changed hour per tick: processed and modeled in one run, no separate build needed.
    assert any(name.startswith("micro_batch SUCCESS") for name in report["runs"]), report["runs"]
    assert not any("FAILURE" in name for name in report["runs"]), report["runs"]
    assert result.returncode == 0
