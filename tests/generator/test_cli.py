"""`clickstream generate` as the top-level CLI runs it: add_arguments, then main(args, config)."""

from __future__ import annotations

import argparse
import json

from flask import Response

from clickstream_tools.generator import cli

END_ARG = "2024-05-01T12:00:00Z"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="clickstream generate")
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults():
    args = parse()
    assert (args.days, args.users, args.seed, args.concurrency, args.web_batch_size) == (2.0, 50, 42, 4, 1)
    assert args.endpoint is None and args.apps is None and args.end is None
    assert not args.dry_run and not args.no_progress and args.summary_json is None


def test_dry_run_prints_expected_counts_and_sends_nothing(project_config, ingestion_stub, tmp_path, capsys):
    summary = tmp_path / "summary.json"
    args = parse("--dry-run", "--users", "3", "--end", END_ARG, "--endpoint", ingestion_stub.url, "--summary-json", str(summary))
    assert cli.main(args, project_config) == 0
    out = capsys.readouterr().out
    assert "shop_android" in out and "shop_web" in out
    assert ingestion_stub.received == []
    written = json.loads(summary.read_text())
    assert written["send"] is None and set(written["expected"]) == {"shop_android", "shop_ios", "shop_web"}


def test_sends_selected_apps_and_writes_the_summary(project_config, ingestion_stub, tmp_path, capsys):
    summary = tmp_path / "out" / "summary.json"
    args = parse(
        "--endpoint",
        ingestion_stub.url,
        "--users",
        "3",
        "--days",
        "1",
        "--end",
        END_ARG,
        "--app",
        "shop_ios",
        "--app",
        "shop_web",
        "--no-progress",
        "--summary-json",
        str(summary),
    )
    assert cli.main(args, project_config) == 0
    written = json.loads(summary.read_text())
    assert set(written["expected"]) == {"shop_ios", "shop_web"}
    assert written["send"]["ok"] is True
    assert written["send"]["events_acknowledged"] == {a: c["events"] for a, c in written["expected"].items()}
    assert {r.args["appId"] for r in ingestion_stub.received} == {"shop_ios", "shop_web"}
    assert "acknowledged" in capsys.readouterr().out


def test_failed_requests_give_exit_code_1_and_the_servers_message(project_config, ingestion_stub, capsys):
    ingestion_stub.respond = lambda args, n: (
        Response(json.dumps({"error": "forbidden", "message": "unknown appId"}), status=403, content_type="application/json")
        if args["appId"] == "shop_web"
        else None
    )
    args = parse("--endpoint", ingestion_stub.url, "--users", "2", "--days", "1", "--end", END_ARG, "--no-progress")
    assert cli.main(args, project_config) == 1
    err = capsys.readouterr().err
    assert "shop_web" in err and "HTTP 403 forbidden: unknown appId" in err


def test_unknown_app_is_a_usage_error(project_config, capsys):
    assert cli.main(parse("--app", "nope", "--dry-run"), project_config) == 2
    assert "nope" in capsys.readouterr().err


def test_a_window_longer_than_the_freshness_limit_is_warned_about(project_config, capsys):
    assert cli.main(parse("--days", "4", "--users", "1", "--dry-run", "--end", END_ARG), project_config) == 0
    assert "quarantined" in capsys.readouterr().err


def test_a_bad_endpoint_is_a_usage_error(project_config, capsys):
    args = parse("--endpoint", "localhost:8088", "--users", "1", "--end", END_ARG, "--no-progress")
    assert cli.main(args, project_config) == 2
    assert "http" in capsys.readouterr().err
