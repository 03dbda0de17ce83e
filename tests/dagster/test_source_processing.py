"""Processing a configured source (pipeline.sources) in Dagster: its files count as changes of
their hour for the sensor and the schedules, the ``lake/ods_events`` run starts a job per lake
that holds files, and the reports add up into one materialization."""

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clickstream_contract.raw_lake import hour_path
from clickstream_dagster.lake.resources import RawLakeResource, S3RawLakeResource, raw_lake_for
from clickstream_dagster.processing.assets import SDK_LAKE, jobs_for_window, source_job_arguments
from clickstream_dagster.processing.emr import emr_job_arguments
from clickstream_dagster.processing.reports import merge_reports
from clickstream_project.config import ConfigError
from tests.conftest import make_config

HOUR = datetime(2026, 3, 9, 7, tzinfo=UTC)
SOURCE = {"name": "prefs-pool", "app_id": "shop_web", "stream_name": "cognito-sync"}


def with_source(tmp_path: Path, **pipeline):
    return make_config(tmp_path, pipeline={"sources": [SOURCE], **pipeline})


def put(root: Path, hour: datetime, name: str, lines: int = 1) -> None:
    directory = root / hour_path(hour)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(gzip.compress(b'{"data": "[]"}\n' * lines, mtime=0))


def test_an_hours_listing_covers_the_sources_files_and_keeps_the_sdk_fingerprint(tmp_path: Path):
    config = with_source(tmp_path)
    lake = raw_lake_for(config)
    source_root = Path(config.source_raw_lake("prefs-pool"))
    assert source_root == config.lake_root / "clickstream/test_project/data/buffer/sources/prefs-pool"
    put(config.raw_root, HOUR, "sdk.gz")
    sdk_only = RawLakeResource(raw_root=str(config.raw_root)).hour(HOUR)
    assert lake.hour(HOUR) == sdk_only  # nothing of the source yet: the same fingerprint as before
    assert lake.lakes_with_files(HOUR, HOUR) == {None}

    put(source_root, HOUR, "cognito-1.gz")
    put(source_root, HOUR + timedelta(hours=1), "cognito-2.gz")
    changed = lake.hour(HOUR)
    assert changed.files == 2 and changed.fingerprint != sdk_only.fingerprint
    assert [listing.hour for listing in lake.hours(HOUR, HOUR + timedelta(hours=2))] == [HOUR, HOUR + timedelta(hours=1)]
    assert lake.lakes_with_files(HOUR, HOUR) == {None, "prefs-pool"}
    assert lake.lakes_with_files(HOUR + timedelta(hours=1), HOUR + timedelta(hours=1)) == {"prefs-pool"}
    assert lake.lakes_with_files(HOUR + timedelta(hours=2), HOUR + timedelta(hours=3)) == set()


def test_the_s3_listing_of_sources_matches_the_local_one(s3, tmp_path: Path):
    bucket, prefix = "clickstream-lake", "clickstream/test_project/data/buffer/"
    config = with_source(tmp_path, sink={"type": "s3", "s3": {"bucket": bucket, "region": "eu-west-1"}})
    assert config.source_raw_lake("prefs-pool") == f"s3://{bucket}/{prefix}sources/prefs-pool"
    remote = raw_lake_for(config)
    assert isinstance(remote, S3RawLakeResource) and remote.source_roots == {"prefs-pool": f"s3://{bucket}/{prefix}sources/prefs-pool"}
    local = RawLakeResource(raw_root=str(tmp_path / "sdk"), source_roots={"prefs-pool": str(tmp_path / "src")})
    for root_key, local_root, name in ((prefix, tmp_path / "sdk", "sdk.gz"), (f"{prefix}sources/prefs-pool/", tmp_path / "src", "c.gz")):
        body = gzip.compress(b"{}\n", mtime=0)
        s3.put_object(Bucket=bucket, Key=f"{root_key}{hour_path(HOUR)}/{name}", Body=body)
        (local_root / hour_path(HOUR)).mkdir(parents=True)
        (local_root / hour_path(HOUR) / name).write_bytes(body)
    assert remote.hours(HOUR - timedelta(hours=3), HOUR) == local.hours(HOUR - timedelta(hours=3), HOUR)
    assert remote.lakes_with_files(HOUR, HOUR) == {None, "prefs-pool"}


def test_a_run_starts_the_jobs_of_the_lakes_with_files(tmp_path: Path):
    config = with_source(tmp_path)
    lake = raw_lake_for(config)
    # No files at all: the SDK job runs as it always did (it replaces what the hours held).
    assert list(jobs_for_window(config, lake, HOUR, HOUR, False)) == [SDK_LAKE]
    put(Path(config.source_raw_lake("prefs-pool")), HOUR, "c.gz")
    assert list(jobs_for_window(config, lake, HOUR, HOUR, False)) == ["prefs-pool"]
    put(config.raw_root, HOUR, "sdk.gz")
    jobs = jobs_for_window(config, lake, HOUR, HOUR, True)
    assert list(jobs) == [SDK_LAKE, "prefs-pool"]
    assert "--source" not in jobs[SDK_LAKE] and "--only-new" in jobs[SDK_LAKE]
    # A project without sources never lists them.
    plain = make_config(tmp_path / "plain")
    assert list(jobs_for_window(plain, raw_lake_for(plain), HOUR, HOUR, False)) == [SDK_LAKE]


def test_a_sources_job_reads_its_lake_with_its_transformer_app_and_window(tmp_path: Path):
    config = with_source(tmp_path)
    source = config.pipeline.sources[0]
    args = source_job_arguments(config, source, HOUR, HOUR + timedelta(hours=2), only_new=True)

    def value(option: str) -> str:
        return args[args.index(option) + 1]

    assert value("--raw-root") == config.source_raw_lake("prefs-pool") and value("--ods-root") == str(config.ods_root)
    assert value("--source") == "prefs-pool"
    assert [args[i + 1] for i, a in enumerate(args) if a == "--app-id"] == ["shop_web"]
    assert value("--transformer") == "plugins.examples.cognito_sync.CognitoSyncTransformer"
    assert value("--plugin-options") == '{"plugins.examples.cognito_sync.CognitoSyncTransformer": {"app_id": "shop_web"}}'
    # A bulk publish replays years of changes: ten years, not the SDK events' 72 hours.
    assert value("--event-freshness-hours") == str(10 * 365 * 24)
    assert "--only-new" in args and "--enrichment" not in args
    assert "--only-new" not in source_job_arguments(config, source, HOUR, HOUR, only_new=False)


def test_on_emr_a_sources_job_keeps_its_raw_root(tmp_path: Path):
    config = with_source(tmp_path, sink={"type": "s3", "s3": {"bucket": "lake", "region": "eu-west-1"}})
    args = source_job_arguments(config, config.pipeline.sources[0], HOUR, HOUR)
    rewritten = emr_job_arguments(args, raw_uri="s3://lake/sdk", ods_uri="s3://lake/ods", files={}, report_uri="s3://a/r.json")
    assert rewritten[rewritten.index("--raw-root") + 1] == config.source_raw_lake("prefs-pool")
    assert rewritten[rewritten.index("--ods-root") + 1] == "s3://lake/ods"


def test_sources_need_a_sink_whose_lake_they_can_write(tmp_path: Path):
    with pytest.raises(
        ConfigError, match=r"pipeline.sources: sources land their files where the sink writes, which must be one of local, s3"
    ):
        with_source(tmp_path, sink={"type": "kinesis", "kinesis": {"stream_name": "s", "region": "eu-west-1"}})


def report(written_by_app: dict[str, int], quarantined: int, **extra) -> dict:
    return {
        "hours": ["2026030907"], "hours_with_data": 1, "raw_files": 2, "requests": 3, "events_read": 5,
        "written": sum(written_by_app.values()), "duplicates": 1, "duplicates_of_earlier_runs": 0,
        "quarantined": {"undecodable": quarantined, "stale_event": 0}, "written_by_app": written_by_app, "output_files": 2,
        "corrupt_files": [], "removed_staging": [], "step_seconds": {"commit": 0.5}, "duration_seconds": 10.0, **extra,
    }  # fmt: skip


def test_reports_of_the_lakes_add_up():
    merged = merge_reports(
        {
            SDK_LAKE: report({"shop_web": 3}, 1, slices={"2026030907": "s00002"}, load_manifests={"shop_web": "s3://m/sdk.json"}),
            "prefs-pool": report({"shop_web": 1, "prefs": 2}, 2, load_manifests={"shop_web": "s3://m/src.json"}),
        }
    )
    assert merged["written"] == 6 and merged["requests"] == 6 and merged["raw_files"] == 4
    assert merged["written_by_app"] == {"shop_web": 4, "prefs": 2}
    assert merged["quarantined"] == {"undecodable": 3, "stale_event": 0}
    assert merged["step_seconds"] == {"commit": 1.0} and merged["duration_seconds"] == 20.0
    assert merged["load_manifests"] == {"shop_web": ["s3://m/sdk.json", "s3://m/src.json"]}
    assert merged["by_lake"] == {
        SDK_LAKE: {"hours_with_data": 1, "written": 3, "slices": {"2026030907": "s00002"}},
        "prefs-pool": {"hours_with_data": 1, "written": 3},
    }
    with pytest.raises(ValueError, match="no run reports"):
        merge_reports({})
