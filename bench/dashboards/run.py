"""Analytics Studio's dashboards on a large app: how long each report's data call and page take
(issue 14, "Performance"; goals: warm p95 <= 300 ms per report's data call, cold <= 2 s).

    .venv/bin/python bench/dashboards/run.py [--events 10000000] [--days 90] [--data-dir DIR] [--rebuild] [--reports a,b] [--time-zone ZONE]

1. Data (cached in --data-dir, reused when its events and days match; --rebuild redoes it):
   synthetic ods_events (bench/synthetic_ods.py: sessions, page/screen views, platforms,
   countries, traffic sources, app versions, devices, returning users) for one app, --days days
   of about --events events, written day by day with DuckDB (no Spark); then `dbt build` of
   the project's dbt project on DuckDB, and the dashboards' read snapshot published
   (clickstream_project/published_warehouse.publish), as a Dagster build does. When the dbt
   project changed since (a digest of its files is kept), the same events are built again
   (`dbt build` on the built warehouse: new models are built whole) and published.
2. Every report of clickstream_console.studio.registry.REPORTS, through the console's own code
   (a Flask test client on /studio/<app>/<report>/data), for the last 7 days of the data and
   for all of it (--days), explicit start/end:
   - cold: the first call in a fresh console process (empty result cache, the snapshot opened
     for the first time, DuckDB's own cache empty). The OS page cache cannot be dropped here (a
     shared machine, no privilege to), so "cold" is a cold console on a warm file cache;
   - warm: the same call with the console's result cache emptied before each (the warehouse
     queries themselves repeated on the open snapshot), and each chart's query alone through
     the console's warehouse layer;
   - cache hit: the same call answered from the result cache;
   - page ready: headless Chromium on a real `clickstream console`, from navigation until the
     report's root has data-state=ready; uncached (each load a range one day earlier, so the
     result cache misses) and cached (the same URL again).
   p50/p95 of --repetitions (cold: --cold-repetitions, page: --page-repetitions).

Results are printed as tables and kept in <data-dir>/results-<UTC time>.json.
The machine running it is shared: compare figures from one run, not across runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
from bench.synthetic_ods import create_events_table, dbt_build, export_hours, generate_hours, write_hour_files  # noqa: E402

APP = "bench_app"
START = datetime(2026, 9, 1, tzinfo=UTC)
DEFAULT_DATA_DIR = REPO_ROOT / "var" / "bench" / "dashboards"
BUILD_RECORD = "build.json"
USER = "bench-analyst@example.com"
WARM_GOAL_SECONDS = 0.3
COLD_GOAL_SECONDS = 2.0
READY = "[data-testid=report][data-state=ready]"


# --- data -------------------------------------------------------------------------------------


def ensure_data(data_dir: Path, events: int, days: int, rebuild: bool) -> dict:
    """The built and published warehouse in ``data_dir`` for ``events`` over ``days``: reused when
    its record matches, else generated and built (long: progress is printed)."""
    record_path = data_dir / BUILD_RECORD
    if record_path.is_file() and not rebuild:
        record = json.loads(record_path.read_text())
        if record["requested_events"] == events and record["days"] == days:
            print(f"reusing {data_dir} ({record['events']:,} events over {days} days, built {record['built_at']})", flush=True)
            if record.get("dbt_fingerprint") != dbt_fingerprint():
                record = remodel(data_dir, record)
                record_path.write_text(json.dumps(record, indent=2))
            return record
        print(f"{data_dir} holds {record['requested_events']:,} events over {record['days']} days, not {events:,}/{days}: rebuilding")
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    ods_root = data_dir / "ods"
    generated, generate_seconds = generate(data_dir / "staging", ods_root, events, days)
    print("dbt build (models, data tests, unit tests) on DuckDB:", flush=True)
    build_seconds = dbt_build(data_dir / "dbt", ods_root, app_id=APP, database=warehouse_path(data_dir), echo=True)
    print(f"dbt build: {build_seconds:.0f} s", flush=True)
    from clickstream_project.published_warehouse import publish

    began = time.perf_counter()
    published = publish(warehouse_path(data_dir))
    publish_seconds = time.perf_counter() - began
    record = {
        "dbt_fingerprint": dbt_fingerprint(),
        "requested_events": events,
        "events": generated,
        "days": days,
        "first_day": START.date().isoformat(),
        "last_day": (START.date() + timedelta(days=days - 1)).isoformat(),
        "generate_seconds": round(generate_seconds, 1),
        "build_seconds": round(build_seconds, 1),
        "publish_seconds": round(publish_seconds, 1),
        "snapshot_bytes": published.path(warehouse_path(data_dir)).stat().st_size,
        "ods_bytes": sum(path.stat().st_size for path in ods_root.rglob("*.parquet")),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    record_path.write_text(json.dumps(record, indent=2))
    print(
        f"built: {generated:,} events, generated in {generate_seconds:.0f} s, dbt build {build_seconds:.0f} s, "
        f"published in {publish_seconds:.0f} s ({record['snapshot_bytes'] / 1e9:.2f} GB snapshot)",
        flush=True,
    )
    return record


def dbt_fingerprint() -> str:
    """A digest of the dbt project's SQL and settings (not its docs): a build made from other models is rebuilt."""
    project = REPO_ROOT / "dbt_project"
    digest = hashlib.sha256()
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        if path.is_file() and path.suffix != ".md" and relative.parts[0] not in {"target", "logs", "dbt_packages"}:
            digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def remodel(data_dir: Path, record: dict) -> dict:
    """The same events, the dbt project changed since they were built: `dbt build` again on the
    built warehouse (new models are built whole, the others find nothing new) and publish it."""
    from clickstream_project.published_warehouse import publish

    print("the dbt project changed since this build: dbt build again on the same events", flush=True)
    seconds = dbt_build(data_dir / "dbt", data_dir / "ods", app_id=APP, database=warehouse_path(data_dir), echo=True)
    published = publish(warehouse_path(data_dir))
    print(f"dbt build: {seconds:.0f} s", flush=True)
    return {
        **record,
        "dbt_fingerprint": dbt_fingerprint(),
        "remodel_seconds": round(seconds, 1),
        "snapshot_bytes": published.path(warehouse_path(data_dir)).stat().st_size,
        "remodeled_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def generate(staging: Path, ods_root: Path, events: int, days: int) -> tuple[int, float]:
    """Day by day, so memory holds one day of events whatever the total."""
    import duckdb

    events_per_hour = max(1, events // (days * 24))
    connection = duckdb.connect()
    create_events_table(connection, "bench_events")
    began, total = time.perf_counter(), 0
    for day in range(days):
        hours = range(day * 24, day * 24 + 24)
        total += generate_hours(connection, "bench_events", hours.start, 24, events_per_hour, app_id=APP, start=START)
        export_hours(connection, "bench_events", staging / f"day{day}")
        write_hour_files(staging / f"day{day}", ods_root, hours, app_id=APP, start=START, move=True)
        connection.execute("delete from bench_events")
        elapsed = time.perf_counter() - began
        if day % 5 == 4 or day == days - 1:
            print(f"  generated day {day + 1}/{days}: {total:,} events, {elapsed:.0f} s ({total / elapsed:,.0f} events/s)", flush=True)
    shutil.rmtree(staging, ignore_errors=True)
    return total, time.perf_counter() - began


def warehouse_path(data_dir: Path) -> Path:
    return data_dir / "warehouse.duckdb"


def write_console_project(data_dir: Path, time_zone: str) -> Path:
    """A project with the one app (its reports in ``time_zone``), reading the built warehouse's
    snapshot; a fresh console database with one analyst."""
    import yaml

    from clickstream_console.identity.roles import Role
    from tests.conftest import free_port
    from tests.console.console_helpers import add_user, console_app

    console_dir = data_dir / "console"
    shutil.rmtree(console_dir, ignore_errors=True)
    console_dir.mkdir()
    project = {
        "project_id": "bench",
        "data_dir": str(console_dir),
        "apps": [
            {
                "app_id": APP,
                "name": "Bench",
                "platforms": ["Web", "Android", "iOS"],
                "package_name": "com.example.bench",
                "time_zone": time_zone,
            }
        ],
        "pipeline": {"modeling": {"duckdb_path": str(warehouse_path(data_dir))}},
        # No Dagster here: pages that read it say so at once.
        "console": {"dagster_url": f"http://127.0.0.1:{free_port()}"},
    }
    project_file = console_dir / "clickstream.yaml"
    project_file.write_text(yaml.safe_dump(project, sort_keys=False))
    add_user(console_app(project_file), USER, [Role.ANALYST])
    return project_file


# --- measuring --------------------------------------------------------------------------------


def percentile(values: Iterable[float], share: float) -> float:
    """Nearest rank: the smallest value at least ``share`` of the values are not above."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summary(seconds: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(seconds), "p95": percentile(seconds, 0.95), "n": len(seconds)}


def ranges(record: dict) -> dict[str, tuple[date, date]]:
    last, first = date.fromisoformat(record["last_day"]), date.fromisoformat(record["first_day"])
    return {"7d": (last - timedelta(days=6), last), f"{record['days']}d": (first, last)}


def data_url(report: str, start: date, end: date) -> str:
    return f"/studio/{APP}/{report}/data?start={start}&end={end}"


def signed_in_client(project_file: Path):
    from tests.console.console_helpers import console_app, sign_in

    app = console_app(project_file)
    client = app.test_client()
    sign_in(client, USER)
    return app, client


def timed_get(client, url: str) -> float:
    began = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - began
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code} {response.get_data(as_text=True)[:2000]}")
    return elapsed


def drop_result_cache(app) -> None:
    from clickstream_console.state import console_state
    from clickstream_console.studio.results import CACHE

    with app.app_context():
        console_state().services.pop(CACHE, None)


def measure_warm(project_file: Path, record: dict, repetitions: int, reports: list[str], time_zone: str) -> dict:
    """Per report and range: the data call uncached and cached, and each chart's query alone."""
    from werkzeug.datastructures import MultiDict

    from clickstream_console.state import console_state, project
    from clickstream_console.studio.registry import REPORTS
    from clickstream_console.studio.results import CONNECTIONS
    from clickstream_console.studio.selection import parse_selection
    from clickstream_console.warehouse.factory import warehouse_for

    app, client = signed_in_client(project_file)
    results: dict = {}
    for name in reports:
        report = REPORTS[name]
        for label, (start, end) in ranges(record).items():
            url = data_url(name, start, end)
            timed_get(client, url)  # the first call is the cold one's business
            uncached = []
            for _ in range(repetitions):
                drop_result_cache(app)
                uncached.append(timed_get(client, url))
            cached = [timed_get(client, url) for _ in range(repetitions)]
            charts = {}
            with app.test_request_context(url):
                # The console's own connections: the snapshot stays open between the repetitions.
                warehouse = warehouse_for(project(), duckdb_connections=console_state().services[CONNECTIONS])
                selection = parse_selection(
                    report, MultiDict({"start": str(start), "end": str(end)}), now=datetime.now(UTC), app_zone=time_zone
                )
                params = selection.query_parameters(report)
                for chart in report.charts:
                    charts[chart.name] = summary([query_seconds(warehouse, chart.query, params) for _ in range(repetitions)])
            results[f"{name}/{label}"] = {"uncached": summary(uncached), "cached": summary(cached), "charts": charts}
            print(f"  warm {name} {label}: uncached p95 {ms(results[f'{name}/{label}']['uncached']['p95'])}", flush=True)
    return results


def query_seconds(warehouse, query, params: dict) -> float:
    """One chart's query through the console's warehouse layer (transpile, a cursor on the open snapshot, run)."""
    from clickstream_console.studio.results import MAX_ROWS, TIMEOUT_SECONDS

    began = time.perf_counter()
    warehouse.run(query, params, app_id=APP, timeout_seconds=TIMEOUT_SECONDS, max_rows=MAX_ROWS)
    return time.perf_counter() - began


def measure_open(data_dir: Path, repetitions: int) -> dict:
    """Opening and closing the snapshot read-only, as the console does once per published version."""
    import duckdb

    from clickstream_console.warehouse.duckdb_warehouse import READ_ONLY_CONFIG
    from clickstream_console.warehouse.factory import published_snapshot

    snapshot = str(published_snapshot(warehouse_path(data_dir)))
    seconds = []
    for _ in range(repetitions):
        began = time.perf_counter()
        duckdb.connect(snapshot, read_only=True, config=READ_ONLY_CONFIG).close()
        seconds.append(time.perf_counter() - began)
    return summary(seconds)


def cold_probe(project_file: Path, record: dict, order: int, reports: list[str]) -> None:
    """In a fresh process: the first data call of each report and range, as JSON on stdout.
    ``order`` rotates which report goes first (it also pays the process's first queries)."""
    _, client = signed_in_client(project_file)
    calls = [(name, label, span) for name in reports for label, span in ranges(record).items()]
    calls = calls[order % len(calls) :] + calls[: order % len(calls)]
    print(json.dumps({f"{name}/{label}": timed_get(client, data_url(name, *span)) for name, label, span in calls}))


def measure_cold(data_dir: Path, repetitions: int, reports: list[str]) -> dict:
    samples: dict[str, list[float]] = {}
    for repetition in range(repetitions):
        command = [sys.executable, __file__, "--data-dir", str(data_dir), "--cold-probe", str(repetition), "--reports", ",".join(reports)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        for key, seconds in json.loads(output.strip().splitlines()[-1]).items():
            samples.setdefault(key, []).append(seconds)
        print(
            f"  cold run {repetition + 1}/{repetitions}: {', '.join(f'{key} {ms(value[-1])}' for key, value in samples.items())}",
            flush=True,
        )
    return {key: summary(values) for key, values in samples.items()}


def measure_pages(project_file: Path, record: dict, repetitions: int, reports: list[str]) -> dict:
    """Headless Chromium on a real console: navigation start to data-state=ready."""
    from tests.console.console_browser import browse, local_sign_in_steps, running_console
    from tests.console.console_helpers import PASSWORD

    steps = list(local_sign_in_steps(USER, PASSWORD))
    keys = []
    for name in reports:
        for label, (start, end) in ranges(record).items():
            page = f"/studio/{APP}/{name}"
            for repetition in range(repetitions):
                # One day earlier each time: same cost, a new result-cache key.
                shift = timedelta(days=repetition + 1)
                steps += [{"goto": f"{page}?start={start - shift}&end={end - shift}"}, {"waitFor": READY}]
                steps.append({"elapsed": f"{name}/{label}/uncached/{repetition}"})
            # The first load of this URL fills the result cache; the timed ones hit it.
            steps += [{"goto": f"{page}?start={start}&end={end}"}, {"waitFor": READY}]
            for repetition in range(repetitions):
                steps += [
                    {"goto": f"{page}?start={start}&end={end}"},
                    {"waitFor": READY},
                    {"elapsed": f"{name}/{label}/cached/{repetition}"},
                ]
            keys.append(f"{name}/{label}")
    log = project_file.parent / "console.log"
    screenshots = project_file.parent / "screenshots"
    screenshots.mkdir(exist_ok=True)
    with running_console(project_file, log) as url:
        run = browse(url, steps, screenshots)
    if run.failed_step is not None or run.page_errors or run.console_errors:
        print(f"  the browser run failed: {run.failed_step or (run.page_errors + run.console_errors)}", flush=True)
    results = {}
    for key in keys:
        for kind in ("uncached", "cached"):
            values = [run.elapsed[name] / 1000 for name in run.elapsed if name.startswith(f"{key}/{kind}/")]
            if values:
                results.setdefault(key, {})[kind] = summary(values)
        print(f"  page {key}: {results.get(key)}", flush=True)
    return results


# --- report -----------------------------------------------------------------------------------


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f} ms"


def print_tables(record: dict, cold: dict, warm: dict, pages: dict, opening: dict) -> None:
    print(f"\n{record['events']:,} events over {record['days']} days ({record['first_day']} to {record['last_day']}), app {APP}")
    header = ("report", "range", "cold p95", "warm p95 (uncached)", "cache-hit p95", "page p95 uncached", "page p95 cached", "goal met")
    rows = []
    for key, figures in warm.items():
        name, label = key.split("/")
        cold_p95 = cold.get(key, {}).get("p95")
        warm_p95 = figures["uncached"]["p95"]
        met = warm_p95 <= WARM_GOAL_SECONDS and (cold_p95 is None or cold_p95 <= COLD_GOAL_SECONDS)
        page = pages.get(key, {})
        rows.append(
            (
                name,
                label,
                ms(cold_p95),
                ms(warm_p95),
                ms(figures["cached"]["p95"]),
                ms(page.get("uncached", {}).get("p95")),
                ms(page.get("cached", {}).get("p95")),
                "yes" if met else "no",
            )
        )
    print_table(header, rows)
    print("\neach chart's query alone (console warehouse layer, no result cache):")
    chart_rows = [
        (key, chart, ms(figures["p50"]), ms(figures["p95"]))
        for key, report in warm.items()
        for chart, figures in sorted(report["charts"].items(), key=lambda item: -item[1]["p95"])
    ]
    print_table(("report/range", "chart", "p50", "p95"), chart_rows)
    print(f"\nopening the snapshot read-only (once per published version): p50 {ms(opening['p50'])}, p95 {ms(opening['p95'])}")
    print(f"goals: warm p95 <= {ms(WARM_GOAL_SECONDS)} per report's data call, cold <= {ms(COLD_GOAL_SECONDS)}")


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        print("  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def time_zone_name(text: str) -> str:
    from clickstream_project.value_rules import iana_time_zone

    try:
        return iana_time_zone(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def report_names(text: str) -> list[str]:
    from clickstream_console.studio.registry import REPORTS

    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in REPORTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown report {', '.join(unknown) or '(none)'}; the reports are {', '.join(REPORTS)}")
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="events to generate in all (about; default 10M)")
    parser.add_argument("--days", type=int, default=90, help="days of data, ending on the last day the 7-day range reads (default 90)")
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help=f"where the data and warehouse are kept (default {DEFAULT_DATA_DIR})"
    )
    parser.add_argument("--rebuild", action="store_true", help="generate and build again even when --data-dir holds a matching build")
    parser.add_argument("--repetitions", type=int, default=20, help="warm and cache-hit calls per report and range (default 20)")
    parser.add_argument("--cold-repetitions", type=int, default=5, help="fresh console processes for the cold calls (default 5)")
    parser.add_argument("--page-repetitions", type=int, default=5, help="page loads per report, range and cache state (default 5)")
    parser.add_argument("--no-browser", action="store_true", help="skip the page-ready timings (no Chromium)")
    parser.add_argument("--build-only", action="store_true", help="generate and build the data, measure nothing")
    parser.add_argument(
        "--time-zone",
        type=time_zone_name,
        default="UTC",
        help="the app's time zone, which its reports' days are in (default UTC; e.g. America/New_York)",
    )
    parser.add_argument("--reports", type=report_names, help="comma-separated reports to measure (default: all of them)")
    parser.add_argument("--cold-probe", type=int, help=argparse.SUPPRESS)  # the fresh process of a cold measurement
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    from clickstream_console.studio.registry import REPORTS

    reports = args.reports or list(REPORTS)

    if args.cold_probe is not None:
        record = json.loads((data_dir / BUILD_RECORD).read_text())
        cold_probe(data_dir / "console" / "clickstream.yaml", record, args.cold_probe, reports)
        return
    record = ensure_data(data_dir, args.events, args.days, args.rebuild)
    if args.build_only:
        return
    project_file = write_console_project(data_dir, args.time_zone)
    print(f"reports: {', '.join(reports)}; ranges: {', '.join(ranges(record))}", flush=True)
    print(f"cold ({args.cold_repetitions} fresh console processes):", flush=True)
    cold = measure_cold(data_dir, args.cold_repetitions, reports)
    # Before the warm runs: once this process holds the snapshot open, DuckDB hands out that
    # instance and an open costs nothing.
    opening = measure_open(data_dir, args.repetitions)
    print(f"warm ({args.repetitions} calls each):", flush=True)
    warm = measure_warm(project_file, record, args.repetitions, reports, args.time_zone)
    pages = {}
    if not args.no_browser:
        print(f"page ready in headless Chromium ({args.page_repetitions} loads each):", flush=True)
        pages = measure_pages(project_file, record, args.page_repetitions, reports)
    print_tables(record, cold, warm, pages, opening)
    results = {"data": record, "time_zone": args.time_zone, "cold": cold, "warm": warm, "pages": pages, "open": opening}
    out = data_dir / f"results-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"results kept in {out}")


if __name__ == "__main__":
    main()
