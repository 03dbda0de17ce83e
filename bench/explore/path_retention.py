"""Explore's path and retention analyses on the bench app (issue 15, "Performance"; goal: each
<= 2 s warm on DuckDB): a 5-step path over the last 30 days of the data and a 12-week retention,
each built by clickstream_console.explore, transpiled for DuckDB by the query layer and run
--repetitions times on the warehouse file opened read-only, after one untimed warm-up run.

    .venv/bin/python bench/explore/path_retention.py --database /work/bench-data/<you>/warehouse.duckdb --app-id bench_app

Prints p50/p95 (seconds) per analysis and the number of result rows. The machine is shared:
compare figures from one run, not across runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from clickstream_console.explore import path, retention
from clickstream_console.explore.analysis import AnalysisQuery
from clickstream_console.warehouse.dialects import transpile

GOAL_SECONDS = 2.0


def analyses(last_day: str, first_day_30: str, first_day_84: str) -> dict[str, AnalysisQuery]:
    now = datetime.now(UTC)
    frame = {"start": first_day_30, "end": last_day, "tz": "UTC"}
    return {
        "path (5 steps, 30 days, from _session_start)": path.build(
            path.parse(frame | {"anchor": {"side": "start", "node_type": "event", "node": "_session_start"}, "steps": 5}, now, "UTC")
        ),
        "path (5 steps, 30 days, screens, gap 30 min, merged)": path.build(
            path.parse(
                frame
                | {
                    "anchor": {"side": "end", "node_type": "screen", "node": "CartScreen"},
                    "steps": 5,
                    "split_by": {"kind": "gap", "minutes": 30},
                    "merge_repeats": True,
                },
                now,
                "UTC",
            )
        ),
        "retention (12 weeks, _session_start to _session_start, breakdown by platform)": retention.build(
            retention.parse(
                {
                    "start": first_day_84,
                    "end": last_day,
                    "tz": "UTC",
                    "start_event": {"event": "_session_start"},
                    "return_event": {"event": "_session_start"},
                    "period": "week",
                    "periods": 12,
                    "breakdown": {"property": "platform"},
                },
                now,
                "UTC",
            )
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, type=Path)
    parser.add_argument("--app-id", default="bench_app")
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--last-day", default="2026-11-29")
    parser.add_argument("--first-day-30", default="2026-10-31")
    parser.add_argument("--first-day-84", default="2026-09-07")
    args = parser.parse_args()
    with duckdb.connect(str(args.database), read_only=True) as connection:
        for name, analysis in analyses(args.last_day, args.first_day_30, args.first_day_84).items():
            seconds = []
            rows = 0
            for repetition in range(args.repetitions + 1):
                began = time.perf_counter()
                written = transpile(analysis.query, "duckdb", app_id=args.app_id)
                rows = len(connection.execute(written.sql, written.bind(analysis.params)).fetchall())
                if repetition:  # the first run warms DuckDB's buffers
                    seconds.append(time.perf_counter() - began)
            p50 = statistics.median(seconds)
            p95 = statistics.quantiles(seconds, n=20, method="inclusive")[18] if len(seconds) > 1 else seconds[0]
            verdict = "ok" if p95 <= GOAL_SECONDS else f"over the {GOAL_SECONDS:.0f} s goal"
            print(f"{name}: p50 {p50:.2f} s, p95 {p95:.2f} s over {len(seconds)} runs, {rows} rows ({verdict})")


if __name__ == "__main__":
    main()
