"""A configured source's runs (``--source``) and the SDK job's share ``ods_events`` and the arrival
hours: neither a whole-hour run nor a slice of one replaces the other's output, quarantine,
slice records or load manifests."""

import json
from pathlib import Path

import duckdb
import pytest

from plugins.job import main as job_main
from plugins.job import run
from plugins.slices import SLICES
from tests.processing.conftest import INGEST_MS, event, raw_record, write_raw_hour
from tests.processing.test_job import APPS, HOUR, ods_rows

pytestmark = pytest.mark.spark
HOUR_TAG = "2023111422"
COGNITO = "plugins.examples.cognito_sync.CognitoSyncTransformer"
PREFS_APP = "prefs_app"
SOURCE = "prefs-pool"


def cognito_record(identity: str, key: str, sync_count: int, rid: str) -> dict:
    sync = {
        "identityPoolId": "us-east-1:pool",
        "identityId": identity,
        "dataSetName": "preferences",
        "operation": "replace",
        "payloadType": "Inline",
        "syncCount": sync_count,
        "lastModifiedDate": INGEST_MS - 60_000,
        "kinesisSyncRecords": [
            {"key": key, "value": "v", "syncCount": sync_count, "op": "replace", "lastModifiedDate": INGEST_MS - 60_000,
             "deviceLastModifiedDate": INGEST_MS - 61_000}
        ],
    }  # fmt: skip
    return raw_record(json.dumps([sync]), app_id=PREFS_APP, rid=rid)


def run_sdk(spark, lake: Path, ods: Path, only_new: bool = False, load_manifests: bool = False) -> dict:
    return run(
        spark, raw_root=lake, ods_root=ods, project_id="proj", app_ids=APPS, hours=[HOUR], only_new=only_new,
        load_manifests=load_manifests,
    )  # fmt: skip


def run_source(spark, lake: Path, ods: Path, only_new: bool = False, load_manifests: bool = False) -> dict:
    return run(
        spark, raw_root=lake, ods_root=ods, project_id="proj", app_ids=[PREFS_APP], hours=[HOUR], transformer=COGNITO,
        plugin_options={COGNITO: {"app_id": PREFS_APP}}, only_new=only_new, load_manifests=load_manifests, source=SOURCE,
    )  # fmt: skip


def ids(ods: Path) -> list[tuple[str, str]]:
    return sorted((row[0], row[4]) for row in ods_rows(ods))


def quarantined(ods: Path, *below: str) -> list[str]:
    pattern = str(ods.joinpath("quarantine", *below, "*.parquet"))
    with duckdb.connect() as connection:
        return sorted(row[0] for row in connection.execute(f"select rid from read_parquet('{pattern}')").fetchall())


def test_source_and_sdk_runs_of_one_hour_keep_each_others_output(spark, tmp_path: Path):
    sdk_lake, source_lake, ods = tmp_path / "lake", tmp_path / "sources" / SOURCE, tmp_path / "ods"
    write_raw_hour(sdk_lake, HOUR_TAG, [raw_record(json.dumps([event("a")]), rid="r1"), raw_record("x", compression="gzip", rid="q1")])
    write_raw_hour(source_lake, HOUR_TAG, [cognito_record("id-1", "theme", 1, "k1"), raw_record("not json", rid="q2")], name="1.gz")

    assert run_sdk(spark, sdk_lake, ods)["written"] == 1
    source_report = run_source(spark, source_lake, ods)
    assert source_report["written"] == 1 and source_report["written_by_app"] == {PREFS_APP: 1}
    cognito_id = next(event_id for app, event_id in ids(ods) if app == PREFS_APP)
    both = [("prefs_app", cognito_id), ("shop_android", "a")]
    assert ids(ods) == both
    names = sorted(path.name.split("-part-")[0] for path in (ods / "ods_events").rglob("*.parquet"))
    assert names == [f"h{HOUR_TAG}", f"{SOURCE}.h{HOUR_TAG}"]
    # Each keeps its own quarantine of the hour.
    assert quarantined(ods, f"ingest_hour={HOUR_TAG}") == ["q1"]
    assert quarantined(ods, f"source={SOURCE}", f"ingest_hour={HOUR_TAG}") == ["q2"]

    # A whole-hour re-run of either replaces only its own files.
    run_sdk(spark, sdk_lake, ods)
    run_source(spark, source_lake, ods)
    run_sdk(spark, sdk_lake, ods)
    assert ids(ods) == both
    assert quarantined(ods, f"source={SOURCE}", f"ingest_hour={HOUR_TAG}") == ["q2"]

    # Slices: each lake's new files, numbered and recorded apart.
    write_raw_hour(sdk_lake, HOUR_TAG, [raw_record(json.dumps([event("b")]), rid="r2", ingest_time=INGEST_MS + 1000)], name="2.gz")
    write_raw_hour(source_lake, HOUR_TAG, [cognito_record("id-1", "theme", 2, "k2"), cognito_record("id-1", "theme", 1, "k1")], name="2.gz")
    assert run_sdk(spark, sdk_lake, ods, only_new=True)["slices"] == {HOUR_TAG: "s00001"}
    sliced = run_source(spark, source_lake, ods, only_new=True)
    # Only the new file; its replay of syncCount 1 is a copy of the first file's event.
    assert sliced["slices"] == {HOUR_TAG: "s00001"} and sliced["raw_files"] == 1
    assert sliced["written"] == 1 and sliced["duplicates_of_earlier_runs"] == 1
    assert len(ids(ods)) == 4 and [app for app, _ in ids(ods)].count(PREFS_APP) == 2
    sdk_record = json.loads((ods / SLICES / f"ingest_hour={HOUR_TAG}.json").read_text())
    source_record = json.loads((ods / SLICES / f"source={SOURCE}" / f"ingest_hour={HOUR_TAG}.json").read_text())
    assert len(sdk_record["files"]) == 2 and not any(SOURCE in name for name in sdk_record["files"])
    assert len(source_record["files"]) == 2 and all(SOURCE in name for name in source_record["files"])

    # A whole-hour SDK run after the source's slice leaves the slice alone.
    run_sdk(spark, sdk_lake, ods)
    assert len(ids(ods)) == 4


def test_load_manifests_of_a_source_and_the_sdk_for_one_app_are_apart(spark, tmp_path: Path):
    """SDK events sent to a source's app are processed too (nothing acknowledged is dropped); the
    app's two manifests for the hour must not overwrite each other."""
    sdk_lake, source_lake, ods = tmp_path / "lake", tmp_path / "src", tmp_path / "ods"
    write_raw_hour(sdk_lake, HOUR_TAG, [raw_record(json.dumps([event("s", app_id=PREFS_APP)]), app_id=PREFS_APP, rid="r1")])
    write_raw_hour(source_lake, HOUR_TAG, [cognito_record("id-1", "theme", 1, "k1")])
    sdk = run(spark, raw_root=sdk_lake, ods_root=ods, project_id="proj", app_ids=[PREFS_APP], hours=[HOUR], load_manifests=True)
    source = run_source(spark, source_lake, ods, load_manifests=True)
    sdk_manifest, source_manifest = sdk["load_manifests"][PREFS_APP], source["load_manifests"][PREFS_APP]
    assert sdk_manifest != source_manifest and Path(source_manifest).name.startswith(f"{SOURCE}.h")
    listed = [json.loads(Path(uri.removeprefix("file:")).read_text())["entries"] for uri in (sdk_manifest, source_manifest)]
    assert [len(entries) for entries in listed] == [1, 1]
    assert all(Path(entry["url"].removeprefix("file:")).exists() for entries in listed for entry in entries)


@pytest.mark.parametrize("name", ["Prefs", "../x", "a.b", ""])
def test_a_bad_source_name_is_refused_before_spark_starts(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        job_main(["--raw-root", "r", "--ods-root", "o", "--project-id", "p", "--app-id", "a", "--from", "2023111422", "--source", name])
    assert exit_info.value.code == 2
    assert "--source" in capsys.readouterr().err
