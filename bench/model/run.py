"""Modeling cost of one more hour: does an incremental dbt build cost grow with new data or
with history? Synthetic ods_events Parquet (bench/synthetic_ods.py, no Spark), modeled twice:

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
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
from bench.synthetic_ods import create_events_table, dbt_build, export_hours, generate_hours, write_hour_files  # noqa: E402

APP = "bench_app"
START = datetime(2026, 10, 1, tzinfo=UTC)


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
    write_hour_files(staging, ods_root, range(history_hours), app_id=APP, start=START)
    history_events = connection.execute(f"select count(*) from bench_events where hour_index < {history_hours}").fetchone()[0]
    full = dbt_build(work_dir, ods_root, app_id=APP)
    print(f"  {history_days:>2} days: full build of {history_events:,} events: {full:.1f} s", flush=True)
    times, nodes = [], []
    for hour_index in range(history_hours, history_hours + increments):
        write_hour_files(staging, ods_root, range(hour_index, hour_index + 1), app_id=APP, start=START)
        times.append(dbt_build(work_dir, ods_root, app_id=APP))
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
    create_events_table(connection, "bench_events")
    began = time.perf_counter()
    generate_hours(connection, "bench_events", 0, total_hours, events_per_hour, app_id=APP, start=START)
    print(
        f"generated {connection.execute('select count(*) from bench_events').fetchone()[0]:,} deliveries "
        f"({events_per_hour:,} per hour) in {time.perf_counter() - began:.1f} s",
        flush=True,
    )
    staging = root / "hours"
    export_hours(connection, "bench_events", staging)
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
