"""Modeling cost of one more hour: does an incremental dbt build cost grow with new data or
with history? Synthetic ods_events Parquet (no Spark) at a fixed hourly rate, modeled twice:

- with 1 day of history: full build of 24 hours, then one more hour, timed;
- with 30 days of history: full build of 720 hours (the --events total, default 1M), then
  one more hour, timed.

    .venv/bin/python bench/model/run.py [--events 1000000] [--increments 3] [--keep DIR]

The hourly rate is events / 720, so both scenarios add the same hour of data. Each
increment is a `dbt build` (models, data tests, unit tests, data-range hook off), as Dagster
runs it; --increments consecutive hours are timed and the median is reported.
Goal (issue 5): increment time with 30 days / with 1 day <= 1.5.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
APP = "bench_app"
START = datetime(2026, 10, 1, tzinfo=UTC)
EVENTS_PER_SESSION = 8  # _session_start, 5 page views, _scroll, _user_engagement
USERS = 20_000
DUPLICATE_SHARE = 0.001  # SDK retries delivered twice in the same hour


def ods_template(connection) -> None:
    """An empty DuckDB table with the exact ods_events types (from the contract's schema)."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema

    from plugins.ods_schema import ODS_EVENTS_SCHEMA

    empty = pa.Table.from_pylist([], schema=to_arrow_schema(ODS_EVENTS_SCHEMA))
    connection.register("ods_empty", empty)
    connection.execute("create or replace table ods_template as select * from ods_empty")


def kv(key: str, string_value: str = "null", int_value: str = "null") -> str:
    return (
        f"{{'key': '{key}', 'value': {{'double_value': null, 'float_value': null, "
        f"'int_value': {int_value}, 'string_value': {string_value}}}}}"
    )


def generate_hours(connection, first_hour: int, hours: int, events_per_hour: int) -> None:
    """Insert the events of hours [first_hour, first_hour + hours) into ods_template's copy
    `bench_events`, with the hour index in `hour_index`."""
    sessions_per_hour = max(1, events_per_hour // EVENTS_PER_SESSION)
    start_ms = int(START.timestamp() * 1000)
    params = ", ".join([
        kv("_session_id", string_value="session_id"),
        kv("_session_start_timestamp", int_value="session_start"),
        kv("_session_duration", int_value="event_timestamp - session_start"),
        kv("_page_title", string_value="case when step between 1 and 5 then 'page ' || (step + hash(session_id) % 20) end"),
        kv("_engagement_time_msec", int_value="case when step = 7 then 15000 end"),
    ])  # fmt: skip
    connection.execute(f"""
        insert into bench_events
        with sessions as (
            select
                h as hour_index,
                'h' || h || 's' || s as session_id,
                'u' || cast(hash(h * 100000 + s) % {USERS} as bigint) as user_pseudo_id,
                cast({start_ms} + h * 3600000 + (hash(s * 7 + h) % 3000000) as bigint) as session_start
            from range({first_hour}, {first_hour + hours}) as hours(h), range({sessions_per_hour}) as per_hour(s)
        ),
        steps as (
            select sessions.*, step, cast(session_start + step * 20000 as bigint) as event_timestamp,
                   case step when 0 then '_session_start' when 6 then '_scroll'
                             when 7 then '_user_engagement' else '_page_view' end as event_name
            from sessions, range({EVENTS_PER_SESSION}) as t(step)
        ),
        deliveries as (
            select * from steps
            union all  -- SDK retries: the same event delivered twice
            select * from steps where hash(session_id || step) % 1000 < {int(DUPLICATE_SHARE * 1000)}
        ),
        events as (
            select
                {{'app_id': '{APP}', 'id': 'com.example.bench', 'install_source': null, 'version': '1.0.0'}} as app_info,
                {{'mobile_brand_name': null, 'mobile_model_name': null, 'manufacturer': null, 'screen_width': 1920,
                  'screen_height': 1080, 'carrier': null, 'network_type': null, 'operating_system_version': null,
                  'operating_system': 'Web', 'ua_browser': 'Chrome', 'ua_browser_version': '120.0.0', 'ua_os': 'Windows',
                  'ua_os_version': '10', 'ua_device': 'Other', 'ua_device_category': 'desktop', 'system_language': 'en',
                  'time_zone_offset_seconds': 0, 'vendor_id': 'd-' || user_pseudo_id, 'advertising_id': null,
                  'host_name': 'shop.example.com'}} as device,
                null as ecommerce,
                0 as event_bundle_sequence_id,
                cast(make_timestamp(event_timestamp * 1000) as date) as event_date,
                [] as event_dimensions,
                session_id || '-' || step as event_id,
                event_name,
                [{params}] as event_params,
                null as event_previous_timestamp,
                30000 as event_server_timestamp_offset,
                event_timestamp,
                null as event_value_in_usd,
                {{'city': null, 'continent': 'Europe', 'country': 'DE', 'metro': null, 'region': null,
                  'sub_continent': null, 'locale': 'en_US'}} as geo,
                event_timestamp + 30000 as ingest_timestamp,
                [] as items,
                'Web' as platform,
                [] as privacy_info,
                'bench' as project_id,
                {{'medium': null, 'name': null, 'source': case when hash(user_pseudo_id) % 3 = 0 then 'google' end}} as traffic_source,
                null as user_first_touch_timestamp,
                null as user_id,
                null as user_ltv,
                [] as user_properties,
                user_pseudo_id,
                hour_index
            from deliveries
        )
        select * from events
    """)


def first_visits(connection) -> None:
    """Each user's first session also carries a _first_visit event."""
    connection.execute("""
        insert into bench_events
        select * replace (
            '_first_visit' as event_name,
            regexp_replace(event_id, '-0$', '-fv') as event_id
        )
        from bench_events
        where event_name = '_session_start'
        qualify row_number() over (partition by user_pseudo_id order by event_timestamp, event_id) = 1
    """)


def export_hours(connection, staging: Path) -> None:
    """All hours to Parquet in one pass: staging/hour_index=N/*.parquet."""
    connection.execute(f"copy bench_events to '{staging}' (format parquet, partition_by (hour_index))")


def write_hour_files(staging: Path, ods_root: Path, hours: range) -> None:
    """Place the hours' files in the processing job's layout (arrival hour = event hour)."""
    for hour_index in hours:
        hour = START + timedelta(hours=hour_index)
        directory = (
            ods_root
            / "ods_events"
            / f"partition_app={APP}"
            / f"partition_year={hour:%Y}"
            / f"partition_month={hour:%m}"
            / f"partition_day={hour:%d}"
        )
        directory.mkdir(parents=True, exist_ok=True)
        for number, source in enumerate(sorted((staging / f"hour_index={hour_index}").glob("*.parquet"))):
            shutil.copyfile(source, directory / f"h{hour:%Y%m%d%H}-{number}.parquet")


def dbt_build(work_dir: Path, ods_root: Path) -> float:
    executable = Path(sys.executable).with_name("dbt")
    project = REPO_ROOT / "dbt_project"
    command = [
        str(executable), "build", "--project-dir", str(project), "--profiles-dir", str(project),
        "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"),
        "--vars", json.dumps({"app_id": APP, "ods_root": str(ods_root)}),
    ]  # fmt: skip
    env = {**os.environ, "CLICKSTREAM_DUCKDB_PATH": str(work_dir / "warehouse.duckdb"), "CLICKSTREAM_DBT_TARGET": "duckdb"}
    began = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"dbt build failed:\n{result.stdout[-4000:]}")
    return elapsed


def node_seconds(work_dir: Path) -> float:
    """Seconds spent in the warehouse statements of the last build (models and tests), without
    dbt's own start-up and parsing, which is the same whatever the history."""
    results = json.loads((work_dir / "target" / "run_results.json").read_text())["results"]
    return sum(result["execution_time"] for result in results)


def slowest_nodes(work_dir: Path, count: int = 3) -> str:
    results = json.loads((work_dir / "target" / "run_results.json").read_text())["results"]
    top = sorted(results, key=lambda r: r["execution_time"], reverse=True)[:count]
    return ", ".join(f"{r['unique_id'].split('.')[2]} {r['execution_time']:.2f}s" for r in top)


def scenario(connection, staging: Path, root: Path, history_days: int, increments: int) -> dict:
    work_dir = root / f"history_{history_days}d"
    ods_root = work_dir / "ods"
    work_dir.mkdir(parents=True)
    history_hours = history_days * 24
    write_hour_files(staging, ods_root, range(history_hours))
    history_events = connection.execute(f"select count(*) from bench_events where hour_index < {history_hours}").fetchone()[0]
    full = dbt_build(work_dir, ods_root)
    print(f"  {history_days:>2} days: full build of {history_events:,} events: {full:.1f} s", flush=True)
    times, nodes = [], []
    for hour_index in range(history_hours, history_hours + increments):
        write_hour_files(staging, ods_root, range(hour_index, hour_index + 1))
        times.append(dbt_build(work_dir, ods_root))
        nodes.append(node_seconds(work_dir))
        print(
            f"  {history_days:>2} days: + hour {hour_index - history_hours + 1}: {times[-1]:.1f} s, "
            f"{nodes[-1]:.2f} s in nodes (slowest: {slowest_nodes(work_dir)})",
            flush=True,
        )
    return {"history_events": history_events, "full": full, "increment": statistics.median(times), "nodes": statistics.median(nodes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="events in 30 days of history")
    parser.add_argument("--increments", type=int, default=3, help="hours added and timed one by one")
    parser.add_argument("--keep", type=Path, help="keep the Parquet and warehouses here")
    args = parser.parse_args()

    import duckdb

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-model-"))
    if args.keep:
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    events_per_hour = args.events // (30 * 24)
    total_hours = 30 * 24 + args.increments
    connection = duckdb.connect()
    ods_template(connection)
    connection.execute("create table bench_events as select *, 0 as hour_index from ods_template limit 0")
    began = time.perf_counter()
    generate_hours(connection, 0, total_hours, events_per_hour)
    first_visits(connection)
    print(
        f"generated {connection.execute('select count(*) from bench_events').fetchone()[0]:,} deliveries "
        f"({events_per_hour:,} per hour) in {time.perf_counter() - began:.1f} s",
        flush=True,
    )
    staging = root / "hours"
    export_hours(connection, staging)
    try:
        one_day = scenario(connection, staging, root, 1, args.increments)
        thirty_days = scenario(connection, staging, root, 30, args.increments)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    ratio = thirty_days["increment"] / one_day["increment"]
    print(f"one more hour ({events_per_hour:,} events), median of {args.increments}:")
    for label, result in (("1 day ", one_day), ("30 days", thirty_days)):
        print(
            f"  with {label} of history ({result['history_events']:>9,} events): {result['increment']:.1f} s "
            f"wall, {result['nodes']:.2f} s in models and tests"
        )
    print(f"  ratio 30 days / 1 day: {ratio:.2f} wall (goal <= 1.5), {thirty_days['nodes'] / one_day['nodes']:.2f} in models and tests")


if __name__ == "__main__":
    main()
