"""Backfills give the same warehouse as the first run (issue 6), through Dagster and dbt.

Three arrival hours of simulated SDK traffic (two apps, over a UTC midnight, uploads of devices
that were offline, an SDK retry that repeats a request in a later hour, bad records) are
processed as the micro-batch sensors would: one ``process_raw_hours`` run per hour, each
followed by ``build_warehouse``. Then the whole range is backfilled as one run (in process, with
the range tags the UI's asset backfill sets) and once more with the command the READMEs give;
after each backfill every relation of every app schema in DuckDB, the ``ods_events`` Parquet and
the quarantine hold exactly the rows of the first run.
"""

from __future__ import annotations

import collections
import gzip
import json
import os
import subprocess
import sys
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from clickstream_contract.raw_lake import hour_path
from clickstream_dagster.lake.partitions import hour_to_partition_key
from clickstream_project.config import CONFIG_ENV_VAR, ProjectConfig, save_config
from ingestion.records import build_raw_record
from tests.conftest import make_config
from tests.modeling.warehouse_snapshot import PER_RUN_RELATIONS, canonical_rows

pytestmark = [pytest.mark.e2e, pytest.mark.spark]

APPS = [
    {"app_id": "shop_android", "name": "Shop Android", "platforms": ["Android"], "package_name": "com.example.shop"},
    {"app_id": "shop_web", "name": "Shop Web", "platforms": ["Web"]},
]
HOURS = 3
# Recent (the warehouse deletes data older than data_range_days) but closed hours, one before
# and two after a UTC midnight, so events of one user fall on different days.
FIRST_HOUR = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1, hours=1)
ARRIVAL_HOURS = [FIRST_HOUR + timedelta(hours=i) for i in range(HOURS)]
HOUR_MS = 3_600_000
REPO_ROOT = Path(__file__).resolve().parents[2]
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
Snapshot = dict[str, list[str]]


# --- raw input -------------------------------------------------------------------------------


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def arrival_of(request, index: int) -> int:
    """When the ingestion service received an upload: shortly after its last event or, for
    events from before the first hour, in any of the hours (a device that was offline). Late
    uploads make later hours add events to days and sessions an earlier build already modeled."""
    if request.last_timestamp < epoch_ms(FIRST_HOUR):
        return epoch_ms(ARRIVAL_HOURS[index % HOURS]) + 60_000 + index
    return request.last_timestamp + 2_000 + index % 50_000


def raw_record_of(request, arrival_ms: int, rid: str) -> dict:
    body = request.body()
    query = "&".join(f"{key}={value}" for key, value in request.query(body, arrival_ms - 500))
    return build_raw_record(
        data=body.decode(), compression="gzip" if request.compress else None, ip="203.0.113.9", ua=request.user_agent,
        method="POST", path="/collect", query_string=query, args=dict(request.query(body, arrival_ms - 500)),
        rid=rid, arrival_ms=arrival_ms,
    )  # fmt: skip


def bad_records(arrival_ms: int) -> list[dict]:
    """An undecodable body and a request for an app that is not registered: the quarantine."""
    unknown_app = [{"event_type": "_screen_view", "event_id": "unknown-1", "app_id": "not_registered",
                    "unique_id": "u-x", "timestamp": arrival_ms - 1_000, "platform": "Web"}]  # fmt: skip
    args = {"appId": "not_registered", "platform": "Web"}
    return [
        build_raw_record(data="H4sI%%not-base64%%", compression="gzip", ip="203.0.113.7", ua="curl/8", method="POST",
                         path="/collect", query_string="appId=shop_android&compression=gzip",
                         args={"appId": "shop_android", "compression": "gzip"}, rid="bad-body", arrival_ms=arrival_ms),
        build_raw_record(data=json.dumps(unknown_app), compression=None, ip="203.0.113.7", ua="curl/8", method="POST",
                         path="/collect", query_string="appId=not_registered&platform=Web", args=args,
                         rid="bad-app", arrival_ms=arrival_ms + 1),
    ]  # fmt: skip


def write_raw_lake(config: ProjectConfig) -> dict[str, int]:
    """Simulated traffic as the ingestion service would have stored it, one file per arrival
    hour; returns counts the test checks the warehouse against."""
    from clickstream_tools.generator import simulate

    end = FIRST_HOUR + timedelta(hours=HOURS, minutes=-10)
    simulation = simulate(config, end=end, days=1.5, users=8, seed=6, web_batch_size=4)
    by_hour: dict[datetime, list[dict]] = collections.defaultdict(list)
    retried = None
    for index, request in enumerate(simulation.requests):
        arrival = arrival_of(request, index)
        hour = datetime.fromtimestamp(arrival // HOUR_MS * HOUR_MS / 1000, tz=UTC)
        by_hour[hour].append(raw_record_of(request, arrival, rid=f"r{index}"))
        if retried is None and hour == ARRIVAL_HOURS[0] and request.event_count >= 3:
            retried = request
    # The SDK did not get the acknowledgement and sent the same batch again two hours later:
    # its events must be counted once, from their first arrival.
    assert retried is not None
    retry_ms = epoch_ms(ARRIVAL_HOURS[2]) + 5 * 60_000
    by_hour[ARRIVAL_HOURS[2]].append(raw_record_of(retried, retry_ms, rid="retry"))
    by_hour[ARRIVAL_HOURS[1]] += bad_records(epoch_ms(ARRIVAL_HOURS[1]) + 30 * 60_000)
    assert set(by_hour) == set(ARRIVAL_HOURS), sorted(by_hour)
    for hour, records in by_hour.items():
        directory = config.raw_root / hour_path(hour)
        directory.mkdir(parents=True, exist_ok=True)
        with gzip.open(directory / "part-0000.gz", "wt") as file:
            file.writelines(json.dumps(record) + "\n" for record in sorted(records, key=lambda r: r["ingest_time"]))
    return {"events": simulation.total_events, "duplicates": retried.event_count}


# --- running the pipeline -----------------------------------------------------------------------


class Pipeline:
    """The project's Dagster definitions, loaded once, and the runs a user or sensor launches."""

    def __init__(self, config: ProjectConfig, config_path: Path) -> None:
        import dagster as dg

        warnings.filterwarnings("ignore", category=dg.BetaWarning)
        from clickstream_dagster.definitions import defs

        self.config, self.config_path = config, config_path
        self.definitions = defs()
        self.instance = dg.DagsterInstance.get()

    def process(self, *, partition_key: str | None = None, first: datetime | None = None, last: datetime | None = None):
        job = self.definitions.resolve_job_def("process_raw_hours")
        if partition_key is not None:
            return job.execute_in_process(instance=self.instance, partition_key=partition_key, run_config=QUIET)
        tags = {
            "dagster/asset_partition_range_start": hour_to_partition_key(first),
            "dagster/asset_partition_range_end": hour_to_partition_key(last),
        }
        return job.execute_in_process(instance=self.instance, tags=tags, run_config=QUIET)

    def build_warehouse(self) -> None:
        result = self.definitions.resolve_job_def("build_warehouse").execute_in_process(instance=self.instance, run_config=QUIET)
        failed = [check.check_name for check in result.get_asset_check_evaluations() if not check.passed]
        assert result.success and not failed, f"dbt tests failed: {failed}"

    def backfill_from_cli(self) -> subprocess.CompletedProcess:
        """The range as the READMEs tell an operator to backfill it: the same job, one run, in
        the command's own process (``dagster job backfill`` would only queue one run per hour
        for a daemon)."""
        bin_dir = Path(sys.executable).parent
        tags = {
            "dagster/asset_partition_range_start": hour_to_partition_key(ARRIVAL_HOURS[0]),
            "dagster/asset_partition_range_end": hour_to_partition_key(ARRIVAL_HOURS[-1]),
        }
        command = [str(bin_dir / "dagster"), "job", "execute", "-m", "clickstream_dagster.definitions",
                   "-j", "process_raw_hours", "--tags", json.dumps(tags)]  # fmt: skip
        # The environment carries CLICKSTREAM_CONFIG and DAGSTER_HOME (set by the fixture).
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=REPO_ROOT)


# --- snapshots ---------------------------------------------------------------------------------


def snapshot(config: ProjectConfig) -> Snapshot:
    """Every table and view of every app schema (but PER_RUN_RELATIONS, the per-run batch), the
    ods_events Parquet and the quarantine."""
    relations: Snapshot = {}
    with duckdb.connect(str(config.duckdb_path), read_only=True) as connection:
        names = connection.execute(
            "select table_schema, table_name from information_schema.tables where table_schema in "
            f"({', '.join('?' for _ in config.app_ids)}) order by 1, 2",
            list(config.app_ids),
        ).fetchall()
        for schema, name in names:
            if name in PER_RUN_RELATIONS:
                continue
            relations[f"{schema}.{name}"] = canonical_rows(connection, f'select * from "{schema}"."{name}"')
        # The hive directories (app and event day; the quarantine's arrival hour) and the arrival
        # hour a file is committed under (its name's prefix: what a re-run of that hour replaces)
        # are part of what a run writes; the rest of a file name is Spark's, new on every run.
        ods = f"{config.ods_root}/ods_events/*/*/*/*/*.parquet"
        relations["lake.ods_events"] = canonical_rows(
            connection,
            "select * exclude (filename), regexp_extract(filename, '/(h[0-9]{10})-[^/]*$', 1) as committed_hour "
            f"from read_parquet('{ods}', hive_partitioning = true, filename = true)",
        )
        quarantine = f"{config.ods_root}/quarantine/*/*.parquet"
        relations["lake.quarantine"] = canonical_rows(connection, f"select * from read_parquet('{quarantine}', hive_partitioning = true)")
    return relations


def changed_columns(old: dict, new: dict) -> dict[str, str]:
    return {c: f"{old.get(c)!r} → {new.get(c)!r}" for c in sorted(set(old) | set(new)) if old.get(c) != new.get(c)}


def shown_rows(missing: list[str], extra: list[str], rows_shown: int) -> list[str]:
    """Rows of the same event in both (an event whose row changed) as the columns that changed;
    other rows whole. Only where event_id is the grain: in the attributes view it is not."""
    old = {row["event_id"]: row for row in map(json.loads, missing) if "event_id" in row}
    new = {row["event_id"]: row for row in map(json.loads, extra) if "event_id" in row}
    if len(old) < len(missing) or len(new) < len(extra):
        old, new = {}, {}
    changed = [f"  ~ event_id {key}: {changed_columns(old[key], new[key])}" for key in sorted(old.keys() & new.keys())]
    whole = [f"  - {row}" for row in missing if json.loads(row).get("event_id") not in new]
    whole += [f"  + {row}" for row in extra if json.loads(row).get("event_id") not in old]
    return [line[:600] for line in changed[:rows_shown] + whole[:rows_shown]]


def differences(expected: Snapshot, actual: Snapshot, rows_shown: int = 3) -> str:
    """Relation by relation: how many rows are only in one of the two snapshots, and a few."""
    lines = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual or name not in expected:
            lines.append(f"{name}: only in the {'first run' if name in expected else 'backfill'}")
            continue
        before, after = collections.Counter(expected[name]), collections.Counter(actual[name])
        if before == after:
            continue
        missing, extra = list((before - after).elements()), list((after - before).elements())
        lines.append(f"{name}: {len(expected[name])} rows → {len(actual[name])}; {len(missing)} lost, {len(extra)} new")
        lines += shown_rows(missing, extra, rows_shown)
    return "\n".join(lines)


def assert_same_tables(expected: Snapshot, actual: Snapshot, what: str) -> None:
    diff = differences(expected, actual)
    assert not diff, f"{what} changed the warehouse:\n{diff}"


# --- the runs ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    base = tmp_path_factory.mktemp("backfill")
    config = make_config(base, apps=APPS)
    config_path = base / "clickstream.yaml"
    save_config(config, config_path)
    dagster_home = base / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    sent = write_raw_lake(config)
    with pytest.MonkeyPatch.context() as env:
        env.setenv(CONFIG_ENV_VAR, str(config_path))
        env.setenv("DAGSTER_HOME", str(dagster_home))
        # The dbt assets set it for the dbt profile; restored afterwards.
        env.setenv("CLICKSTREAM_DUCKDB_PATH", str(config.duckdb_path))
        env.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        pipeline = Pipeline(config, config_path)
        try:
            yield pipeline, sent
        finally:
            pipeline.instance.dispose()


@pytest.fixture(scope="module")
def first_run(project) -> Snapshot:
    """Hour by hour, as the micro-batch sensors run it: each hour processed, then modeled."""
    pipeline, _ = project
    for hour in ARRIVAL_HOURS:
        assert pipeline.process(partition_key=hour_to_partition_key(hour)).success
        pipeline.build_warehouse()
    return snapshot(pipeline.config)


def test_first_run_models_every_object(project, first_run):
    """The comparison below means something only if the data reaches every kind of object."""
    _, sent = project
    for app_id in (app["app_id"] for app in APPS):
        for relation in ("ods_events", "clickstream_session_view", "clickstream_path_view", "clickstream_retention_view",
                         "clickstream_lifecycle_daily_view", "clickstream_device_view", "dim_users"):  # fmt: skip
            assert first_run[f"{app_id}.{relation}"], f"{app_id}.{relation} is empty"
    event_days = {json.loads(row)["event_date"] for row in first_run["lake.ods_events"]}
    assert len(event_days) >= 2
    assert len(first_run["lake.ods_events"]) == sent["events"]
    assert sum(len(first_run[f"{app['app_id']}.ods_events"]) for app in APPS) == sent["events"]
    assert {json.loads(row)["reason"] for row in first_run["lake.quarantine"]} >= {"undecodable", "unknown_app"}
    retention = [json.loads(row) for app in APPS for row in first_run[f"{app['app_id']}.clickstream_retention_view"]]
    assert any(row["day_diff"] >= 1 and row["returned_user_count"] > 0 for row in retention)
    # Later hours bring events of days an earlier build already modeled (the incremental path).
    committed = [json.loads(row) for row in first_run["lake.ods_events"]]
    first_day = min(row["event_date"] for row in committed if row["committed_hour"] == f"h{ARRIVAL_HOURS[0]:%Y%m%d%H}")
    assert any(row["event_date"] == first_day for row in committed if row["committed_hour"] == f"h{ARRIVAL_HOURS[-1]:%Y%m%d%H}")


def test_backfill_of_the_range_gives_the_first_run_tables(project, first_run):
    pipeline, _ = project
    result = pipeline.process(first=ARRIVAL_HOURS[0], last=ARRIVAL_HOURS[-1])
    assert result.success
    # One Spark application for the whole range: the retried batch is a duplicate inside it.
    assert result.asset_materializations_for_node("lake__ods_events")[0].metadata["duplicates"].value == project[1]["duplicates"]
    pipeline.build_warehouse()
    assert_same_tables(first_run, snapshot(pipeline.config), "a backfill of the whole range")


def test_cli_backfill_gives_the_first_run_tables_again(project, first_run):
    pipeline, _ = project
    completed = pipeline.backfill_from_cli()
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    pipeline.build_warehouse()
    assert_same_tables(first_run, snapshot(pipeline.config), "a second backfill, from the command line")
