"""The job runner on real files: layout, report, dedup, idempotent re-runs, spark-submit."""

import gzip
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from clickstream_dagster.processing.emr import job_sources, zip_sources
from plugins.job import main as job_main
from plugins.job import run
from tests.conftest import REPO_ROOT
from tests.processing.conftest import INGEST_MS, event, raw_record, write_raw_hour

pytestmark = pytest.mark.spark
HOUR = datetime(2023, 11, 14, 22, tzinfo=UTC)
APPS = ["shop_android", "shop_web"]


def ods_rows(ods_root: Path) -> list[tuple]:
    pattern = str(ods_root / "ods_events" / "*" / "*" / "*" / "*" / "*.parquet")
    with duckdb.connect() as connection:
        return connection.execute(
            f"select partition_app, partition_year, partition_month, partition_day, event_id, ingest_timestamp "
            f"from read_parquet('{pattern}', hive_partitioning = true, hive_types_autocast = false) order by event_id"
        ).fetchall()


def run_hours(spark, lake: Path, ods: Path, *hours: datetime) -> dict:
    return run(spark, raw_root=lake, ods_root=ods, project_id="proj", app_ids=APPS, hours=list(hours or [HOUR]))


def test_layout_report_and_dedup(spark, tmp_path: Path):
    lake, ods = tmp_path / "lake", tmp_path / "ods"
    day_before = INGEST_MS - 86_400_000
    write_raw_hour(
        lake,
        "2023111422",
        [
            raw_record(json.dumps([event("a"), event("b", timestamp=day_before)]), rid="r1"),
            # An SDK retry of "a" that arrived later: the earliest arrival is kept.
            raw_record(json.dumps([event("a")]), rid="r2", ingest_time=INGEST_MS + 1000),
            raw_record(json.dumps([event("w", app_id="shop_web")]), app_id="shop_web", rid="r3"),
            raw_record("garbage", compression="gzip", rid="r4"),
        ],
    )
    report = run_hours(spark, lake, ods)
    assert report["requests"] == 4
    assert report["events_read"] == 4
    assert report["written"] == 3
    assert report["duplicates"] == 1
    assert report["quarantined"] == {
        "undecodable": 1,
        "not_an_array": 0,
        "nested_too_deeply": 0,
        "missing_required_field": 0,
        "unknown_app": 0,
        "stale_event": 0,
        "future_event": 0,
        "corrupt_file": 0,
    }
    assert report["corrupt_files"] == [] and report["removed_staging"] == []
    assert report["written_by_app"] == {"shop_android": 2, "shop_web": 1}
    assert ods_rows(ods) == [
        ("shop_android", "2023", "11", "14", "a", INGEST_MS),
        ("shop_android", "2023", "11", "13", "b", INGEST_MS),
        ("shop_web", "2023", "11", "14", "w", INGEST_MS),
    ]
    assert all(path.name.startswith("h2023111422-") for path in (ods / "ods_events").rglob("*.parquet"))
    assert list((ods / "quarantine").glob("ingest_hour=2023111422/*.parquet"))
    assert not (ods / "_staging").exists()


def test_rerun_is_idempotent_and_removes_leftovers(spark, tmp_path: Path):
    lake, ods = tmp_path / "lake", tmp_path / "ods"
    raw_file = write_raw_hour(lake, "2023111422", [raw_record(json.dumps([event("a"), event("b")]))])
    run_hours(spark, lake, ods)
    first = ods_rows(ods)
    run_hours(spark, lake, ods)
    assert ods_rows(ods) == first

    # The hour now holds fewer events (e.g. a corrected archive): the re-run leaves no trace of "b".
    write_raw_hour(lake, "2023111422", [raw_record(json.dumps([event("a")]))], name=raw_file.name)
    run_hours(spark, lake, ods)
    assert [row[4] for row in ods_rows(ods)] == ["a"]

    # An hour that lost all its files is cleared too.
    shutil.rmtree(raw_file.parent)
    report = run_hours(spark, lake, ods)
    assert report["hours_with_data"] == 0
    assert ods_rows_or_empty(ods) == []


def ods_rows_or_empty(ods: Path) -> list[tuple]:
    return ods_rows(ods) if list((ods / "ods_events").rglob("*.parquet")) else []


def test_other_hours_are_untouched(spark, tmp_path: Path):
    lake, ods = tmp_path / "lake", tmp_path / "ods"
    next_hour = datetime(2023, 11, 14, 23, tzinfo=UTC)
    write_raw_hour(lake, "2023111422", [raw_record(json.dumps([event("a")]))])
    write_raw_hour(lake, "2023111423", [raw_record(json.dumps([event("b")]))])
    run_hours(spark, lake, ods, HOUR, next_hour)
    run_hours(spark, lake, ods, next_hour)
    assert [row[4] for row in ods_rows(ods)] == ["a", "b"]


def test_load_manifests_name_exactly_each_apps_committed_files(spark, tmp_path: Path):
    lake, ods = tmp_path / "lake", tmp_path / "ods"
    next_hour = datetime(2023, 11, 14, 23, tzinfo=UTC)
    write_raw_hour(
        lake,
        "2023111422",
        [
            raw_record(json.dumps([event("a"), event("b", timestamp=INGEST_MS - 86_400_000)])),
            raw_record(json.dumps([event("w", app_id="shop_web")]), app_id="shop_web", rid="r2"),
        ],
    )
    write_raw_hour(lake, "2023111423", [raw_record(json.dumps([event("c")]), rid="r3")])
    report = run(spark, raw_root=lake, ods_root=ods, project_id="proj", app_ids=APPS, hours=[HOUR, next_hour], load_manifests=True)

    manifests = report["load_manifests"]
    assert sorted(manifests) == APPS
    assert manifests["shop_web"].endswith("/load_manifests/partition_app=shop_web/h2023111422-h2023111423.json")
    for app_id, uri in manifests.items():
        entries = json.loads(Path(uri.removeprefix("file:")).read_text())["entries"]
        files = sorted((ods / "ods_events" / f"partition_app={app_id}").rglob("*.parquet"))
        # Every committed file of the app (two event days for the Android app), with its size.
        assert [Path(e["url"].removeprefix("file:")) for e in entries] == files
        assert [e["meta"]["content_length"] for e in entries] == [f.stat().st_size for f in files]
        assert all(e["mandatory"] for e in entries)
    assert len(json.loads(Path(manifests["shop_android"].removeprefix("file:")).read_text())["entries"]) >= 2

    # Without the flag (DuckDB reads the lake itself) nothing is written.
    assert "load_manifests" not in run_hours(spark, lake, tmp_path / "plain", HOUR)
    assert not (tmp_path / "plain" / "load_manifests").exists()


def test_command_line_errors(capsys):
    with pytest.raises(SystemExit) as exit_info:
        job_main(["--raw-root", "x", "--ods-root", "y", "--project-id", "p", "--app-id", "a", "--from", "yesterday"])
    assert exit_info.value.code == 2
    assert "expected an hour like 2026-11-21T13" in capsys.readouterr().err
    code = job_main(
        ["--raw-root", "x", "--ods-root", "y", "--project-id", "p", "--app-id", "a", "--from", "2023-11-14T22", "--to", "2023-11-14T21"]
    )
    assert code == 2
    assert "is before --from" in capsys.readouterr().err


def test_trusted_proxies_is_a_documented_whole_number(capsys):
    with pytest.raises(SystemExit):
        job_main(["--help"])
    assert "pipeline.ingestion.trusted_proxies" in capsys.readouterr().out
    arguments = ["--raw-root", "x", "--ods-root", "y", "--project-id", "p", "--app-id", "a", "--from", "2023-11-14T22"]
    with pytest.raises(SystemExit) as exit_info:
        job_main([*arguments, "--trusted-proxies", "-1"])
    assert exit_info.value.code == 2
    assert "expected a whole number >= 0, got '-1'" in capsys.readouterr().err


def test_spark_submit_with_zipped_plugins(tmp_path: Path):
    """The shape EMR Serverless runs: the job file plus a zip of plugins/, no Dagster."""
    lake, ods = tmp_path / "lake", tmp_path / "ods"
    write_raw_hour(lake, "2023111422", [raw_record(json.dumps([event("a")]))])
    archive = tmp_path / "plugins.zip"
    archive.write_bytes(zip_sources(REPO_ROOT, job_sources(REPO_ROOT)))
    spark_submit = Path(sys.executable).with_name("spark-submit")
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable, "PYTHONPATH": ""}
    result = subprocess.run(
        [
            str(spark_submit),
            "--master",
            "local[1]",
            "--py-files",
            str(archive),
            str(REPO_ROOT / "plugins" / "job.py"),
            "--raw-root",
            str(lake),
            "--ods-root",
            str(ods),
            "--project-id",
            "proj",
            "--app-id",
            "shop_android",
            "--from",
            "2023-11-14T22",
            # A micro-batch's slice (plugins/slices.py) commits the same way under spark-submit.
            "--only-new",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["written"] == 1 and report["slices"] == {"2023111422": "s00001"}
    assert [row[4] for row in ods_rows(ods)] == ["a"]


def test_stale_and_future_events_are_quarantined_with_their_reason(spark, tmp_path: Path):
    lake, ods = tmp_path / "lake", tmp_path / "ods"
    hour = 3_600_000
    write_raw_hour(
        lake,
        "2023111422",
        [
            raw_record(
                json.dumps(
                    [
                        event("fresh", timestamp=INGEST_MS - 71 * hour),
                        event("stale", timestamp=INGEST_MS - 73 * hour),
                        event("slightly_ahead", timestamp=INGEST_MS + 14 * 60_000),
                        event("future", timestamp=INGEST_MS + 16 * 60_000),
                    ]
                )
            )
        ],
    )
    report = run_hours(spark, lake, ods)
    assert report["events_read"] == 4 and report["written"] == 2
    assert report["quarantined"]["stale_event"] == 1 and report["quarantined"]["future_event"] == 1
    assert sorted(row[4] for row in ods_rows(ods)) == ["fresh", "slightly_ahead"]
    with duckdb.connect() as connection:
        reasons = connection.execute(
            f"select reason, json_extract_string(raw, '$.event_id') from read_parquet('{ods}/quarantine/*/*.parquet') order by 1"
        ).fetchall()
    assert reasons == [("future_event", "future"), ("stale_event", "stale")]


def test_duplicates_of_events_written_by_earlier_runs_are_dropped(spark, tmp_path: Path):
    lake, ods = tmp_path / "lake", tmp_path / "ods"
    next_hour = datetime(2023, 11, 14, 23, tzinfo=UTC)
    write_raw_hour(lake, "2023111422", [raw_record(json.dumps([event("a"), event("b")]))])
    # The SDK re-sent "a" an hour later (its first upload timed out on the client's side).
    write_raw_hour(lake, "2023111423", [raw_record(json.dumps([event("a"), event("c")]), rid="retry", ingest_time=INGEST_MS + 3_600_000)])
    run_hours(spark, lake, ods, HOUR)
    report = run_hours(spark, lake, ods, next_hour)
    assert report["duplicates_of_earlier_runs"] == 1 and report["written"] == 1
    assert [row[4] for row in ods_rows(ods)] == ["a", "b", "c"]

    # Re-running either hour, in any order, keeps exactly one copy of every event.
    run_hours(spark, lake, ods, HOUR)
    run_hours(spark, lake, ods, next_hour)
    run_hours(spark, lake, ods, HOUR, next_hour)
    assert [row[4] for row in ods_rows(ods)] == ["a", "b", "c"]


def test_archives_of_the_aws_solution_are_read(spark, tmp_path: Path):
    """Older archives: `m` instead of `method`, ingest_time rounded to seconds, fewer keys."""
    lake, ods = tmp_path / "lake", tmp_path / "ods"
    record = raw_record(json.dumps([event("legacy")]), ingest_time=(INGEST_MS // 1000) * 1000)
    record["m"] = record.pop("method")
    for key in ("server_ingest_time", "source_type", "client_timestamp"):
        record.pop(key)
    write_raw_hour(lake, "2023111422", [record])
    report = run_hours(spark, lake, ods)
    assert report["written"] == 1
    with duckdb.connect() as connection:
        (ingest,) = connection.execute(f"select ingest_timestamp from read_parquet('{ods}/ods_events/*/*/*/*/*.parquet')").fetchone()
    assert ingest == (INGEST_MS // 1000) * 1000


def test_the_report_can_go_to_any_hadoop_uri(spark, tmp_path: Path):
    from plugins.job import write_report

    write_report(spark, f"file://{tmp_path}/runs/1/report.json", '{"written": 3}')
    write_report(spark, str(tmp_path / "local" / "report.json"), '{"written": 4}')
    assert json.loads((tmp_path / "runs/1/report.json").read_text()) == {"written": 3}
    assert json.loads((tmp_path / "local/report.json").read_text()) == {"written": 4}


def test_plugin_options_naming_shipped_files_resolve_through_sparkfiles(spark, tmp_path: Path):
    from plugins.job import resolve_shipped_files

    shipped = tmp_path / "GeoLite2-Test.mmdb"
    shipped.write_bytes(b"db")
    spark.sparkContext.addFile(str(shipped))  # what spark-submit --files does on EMR
    resolved = resolve_shipped_files(
        {"x.Ip": {"database": "GeoLite2-Test.mmdb", "mode": "fast", "n": 3}, "y.Other": {"path": str(shipped)}}
    )
    assert Path(resolved["x.Ip"]["database"]).read_bytes() == b"db"
    assert resolved["x.Ip"]["mode"] == "fast" and resolved["x.Ip"]["n"] == 3
    assert resolved["y.Other"]["path"] == str(shipped)


def test_corrupt_raw_lines_are_quarantined_whole_and_blank_lines_skipped(spark, tmp_path: Path):
    lake, ods = tmp_path / "lake", tmp_path / "ods"
    path = write_raw_hour(lake, "2023111422", [raw_record(json.dumps([event("a")]), rid="r1")])
    with gzip.open(path, "at") as file:
        file.write("\n{truncated record\n[1, 2]\n   \n")
    report = run_hours(spark, lake, ods)
    assert report["requests"] == 3
    assert report["written"] == 1
    assert report["quarantined"]["undecodable"] == 2
    with duckdb.connect() as connection:
        raws = connection.execute(f"select raw from read_parquet('{ods}/quarantine/*/*.parquet') order by raw").fetchall()
    assert raws == [("[1, 2]",), ("{truncated record",)]


def test_element_transformer_on_a_dataframe_matches_the_jobs_pass(raw_frame):
    """The SDK transformer also works as a DataFrame plugin (on ``clean(...).events``), with the
    same rows as inside the job's Python pass."""
    from pyspark.testing import assertDataFrameEqual

    from plugins.cleaning import clean, mapped_events
    from plugins.elements import Rules
    from plugins.passes import element_pass
    from plugins.sdk_transformer import SdkTransformer

    sample = json.loads((REPO_ROOT / "tests/fixtures/sdk-samples/android_event.json").read_text())
    sample["app_id"] = "shop_android"
    records = [
        raw_record(json.dumps([sample, event("x", attributes={"n": 1, "s": "t", "o": {"k": [1]}})]), ingest_time=sample["timestamp"] + 5000)
    ]
    transformer = SdkTransformer(project_id="p")
    fused = mapped_events(element_pass(raw_frame(records), Rules.of(transformer, APPS), transformer))
    via_frame = transformer.transform(clean(raw_frame(records), APPS).events)
    assertDataFrameEqual(via_frame, fused)


def test_leading_element_enrichments_are_fused_into_the_pass_in_order(spark, tmp_path):
    from plugins.base import Enrichment
    from plugins.elements import Rules
    from plugins.enrich_ua import UserAgentEnrichment, describe
    from plugins.raw import read_raw
    from plugins.sdk_transformer import SdkTransformer
    from plugins.transform import python_pass

    class FrameOnly(Enrichment):
        def transform(self, df):
            return df

    ua, frame_only, ua_after = UserAgentEnrichment(), FrameOnly(), UserAgentEnrichment()
    write_raw_hour(tmp_path, "2023111422", [raw_record(json.dumps([event("a")]))])
    raw = read_raw(spark, str(tmp_path), [str(tmp_path / "year=2023/month=11/day=14/hour=22")])
    transformer = SdkTransformer(project_id="p")
    rows, remaining = python_pass(raw, Rules.of(transformer, APPS), transformer, [ua, frame_only, ua_after])
    assert remaining == [frame_only, ua_after]
    (device,) = [row.device for row in rows.where("_kind = 'event'").collect()]
    # Filled inside the pass (the transformer alone leaves it null).
    assert device.ua_device_category == describe("Mozilla/5.0")[5] is not None
