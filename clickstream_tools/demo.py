"""``clickstream demo``: the whole pipeline on one machine, end to end, checked.

1. writes a demo project (three apps: Android, iOS, Web) under ``--dir``;
2. starts the ingestion service (gunicorn, real HTTP) on a free local port;
3. simulates a few days of users and sends their events in SDK format;
4. stops the service gracefully, which seals every raw file it acknowledged;
5. materialises the raw hours, the Spark ``ods_events`` and every app's dbt models through
   Dagster jobs, recorded in a persistent Dagster instance the UI can open afterwards;
6. reads events, users and sessions per app back from DuckDB and compares them with what the
   generator sent. Any difference is a failure (exit code 1);
7. creates the web console's first administrator (a generated password, kept in
   ``console-admin.txt``) and saves a custom report per app next to the six preset reports,
   then prints how to open the console and the Dagster UI.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

from clickstream_contract.job_defaults import DEFAULT_EVENT_FRESHNESS_HOURS
from clickstream_project.config import CONFIG_ENV_VAR, ProjectConfig, parse_config, save_config
from clickstream_tools.instance import prepare_dagster_home

MARKER = ".clickstream-demo"
DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_APPS = [
    {"app_id": "shop_android", "name": "Shop for Android", "platforms": ["Android"], "package_name": "com.example.shop"},
    {"app_id": "shop_ios", "name": "Shop for iOS", "platforms": ["iOS"], "package_name": "com.example.shop.ios"},
    {"app_id": "shop_web", "name": "Shop on the web", "platforms": ["Web"]},
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir", type=Path, default=Path("var/demo"), help="demo project directory, recreated on every run (default: var/demo)"
    )
    parser.add_argument("--days", type=_days, default=2, help=f"days of simulated activity, ending now, 1 to {MAX_DAYS} (default: 2)")
    parser.add_argument("--users", type=int, default=40, help="simulated users per app (default: 40)")
    parser.add_argument("--seed", type=int, default=42, help="random seed; the same seed sends the same events (default: 42)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar while sending")


# The freshness window (at most a year) must cover every simulated day plus one.
MAX_DAYS = 364


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 1 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"{days} is out of range: give 1 to {MAX_DAYS} days")
    return days


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_directory(directory: Path) -> Path:
    directory = directory.resolve()
    if directory.exists() and any(directory.iterdir()):
        if not (directory / MARKER).exists():
            raise SystemExit(f"error: {directory} exists and was not made by the demo; choose another --dir")
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / MARKER).write_text("created by `clickstream demo`; deleted and recreated on every run\n")
    return directory


def write_demo_config(directory: Path, port: int, days: int) -> tuple[ProjectConfig, Path]:
    data = {
        "project_id": "demo",
        "data_dir": ".",
        "apps": DEMO_APPS,
        "pipeline": {
            "ingestion": {
                "bind": f"127.0.0.1:{port}",
                "public_endpoint": f"http://127.0.0.1:{port}",
                "workers": 2,
                "cors_origins": ["http://localhost:*", "http://127.0.0.1:*"],
            },
            # The local sink may seal every few seconds: with a micro-batch of only the new files
            # (plugins/slices.py) every 5 s, a demo event shows in the console within a minute.
            "sink": {"buffer_interval_seconds": 10},
            "automation": {"micro_batch": {"minimum_interval_seconds": 5}},
            "processing": {
                # The demo's raw data arrives from now on: the partitions start today, not years back.
                "start_date": datetime.now(UTC).date(),
                # Its simulated days all arrive now: events older than the freshness window would be
                # quarantined as stale, so the window covers them (plus a day).
                "event_freshness_hours": max(DEFAULT_EVENT_FRESHNESS_HOURS, (days + 1) * 24),
            },
        },
    }
    config = parse_config(data, base_dir=directory)
    path = directory / "clickstream.yaml"
    save_config(config, path)
    return config, path


def create_console_administrator(config: ProjectConfig, directory: Path) -> tuple[str, Path]:
    """The console's first user, with a generated password written where only its owner can read it."""
    from clickstream_console.catalogue.seed import save_demo_documentation
    from clickstream_console.explore.seed import save_demo_analyses
    from clickstream_console.setup import add_first_administrator, generated_password
    from clickstream_console.studio.custom.seed import save_demo_reports

    step("creating the console's administrator")
    password = generated_password()
    email = add_first_administrator(config, DEMO_ADMIN_EMAIL, password)
    step("saving a custom report per app (Analytics Studio → Dashboards → Custom reports)")
    save_demo_reports(config, actor=email)
    step("documenting the demo's events (Analytics Studio → Data Management)")
    save_demo_documentation(config, actor=email)
    step("saving an analysis of each type per app (Analytics Studio → Explore)")
    save_demo_analyses(config, actor=email)
    password_file = directory / "console-admin.txt"
    descriptor = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(f"{password}\n")
    return email, password_file


class IngestionProcess:
    """The real service in a child process, stopped with SIGTERM like a deployment would."""

    def __init__(self, config_path: Path, log_path: Path, endpoint: str) -> None:
        self.endpoint = endpoint
        self.log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clickstream_tools.cli", "serve", "--config", str(config_path)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ingestion service exited with code {self.process.returncode}; see {self.log.name}")
            try:
                if requests.get(f"{self.endpoint}/ping", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"ingestion service not ready after {timeout:.0f} s; see {self.log.name}")

    def stop(self, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise RuntimeError(f"ingestion service did not stop within {timeout:.0f} s; killed") from None
        self.log.close()
        return self.process.returncode


@dataclass(frozen=True)
class AppSummary:
    app_id: str
    events: int
    users: int
    sessions: int


def warehouse_summary(config: ProjectConfig) -> dict[str, AppSummary]:
    import duckdb

    summary: dict[str, AppSummary] = {}
    with duckdb.connect(str(config.duckdb_path), read_only=True) as connection:
        for app_id in config.app_ids:
            events, users = connection.execute(f'select count(*), count(distinct user_pseudo_id) from "{app_id}".ods_events').fetchone()
            (sessions,) = connection.execute(f'select count(*) from "{app_id}".clickstream_session_view').fetchone()
            summary[app_id] = AppSummary(app_id, events, users, sessions)
    return summary


def run_pipeline(config_path: Path, dagster_home: Path, first_hour: datetime, last_hour: datetime) -> None:
    """Materialise raw → ods_events for the hour range (one run), then every app's models."""
    import dagster as dg

    # backfill_policy is a beta parameter the assets use on purpose; the demo's reader can't act on it.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    from clickstream_dagster.definitions import defs
    from clickstream_dagster.lake.partitions import hour_to_partition_key
    from clickstream_dagster.names import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG

    os.environ[CONFIG_ENV_VAR] = str(config_path)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    prepare_dagster_home(dagster_home, replace=True)
    definitions = defs()
    # The demo prints its own steps; Dagster's event log stays in the instance for the UI.
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with dg.DagsterInstance.get() as instance:
        tags = {
            PARTITION_RANGE_START_TAG: hour_to_partition_key(first_hour),
            PARTITION_RANGE_END_TAG: hour_to_partition_key(last_hour),
        }
        step(
            f"Dagster job process_raw_hours, hours {tags['dagster/asset_partition_range_start']} to {tags['dagster/asset_partition_range_end']} (Spark)"
        )
        processed = definitions.resolve_job_def("process_raw_hours").execute_in_process(instance=instance, tags=tags, run_config=quiet)
        ods = processed.asset_materializations_for_node("lake__ods_events")[0].metadata
        print(
            f"    {ods['rows_written'].value} rows written to ods_events, {ods['duplicates'].value} duplicates dropped, "
            f"{ods['quarantined'].value} quarantined ({ods['spark_seconds'].value:.0f} s in Spark)"
        )
        step("Dagster job build_warehouse (dbt build per app: models and tests)")
        dbt_log = config_path.parent / "dbt.log"
        # dbt's own progress lines would bury the demo's steps; they go to a file instead.
        with dbt_log.open("w") as log, contextlib.redirect_stdout(log):
            built = definitions.resolve_job_def("build_warehouse").execute_in_process(instance=instance, run_config=quiet)
        checks = built.get_asset_check_evaluations()
        failed = [c.check_name for c in checks if not c.passed]
        print(
            f"    {len(built.get_asset_materialization_events())} dbt models materialised, "
            f"{len(checks) - len(failed)}/{len(checks)} dbt tests passed (output: {dbt_log})"
        )
        if failed:
            raise RuntimeError(f"dbt tests failed: {', '.join(failed)}")


def print_summary(expected: dict[str, dict[str, int]], actual: dict[str, AppSummary]) -> bool:
    header = f"{'app':<14}{'events sent':>12}{'ods_events':>12}{'users sent':>12}{'users':>8}{'sessions sent':>15}{'sessions':>10}  check"
    print(header)
    print("-" * len(header))
    ok = True
    for app_id, sent in expected.items():
        got = actual.get(app_id, AppSummary(app_id, 0, 0, 0))
        match = (sent["events"], sent["users"], sent["sessions"]) == (got.events, got.users, got.sessions)
        ok &= match
        print(
            f"{app_id:<14}{sent['events']:>12}{got.events:>12}{sent['users']:>12}{got.users:>8}"
            f"{sent['sessions']:>15}{got.sessions:>10}  {'OK' if match else 'MISMATCH'}"
        )
    return ok


def main(args: argparse.Namespace) -> int:
    from clickstream_tools.generator import send, simulate

    started = time.monotonic()
    directory = prepare_directory(args.dir)
    port = free_port()
    config, config_path = write_demo_config(directory, port, args.days)
    endpoint = config.pipeline.ingestion.public_endpoint
    step(f"demo project in {directory}")

    step(f"starting ingestion on {endpoint}{config.pipeline.ingestion.path}")
    first_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    server = IngestionProcess(config_path, directory / "ingestion.log", endpoint)
    try:
        server.wait_ready()
        simulation = simulate(config, days=args.days, users=args.users, seed=args.seed, end=datetime.now(UTC))
        expected = simulation.expected_counts()
        total = sum(counts["events"] for counts in expected.values())
        step(f"sending {total} events of {args.days} simulated day(s) in SDK format")
        report = send(simulation, endpoint, config.pipeline.ingestion.path, progress=not args.no_progress)
    finally:
        step("stopping ingestion (graceful: seals every acknowledged raw file)")
        server.stop()
    if report.failures:
        print(f"error: {len(report.failures)} request(s) were not accepted; see {directory / 'ingestion.log'}", file=sys.stderr)
        return 1
    last_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)

    run_pipeline(config_path, config.dagster_home, first_hour, last_hour)

    step("summary read from the warehouse (DuckDB)")
    ok = print_summary(expected, warehouse_summary(config))
    email, password_file = create_console_administrator(config, directory)
    print(f"\nfinished in {time.monotonic() - started:.0f} s; warehouse: {config.duckdb_path}")
    print("Open the result: ./dev.sh ui  starts the Dagster UI, the console and ingestion on this demo, then")
    print(f"  console:   {config.console.base_url}  (sign in as {email}, password in {password_file})")
    print("  Dagster:   http://127.0.0.1:3000")
    print(f"or by hand: DAGSTER_HOME={config.dagster_home} {CONFIG_ENV_VAR}={config_path} .venv/bin/dagster dev")
    print(f"            .venv/bin/clickstream console --config {config_path}")
    if not ok:
        print("error: the warehouse does not match what was sent", file=sys.stderr)
        return 1
    return 0
