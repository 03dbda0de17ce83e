"""Issue 17's "done when": Cognito Streams records go into a (moto) Kinesis stream, the source lands
them, Dagster processes and models them, and ``cognito_dataset_state`` equals the answer of the
seed's own query (../shared/seeds/cognito-streams.txt) over what was delivered.

One project holds an SDK app and a Cognito app. Two deliveries:

1. inline syncs of two identities, one of them bulk-published twice (the same changes again,
   a month old: older than the SDK events' 72-hour window) and one ``payloadType: S3Url`` whose
   entries sit in S3 behind a presigned URL; plus an SDK request for the SDK app;
2. a newer value, a ``remove`` of a key, and one more bulk-publish duplicate, processed as a
   micro-batch (only the new files) and modeled incrementally.

After each, the model is compared with the seed query for every identity and dataset, and with
rows worked out by hand.
"""

from __future__ import annotations

import gzip
import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest

from clickstream_contract.raw_lake import hour_path
from clickstream_dagster.lake.partitions import hour_to_partition_key
from clickstream_dagster.names import NEW_RAW_FILES_TRIGGER, TRIGGER_TAG
from clickstream_project.config import CONFIG_ENV_VAR, ProjectConfig, save_config
from ingestion.records import build_raw_record, encode_record
from tests.cognito_seed import SEED_TABLE, seed_query
from tests.conftest import make_config
from tests.ingestion.destination_helpers import aws_test_env, create_kinesis_stream, running_moto_server

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

STREAM = "cognito-sync"
POOL = "us-east-1:11111111-2222-3333-4444-555555555555"
ALICE, BOB = "us-east-1:alice", "us-east-1:bob"
APPS = [
    {"app_id": "shop_web", "name": "Shop Web", "platforms": ["Web"]},
    {"app_id": "prefs", "name": "Preferences", "platforms": ["Android"]},
]
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
NOW_MS = int(datetime.now(UTC).timestamp() * 1000)
DAY_MS = 86_400_000


def sync(identity: str, dataset: str, sync_count: int, entries: list[tuple[str, str | None, str]], modified_ms: int) -> dict[str, Any]:
    """One Cognito Streams record: a dataset sync with one entry per changed key (key, value, op)."""
    return {
        "identityPoolId": POOL,
        "identityId": identity,
        "dataSetName": dataset,
        "operation": "replace",
        "payloadType": "Inline",
        "syncCount": sync_count,
        "lastModifiedDate": modified_ms,
        "kinesisSyncRecords": [
            {"key": key, "value": value, "syncCount": sync_count, "op": op, "lastModifiedDate": modified_ms,
             "deviceLastModifiedDate": modified_ms - 1_000}
            for key, value, op in entries
        ],
    }  # fmt: skip


MONTH_AGO = NOW_MS - 30 * DAY_MS
ALICE_PREFS_1 = sync(ALICE, "preferences", 1, [("theme", "light", "replace"), ("font", "12", "replace")], MONTH_AGO)
ALICE_PREFS_2 = sync(ALICE, "preferences", 2, [("theme", "dark", "replace")], MONTH_AGO + 60_000)
ALICE_GAME_1 = sync(ALICE, "game", 4, [("level", "7", "replace"), ("lives", "3", "replace")], NOW_MS - DAY_MS)
# Behind kinesisSyncRecordsURL: more than Cognito puts inline (50 KB).
BOB_BIG = sync(BOB, "notes", 9, [(f"note{i:03d}", "x" * 900, "replace") for i in range(70)], NOW_MS - 2 * DAY_MS)
ALICE_PREFS_3 = sync(ALICE, "preferences", 3, [("theme", "blue", "replace"), ("font", None, "remove")], NOW_MS - 3_600_000)
BOB_REMOVE = sync(BOB, "notes", 10, [("note001", None, "remove")], NOW_MS - 3_000_000)


def behind_url(record: dict[str, Any], url: str) -> dict[str, Any]:
    pointer = {key: value for key, value in record.items() if key != "kinesisSyncRecords"}
    return {**pointer, "payloadType": "S3Url", "kinesisSyncRecordsURL": url}


def reference_rows(delivered: list[dict[str, Any]]) -> list[tuple]:
    """What the seed's connector would load into its cognito_raw_data: every delivered change,
    duplicates included, with the seed table's columns."""

    def moment(ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)

    return [
        (r["identityPoolId"], r["identityId"], r["dataSetName"], r["operation"], e["key"], e["value"], e["op"], e["syncCount"],
         moment(e["deviceLastModifiedDate"]), moment(e["lastModifiedDate"]))
        for r in delivered for e in r["kinesisSyncRecords"]
    ]  # fmt: skip


def model_state(config: ProjectConfig) -> list[tuple]:
    with duckdb.connect(str(config.duckdb_path), read_only=True) as connection:
        return connection.execute(
            "select identityid, datasetname, key, synccount, value from prefs.cognito_dataset_state order by 1, 2, 3"
        ).fetchall()


def seed_answers(delivered: list[dict[str, Any]]) -> list[tuple]:
    """The seed query's rows for every (identity, dataset) delivered, on the seed's own table."""
    with duckdb.connect() as reference:
        reference.execute(SEED_TABLE)
        reference.executemany("insert into cognito_raw_data values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", reference_rows(delivered))
        datasets = reference.execute("select distinct identityId, datasetName from cognito_raw_data order by 1, 2").fetchall()
        return sorted(row for identity, dataset in datasets for row in reference.execute(seed_query(identity, dataset)).fetchall())


class Project:
    def __init__(self, base: Path, endpoint: str) -> None:
        import dagster as dg

        source = {"name": "prefs-pool", "app_id": "prefs", "stream_name": STREAM, "region": "us-east-1", "endpoint_url": endpoint,
                  "max_seconds_per_run": 20, "batch_size": 3}  # fmt: skip
        self.config = make_config(base, apps=APPS, pipeline={"sources": [source]})
        self.path = base / "clickstream.yaml"
        save_config(self.config, self.path)
        warnings.filterwarnings("ignore", category=dg.BetaWarning)
        from clickstream_dagster.definitions import defs

        self.definitions = defs()
        self.instance = dg.DagsterInstance.get()

    def run(self, job: str, **kwargs: Any) -> Any:
        result = self.definitions.resolve_job_def(job).execute_in_process(instance=self.instance, run_config=QUIET, **kwargs)
        assert result.success, job
        return result

    def source_hours(self) -> list[str]:
        root = Path(self.config.source_raw_lake("prefs-pool"))
        return sorted({hour_to_partition_key(parse) for parse in _hours_below(root)})


def _hours_below(root: Path) -> list[datetime]:
    found = []
    for directory in root.glob("year=*/month=*/day=*/hour=*"):
        parts = dict(part.split("=") for part in directory.relative_to(root).parts)
        found.append(datetime(int(parts["year"]), int(parts["month"]), int(parts["day"]), int(parts["hour"]), tzinfo=UTC))
    return found


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with aws_test_env(), running_moto_server() as url:
        create_kinesis_stream(boto3.client("kinesis", endpoint_url=url, region_name="us-east-1"), STREAM)
        yield url


@pytest.fixture
def project(tmp_path: Path, endpoint: str) -> Iterator[Project]:
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with pytest.MonkeyPatch.context() as env:
        env.setenv(CONFIG_ENV_VAR, str(tmp_path / "clickstream.yaml"))
        env.setenv("DAGSTER_HOME", str(dagster_home))
        env.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        yield Project(tmp_path, endpoint)


def put(endpoint: str, records: list[dict[str, Any]]) -> None:
    kinesis = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1")
    for record in records:
        kinesis.put_record(StreamName=STREAM, Data=json.dumps(record).encode(), PartitionKey=record["identityId"])


def write_sdk_request(config: ProjectConfig, arrival: datetime) -> None:
    """One SDK request for the SDK app, as the ingestion service seals it."""
    event = {"event_type": "_page_view", "event_id": "sdk-1", "app_id": "shop_web", "unique_id": "u-1",
             "timestamp": int(arrival.timestamp() * 1000) - 1_000, "platform": "Web"}  # fmt: skip
    record = build_raw_record(
        data=json.dumps([event]), compression=None, ip="203.0.113.9", ua="Mozilla/5.0", method="POST", path="/collect",
        query_string="appId=shop_web", args={"appId": "shop_web"}, rid="sdk-r1", arrival_ms=int(arrival.timestamp() * 1000),
    )  # fmt: skip
    directory = config.raw_root / hour_path(arrival)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sdk-0001.gz").write_bytes(gzip.compress(encode_record(record)))


def sdk_events(config: ProjectConfig) -> list[tuple]:
    with duckdb.connect(str(config.duckdb_path), read_only=True) as connection:
        return connection.execute("select event_id from shop_web.ods_events").fetchall()


def test_cognito_records_reach_the_dataset_state_the_seed_query_gives(project: Project, endpoint: str) -> None:
    config = project.config
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="cognito-payloads")
    s3.put_object(Bucket="cognito-payloads", Key="bob/notes-9.json", Body=json.dumps(BOB_BIG).encode())
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "cognito-payloads", "Key": "bob/notes-9.json"}, ExpiresIn=900)

    # 1. First delivery, with a bulk publish: the same two preference syncs twice.
    first = [ALICE_PREFS_1, ALICE_PREFS_2, ALICE_GAME_1, ALICE_PREFS_1, ALICE_PREFS_2]
    put(endpoint, [*first, behind_url(BOB_BIG, url)])
    project.run("read_sources")
    hours = project.source_hours()
    assert hours, "the source landed no files"
    sdk_arrival = datetime.now(UTC)
    write_sdk_request(config, sdk_arrival)
    for key in sorted({*hours, hour_to_partition_key(sdk_arrival.replace(minute=0, second=0, microsecond=0))}):
        project.run("process_raw_hours", partition_key=key)
    project.run("build_warehouse")

    delivered = [*first, BOB_BIG]
    assert model_state(config) == seed_answers(delivered)
    assert model_state(config) == sorted(
        [(ALICE, "game", "level", 4, "7"), (ALICE, "game", "lives", 4, "3"), (ALICE, "preferences", "font", 1, "12"),
         (ALICE, "preferences", "theme", 2, "dark")] + [(BOB, "notes", f"note{i:03d}", 9, "x" * 900) for i in range(70)]
    )  # fmt: skip
    # The SDK app of the same project got its event; no Cognito change went to it.
    assert sdk_events(config) == [("sdk-1",)]

    # 2. Newer values, removes, and the first sync once more; as a micro-batch of the new files.
    second = [ALICE_PREFS_3, BOB_REMOVE, ALICE_PREFS_1]
    put(endpoint, second)
    project.run("read_sources")
    for key in project.source_hours():
        project.run("process_raw_hours", partition_key=key, tags={TRIGGER_TAG: NEW_RAW_FILES_TRIGGER})
    project.run("build_warehouse")

    delivered += second
    state = model_state(config)
    assert state == seed_answers(delivered)
    alice_prefs = [row for row in state if row[:2] == (ALICE, "preferences")]
    assert alice_prefs == [(ALICE, "preferences", "theme", 3, "blue")]  # font removed
    assert [row[2] for row in state if row[0] == BOB] == [f"note{i:03d}" for i in range(70) if i != 1]
    assert sdk_events(config) == [("sdk-1",)]
