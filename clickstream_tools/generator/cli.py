"""`clickstream generate`: simulate users of the configured apps and send their events.

The top-level `clickstream` command builds the subcommand with `add_arguments(parser)` and runs
it with `main(args, config)`; the exit code is 0 when every request was acknowledged, 1 when any
failed and 2 for unusable arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from clickstream_project.config import App, ProjectConfig

from .send import DEFAULT_CONCURRENCY, SendReport, collect_url, send
from .simulate import (
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEFAULT_UNCOMPRESSED_SHARE,
    DEFAULT_USERS,
    DEFAULT_WEB_BATCH_SIZE,
    MAX_EVENTS_PER_REQUEST,
    Simulation,
    simulate,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        help="ingestion server to send to: a base URL such as http://127.0.0.1:8088 (the configured "
        "pipeline.ingestion.path is appended) or a full collect URL "
        "(default: pipeline.ingestion.public_endpoint)",
    )
    parser.add_argument(
        "--days",
        type=_positive_float,
        default=DEFAULT_DAYS,
        help=f"length of the simulated window in days, ending at --end (default: {DEFAULT_DAYS:g}); processing "
        "quarantines events older than pipeline.processing.event_freshness_hours when they arrive",
    )
    parser.add_argument(
        "--users",
        type=_positive_int,
        default=DEFAULT_USERS,
        help=f"simulated users per app, spread over the app's platforms (default: {DEFAULT_USERS})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"random seed; the same seed, options and --end give identical events (default: {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--end",
        type=_utc_datetime,
        metavar="ISO-8601",
        help="end of the simulated window, e.g. 2024-05-01T12:00:00Z (default: now)",
    )
    parser.add_argument(
        "--app",
        action="append",
        dest="apps",
        metavar="APP_ID",
        help="simulate only this app; repeat for several (default: every app in the configuration)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive_int,
        default=DEFAULT_CONCURRENCY,
        help=f"parallel HTTP connections (default: {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--web-batch-size",
        type=_batch_size,
        default=DEFAULT_WEB_BATCH_SIZE,
        help=f"events per request from web apps, 1-{MAX_EVENTS_PER_REQUEST}; 1 is the web SDK's default "
        f"immediate mode (default: {DEFAULT_WEB_BATCH_SIZE})",
    )
    parser.add_argument(
        "--uncompressed-share",
        type=_share,
        default=DEFAULT_UNCOMPRESSED_SHARE,
        help="share of mobile installs that send plain JSON, like SDKs configured with "
        f"isCompressEvents: false (0-1, default: {DEFAULT_UNCOMPRESSED_SHARE:g})",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="never show the progress bar (it is shown only when stderr is a terminal)",
    )
    parser.add_argument(
        "--summary-json",
        type=Path,
        metavar="PATH",
        help="write the expected counts per app (events, users, sessions) and the send report to PATH",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="simulate and print the expected counts, send nothing",
    )


def main(args: argparse.Namespace, config: ProjectConfig) -> int:
    try:
        apps = _selected_apps(config, args.apps)
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    if not apps:
        print("error: no apps to simulate; register one with `clickstream app register`", file=sys.stderr)
        return 2

    end = args.end or datetime.now(UTC)
    freshness_hours = config.pipeline.processing.event_freshness_hours
    if args.days * 24 > freshness_hours:
        print(
            f"warning: events older than {freshness_hours} h when they arrive are quarantined by processing "
            f"(pipeline.processing.event_freshness_hours); --days {args.days:g} produces some",
            file=sys.stderr,
        )

    try:
        simulation = simulate(
            apps,
            end=end,
            days=args.days,
            users=args.users,
            seed=args.seed,
            web_batch_size=args.web_batch_size,
            uncompressed_share=args.uncompressed_share,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(_format_simulation(simulation))
    if args.dry_run:
        _write_summary(args.summary_json, simulation, None)
        return 0

    endpoint = args.endpoint or config.pipeline.ingestion.public_endpoint
    path = config.pipeline.ingestion.path
    try:
        url = collect_url(endpoint, path)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"sending {len(simulation.requests)} requests to {url}", file=sys.stderr)
    report = send(simulation, endpoint, path, concurrency=args.concurrency, progress=not args.no_progress)
    print(_format_report(report))
    _write_summary(args.summary_json, simulation, report)
    if report.ok:
        return 0
    print(_format_failures(report), file=sys.stderr)
    return 1


def _selected_apps(config: ProjectConfig, app_ids: list[str] | None) -> list[App]:
    if not app_ids:
        return list(config.apps)
    # config.app raises KeyError naming the registered apps.
    return [config.app(app_id) for app_id in dict.fromkeys(app_ids)]


def _format_simulation(simulation: Simulation) -> str:
    lines = [
        f"simulated {simulation.start:%Y-%m-%dT%H:%M:%SZ} to {simulation.end:%Y-%m-%dT%H:%M:%SZ}, "
        f"seed {simulation.seed}, {simulation.users_per_app} users per app",
        f"{'app_id':<24} {'events':>9} {'users':>7} {'sessions':>9} {'requests':>9}",
    ]
    for app_id, counts in simulation.counts.items():
        lines.append(f"{app_id:<24} {counts.events:>9} {counts.users:>7} {counts.sessions:>9} {counts.requests:>9}")
    totals = simulation.counts.values()
    lines.append(
        f"{'total':<24} {sum(c.events for c in totals):>9} {sum(c.users for c in totals):>7} "
        f"{sum(c.sessions for c in totals):>9} {sum(c.requests for c in totals):>9}"
    )
    return "\n".join(lines)


def _format_report(report: SendReport) -> str:
    acknowledged = sum(report.events_acknowledged.values())
    return (
        f"acknowledged {report.requests_acknowledged}/{report.requests_total} requests, "
        f"{acknowledged}/{report.events_total} events ({report.retries} retries, {report.elapsed_seconds:.1f} s)"
    )


def _format_failures(report: SendReport) -> str:
    failed_events = sum(f.event_count for f in report.failures)
    lines = [f"error: {len(report.failures)} requests ({failed_events} events) were not acknowledged:"]
    for (app_id, status, error, message), requests, events in report.failure_groups():
        status_text = f"HTTP {status}" if status is not None else "no response"
        lines.append(f"  {app_id}: {requests} requests, {events} events: {status_text} {error}: {message}")
    return "\n".join(lines)


def _write_summary(path: Path | None, simulation: Simulation, report: SendReport | None) -> None:
    if path is None:
        return
    summary = {
        "start": simulation.start.isoformat(),
        "end": simulation.end.isoformat(),
        "seed": simulation.seed,
        "days": simulation.days,
        "users_per_app": simulation.users_per_app,
        "expected": simulation.expected_counts(),
        "requests": {app_id: counts.requests for app_id, counts in simulation.counts.items()},
        "send": report.to_dict() if report is not None else None,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


def _positive_int(text: str) -> int:
    value = _parse(int, text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = _parse(float, text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _batch_size(text: str) -> int:
    value = _parse(int, text)
    if not 1 <= value <= MAX_EVENTS_PER_REQUEST:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_EVENTS_PER_REQUEST}, got {value}")
    return value


def _share(text: str) -> float:
    value = _parse(float, text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _parse(kind: type[int] | type[float], text: str) -> int | float:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a{'n integer' if kind is int else ' number'}: {text!r}") from None


def _utc_datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
