"""Runs of different hours at the same time (the embedded instance allows two): the dedup
against other runs' output holds, and a run never removes another live run's staging."""

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

import plugins.transform
from plugins.job import run
from tests.conftest import REPO_ROOT
from tests.processing.conftest import INGEST_MS, event, raw_record, write_raw_hour

pytestmark = pytest.mark.spark
HOUR = datetime(2023, 11, 14, 22, tzinfo=UTC)
NEXT_HOUR = datetime(2023, 11, 14, 23, tzinfo=UTC)
APPS = ["shop_android"]


def event_ids(ods: Path) -> list[str]:
    with duckdb.connect() as connection:
        rows = connection.execute(f"select event_id from read_parquet('{ods}/ods_events/*/*/*/*/*.parquet') order by 1").fetchall()
    return [row[0] for row in rows]


def test_two_hours_processed_at_once_write_each_event_once(spark, tmp_path: Path, monkeypatch):
    lake, ods = tmp_path / "lake", tmp_path / "ods"
    write_raw_hour(lake, "2023111422", [raw_record(json.dumps([event("a"), event("b")]))])
    # The SDK sent "a" again in the next hour (its first upload's answer was lost).
    write_raw_hour(lake, "2023111423", [raw_record(json.dumps([event("a"), event("c")]), rid="retry", ingest_time=INGEST_MS + 3_600_000)])
    # Both runs finish their own batch's dedup before either looks at what other runs
    # committed: the interleaving two concurrent runs have when their passes take as long.
    both_deduplicated = threading.Barrier(2, timeout=120)
    within_run = plugins.transform.duplicate_rows

    def duplicate_rows_then_wait(keys):
        losers = within_run(keys)
        both_deduplicated.wait()
        return losers

    monkeypatch.setattr(plugins.transform, "duplicate_rows", duplicate_rows_then_wait)
    reports: dict[datetime, dict] = {}
    errors: list[BaseException] = []

    def process(hour: datetime) -> None:
        try:
            reports[hour] = run(spark, raw_root=lake, ods_root=ods, project_id="proj", app_ids=APPS, hours=[hour])
        except BaseException as error:  # re-raised below, in the test's thread
            errors.append(error)
            both_deduplicated.abort()

    threads = [threading.Thread(target=process, args=(hour,)) for hour in (HOUR, NEXT_HOUR)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert event_ids(ods) == ["a", "b", "c"]
    # The run that committed second found "a" in the first one's output.
    assert sorted(report["duplicates_of_earlier_runs"] for report in reports.values()) == [0, 1]
    assert sum(report["written"] for report in reports.values()) == 3


def test_staging_of_a_killed_run_is_removed_and_a_live_runs_kept(spark, tmp_path: Path):
    from plugins.run_locks import staging_liveness

    lake, ods = tmp_path / "lake", tmp_path / "ods"
    write_raw_hour(lake, "2023111422", [raw_record(json.dumps([event("a")]))])
    staging = ods / "_staging"
    # A live run: another process that holds its staging's liveness marker, as a run does
    # from its start to its end.
    live = subprocess.Popen(
        [sys.executable, "-c", "import sys; from plugins.run_locks import staging_liveness\n"
         "with staging_liveness(sys.argv[1]):\n    print('holding', flush=True); sys.stdin.read()",
         (staging / "live-run").as_uri()],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    try:
        assert live.stdout.readline().strip() == "holding"
        (staging / "live-run" / "ods_events").mkdir(parents=True)
        (staging / "live-run" / "ods_events" / "part-0.parquet").write_bytes(b"being written")
        # A run killed half way: its staged files, and its marker that nobody holds any more.
        with staging_liveness((staging / "killed-run").as_uri()):
            (staging / "killed-run" / "ods_events" / "ingest_hour=2023111422").mkdir(parents=True)
            (staging / "killed-run" / "ods_events" / "ingest_hour=2023111422" / "part-0.parquet").write_bytes(b"left over")

        report = run(spark, raw_root=lake, ods_root=ods, project_id="proj", app_ids=APPS, hours=[HOUR])
        assert report["removed_staging"] == [(staging / "killed-run").as_uri().replace("file:///", "file:/")]
        assert not (staging / "killed-run").exists()
        assert (staging / "live-run" / "ods_events" / "part-0.parquet").read_bytes() == b"being written"
        assert event_ids(ods) == ["a"]
    finally:
        live.communicate("")
