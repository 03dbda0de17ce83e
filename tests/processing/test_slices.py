"""Micro-batches of only the new raw files (``--only-new``, plugins/slices.py): slices add files to
an hour, dedup across slices as in a whole-hour run, re-runs after a crash replace, a whole-hour
run resets."""

import json
from pathlib import Path

import duckdb
import pytest

from plugins.job import run
from plugins.slices import SLICES
from tests.processing.conftest import INGEST_MS, event, raw_record, write_raw_hour
from tests.processing.test_job import APPS, HOUR, ods_rows

pytestmark = pytest.mark.spark
HOUR_TAG = "2023111422"


def run_hour(spark, lake: Path, ods: Path, only_new: bool) -> dict:
    return run(spark, raw_root=lake, ods_root=ods, project_id="proj", app_ids=APPS, hours=[HOUR], only_new=only_new)


def record(ods: Path) -> dict:
    return json.loads((ods / SLICES / f"ingest_hour={HOUR_TAG}.json").read_text())


def quarantined_rids(ods: Path) -> list[str]:
    pattern = str(ods / "quarantine" / "*" / "*.parquet")
    with duckdb.connect() as connection:
        return sorted(row[0] for row in connection.execute(f"select rid from read_parquet('{pattern}')").fetchall())


def ods_files(ods: Path) -> list[str]:
    return sorted(path.name.split("-part-")[0] for path in (ods / "ods_events").rglob("*.parquet"))


FIRST = [
    raw_record(json.dumps([event("a"), event("b")]), rid="r1"),
    raw_record("garbage", compression="gzip", rid="q1"),
]
# Repeats "a" (a later SDK retry) and within itself "c"; one more undecodable request.
SECOND = [
    raw_record(json.dumps([event("a"), event("c")]), rid="r2", ingest_time=INGEST_MS + 1000),
    raw_record(json.dumps([event("c"), event("w", app_id="shop_web")]), app_id="shop_web", rid="r3", ingest_time=INGEST_MS + 2000),
    raw_record("garbage", compression="gzip", rid="q2"),
]


def test_slices_add_files_and_dedup_like_a_whole_hour_run(spark, tmp_path: Path):
    lake, ods, whole = tmp_path / "lake", tmp_path / "ods", tmp_path / "whole"
    write_raw_hour(lake, HOUR_TAG, FIRST, name="1.gz")
    first = run_hour(spark, lake, ods, only_new=True)
    assert first["raw_files"] == 1 and first["slices"] == {HOUR_TAG: "s00001"}
    write_raw_hour(lake, HOUR_TAG, SECOND, name="2.gz")
    second = run_hour(spark, lake, ods, only_new=True)
    # Only the new file was read; "a" was in the first slice, "c" twice in this one.
    assert second["raw_files"] == 1 and second["slices"] == {HOUR_TAG: "s00002"}
    assert second["duplicates_of_earlier_runs"] == 1 and second["duplicates"] == 2
    assert ods_files(ods) == ["h2023111422-s00001", "h2023111422-s00002", "h2023111422-s00002"]
    assert record(ods)["slices"] == 2
    assert [file.rsplit("/", 1)[1] for file in record(ods)["files"]] == ["1.gz", "2.gz"]

    # The same rows (and quarantine) as one run of the whole hour.
    run_hour(spark, lake, whole, only_new=False)
    assert ods_rows(ods) == ods_rows(whole)
    assert quarantined_rids(ods) == quarantined_rids(whole) == ["q1", "q2"]

    # Nothing new: nothing read, nothing changed.
    again = run_hour(spark, lake, ods, only_new=True)
    assert again["raw_files"] == 0 and again["slices"] == {}
    assert ods_rows(ods) == ods_rows(whole) and record(ods)["slices"] == 2


def test_a_slice_redone_after_a_crash_replaces_its_output(spark, tmp_path: Path):
    lake, ods = tmp_path / "lake", tmp_path / "ods"
    write_raw_hour(lake, HOUR_TAG, FIRST, name="1.gz")
    run_hour(spark, lake, ods, only_new=True)
    before = (ods / SLICES / f"ingest_hour={HOUR_TAG}.json").read_text()
    write_raw_hour(lake, HOUR_TAG, SECOND, name="2.gz")
    run_hour(spark, lake, ods, only_new=True)
    # A crash after the commit, before the record (the commit point) was written.
    (ods / SLICES / f"ingest_hour={HOUR_TAG}.json").write_text(before)
    write_raw_hour(lake, HOUR_TAG, [raw_record(json.dumps([event("d")]), rid="r4", ingest_time=INGEST_MS + 3000)], name="3.gz")
    redone = run_hour(spark, lake, ods, only_new=True)
    assert redone["raw_files"] == 2 and redone["slices"] == {HOUR_TAG: "s00002"}
    assert [row[4] for row in ods_rows(ods)] == ["a", "b", "c", "d", "w"]
    assert quarantined_rids(ods) == ["q1", "q2"]


def test_a_whole_hour_run_rewrites_the_hour_and_resets_the_record(spark, tmp_path: Path):
    lake, ods = tmp_path / "lake", tmp_path / "ods"
    write_raw_hour(lake, HOUR_TAG, FIRST, name="1.gz")
    run_hour(spark, lake, ods, only_new=True)
    write_raw_hour(lake, HOUR_TAG, SECOND, name="2.gz")
    run_hour(spark, lake, ods, only_new=True)
    run_hour(spark, lake, ods, only_new=False)
    assert set(ods_files(ods)) == {"h2023111422"}
    assert record(ods)["slices"] == 0 and len(record(ods)["files"]) == 2
    assert [row[4] for row in ods_rows(ods)] == ["a", "b", "c", "w"]
    assert quarantined_rids(ods) == ["q1", "q2"]

    # The next slice adds to the whole hour's files.
    write_raw_hour(lake, HOUR_TAG, [raw_record(json.dumps([event("a"), event("d")]), rid="r4", ingest_time=INGEST_MS + 3000)], name="3.gz")
    report = run_hour(spark, lake, ods, only_new=True)
    assert report["slices"] == {HOUR_TAG: "s00001"} and report["written"] == 1
    assert [row[4] for row in ods_rows(ods)] == ["a", "b", "c", "d", "w"]


def test_only_new_refuses_load_manifests(spark, tmp_path: Path):
    with pytest.raises(ValueError, match="load_manifests"):
        run(
            spark,
            raw_root=tmp_path,
            ods_root=tmp_path / "ods",
            project_id="p",
            app_ids=APPS,
            hours=[HOUR],
            only_new=True,
            load_manifests=True,
        )


def test_hour_with_no_record_yet(spark, tmp_path: Path):
    # Hours processed whole before slices existed: the first slice reads the hour once and adds
    # no event twice (its quarantine rows do repeat: the quarantine has no dedup).
    lake, ods = tmp_path / "lake", tmp_path / "ods"
    write_raw_hour(lake, HOUR_TAG, FIRST, name="1.gz")
    run_hour(spark, lake, ods, only_new=False)
    (ods / SLICES / f"ingest_hour={HOUR_TAG}.json").unlink()
    report = run_hour(spark, lake, ods, only_new=True)
    assert report["raw_files"] == 1 and report["written"] == 0
    assert [row[4] for row in ods_rows(ods)] == ["a", "b"]
