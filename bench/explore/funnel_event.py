"""Explore's funnel and event analysis on the dashboards benchmark's app (issue 15, "Performance":
a 5-step funnel over 30 days with a breakdown <= 2 s warm on DuckDB; the event analysis too).

    .venv/bin/python bench/explore/funnel_event.py --database PATH [--app-id bench_app] [--repetitions 10]

PATH is a built warehouse (bench/dashboards/run.py builds one; time on a copy of it, opened read
only). Each analysis is parsed and built by clickstream_console.explore, transpiled by the query
layer and run on one DuckDB connection, each of its queries alone (the funnel's conversion over
time is a second query): one untimed run (warm), then --repetitions timed runs; prints p50/p95. The range is the last 30 days of the data.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
from clickstream_console.explore import event, funnel  # noqa: E402
from clickstream_console.warehouse.dialects import transpile  # noqa: E402
from clickstream_console.warehouse.query import ReportQuery  # noqa: E402

PLATFORM = {"property": "platform", "top": 5}
TITLE_FILTER = {"property": "event._page_title", "operator": "contains", "value": "a"}


def analyses(last_day: str, first_day: str) -> dict[str, tuple]:
    """Each timed analysis: its module and JSON, over ``first_day``..``last_day``."""
    frame = {"start": first_day, "end": last_day, "tz": "UTC", "granularity": "day"}
    five_steps = [{"event": name} for name in ("_session_start", "_page_view", "search", "add_to_cart", "purchase")]
    return {
        "funnel 5 steps, ordered, by platform": (
            funnel,
            frame | {"steps": five_steps, "window": {"value": 1, "unit": "day"}, "breakdown": PLATFORM},
        ),
        "funnel 5 steps, by session": (
            funnel,
            frame | {"steps": five_steps, "window": {"value": 1, "unit": "hour"}, "count_by": "session"},
        ),
        "funnel 5 steps, event-attribute filter on step 2": (
            funnel,
            frame
            | {
                "steps": [five_steps[0], {"event": "_page_view", "filters": [TITLE_FILTER]}, *five_steps[2:]],
                "window": {"value": 1, "unit": "day"},
            },
        ),
        "event analysis, 3 events, unique users by day and platform": (
            event,
            frame
            | {
                "events": [{"event": "_page_view"}, {"event": "add_to_cart"}, {"event": "purchase"}],
                "measure": "unique_users",
                "breakdown": PLATFORM,
            },
        ),
        "event analysis, event-attribute filter (_page_title contains a)": (
            event,
            frame | {"events": [{"event": "_page_view", "filters": [TITLE_FILTER]}]},
        ),
    }


def timed(connection: duckdb.DuckDBPyConnection, query: ReportQuery, values: dict, app_id: str) -> float:
    started = time.perf_counter()
    transpiled = transpile(query, "duckdb", app_id=app_id)
    connection.execute(transpiled.sql, transpiled.bind(values)).fetchall()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, type=Path)
    parser.add_argument("--app-id", default="bench_app")
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--only", help="run only the analyses whose name contains this")
    args = parser.parse_args()
    connection = duckdb.connect(str(args.database), read_only=True)
    last_day = connection.execute(f'select max(event_date) from "{args.app_id}".ods_events').fetchone()[0]
    first_day = connection.execute("select cast(? as date) - interval 29 day", [last_day]).fetchone()[0].date()
    now = datetime.now(UTC)
    for name, (module, data) in analyses(last_day.isoformat(), first_day.isoformat()).items():
        if args.only and args.only not in name:
            continue
        analysis = module.build(module.parse(data, now, "UTC"))
        # Each query alone (the page runs them as separate data calls): the main result, then the extras.
        for label, query in ((name, analysis.query), *((f"{name}: {extra}", each) for extra, (each, _) in analysis.extra.items())):
            timed(connection, query, analysis.params, args.app_id)
            seconds = sorted(timed(connection, query, analysis.params, args.app_id) for _ in range(args.repetitions))
            p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
            print(
                f"{label}: p50 {statistics.median(seconds):.2f} s, p95 {p95:.2f} s ({first_day}..{last_day}, {args.repetitions} runs)",
                flush=True,
            )


if __name__ == "__main__":
    main()
