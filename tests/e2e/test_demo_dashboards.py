"""Issue 14's "done when": a newcomer runs the demo, opens the console and sees, for every demo app,
the six reports and the saved custom report, each with the demo's numbers. In headless Chromium
against `clickstream console` on the demo's published snapshot; every headline number on screen
equals SQL written here on the views for the same default range (the last 7 days, the apps' zone
being UTC), and no page logs an error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from clickstream_console.studio.registry import REPORTS
from clickstream_project.config import load_config
from clickstream_project.published_warehouse import current
from tests.console.console_browser import browse, local_sign_in_steps, running_console, screenshot_dir

pytestmark = [pytest.mark.e2e]

READY = "[data-testid=report][data-state=ready]"
# Each report's headline tile and the SQL that gives it on the app's views, for ? = first and last day.
HEADLINES = {
    "acquisition": ("new_users", "select count(*) from clickstream_user_dim_view where first_visit_date between ? and ?"),
    "engagement": ("sessions", "select count(*) from clickstream_session_view where session_date between ? and ?"),
    "activity": ("events", "select count(*) from clickstream_ods_event_view where event_date between ? and ?"),
    "retention": ("active_users", "select count(distinct user_pseudo_id) from clickstream_ods_event_view where event_date between ? and ?"),
    "device": ("users", "select count(distinct user_pseudo_id) from clickstream_device_view where event_date between ? and ?"),
    "path": (
        "sessions",
        "select count(*) from (select distinct user_pseudo_id, session_id from clickstream_path_view where event_date between ? and ?)",
    ),
}


def _numbers(texts: list[str]) -> list[float]:
    return [float(text.replace(",", "")) for text in texts]


def test_every_demo_app_shows_six_reports_and_a_custom_report_with_the_demos_numbers(demo_copy, tmp_path):
    assert set(HEADLINES) == set(REPORTS), "a report without a checked headline"
    project_file = demo_copy.project_file
    config = load_config(project_file)
    password = demo_copy.admin_password

    steps = [*local_sign_in_steps("admin@example.com", password)]
    for app_id in config.app_ids:
        for report, (tile, _) in HEADLINES.items():
            steps += [
                {"goto": f"/studio/{app_id}/{report}"},
                {"waitFor": READY},
                {"capture": f"{app_id}/{report}", "selector": f"[data-testid=kpi-{tile}]"},
                {"screenshot": f"demo-{app_id}-{report}"},
            ]
        steps += [
            {"goto": f"/studio/{app_id}/custom"},
            {"capture": f"{app_id}/custom-list", "selector": "[data-testid=custom-reports] tbody tr"},
            {"click": "[data-testid=custom-reports] tbody a", "navigate": True},
            {"waitFor": READY},
            {"click": "[data-chart] [data-action=table]"},
            {"capture": f"{app_id}/custom", "selector": "[data-chart] td[data-column=events]"},
            {"screenshot": f"demo-{app_id}-custom"},
        ]
    with running_console(project_file, tmp_path / "console.log") as url:
        run = browse(url, steps, screenshot_dir(tmp_path))
    run.assert_clean()

    today = datetime.now(UTC).date()
    first = today - timedelta(days=6)
    snapshot = current(config.duckdb_path).path(config.duckdb_path)
    with duckdb.connect(str(snapshot), read_only=True) as connection:
        for app_id in config.app_ids:
            connection.execute(f"set search_path = '{app_id}'")
            for report, (_, sql) in HEADLINES.items():
                [(expected,)] = connection.execute(sql, [first, today]).fetchall()
                assert expected > 0, f"the demo has no data for {app_id}/{report}: the test would prove nothing"
                assert _numbers(run.captures[f"{app_id}/{report}"]) == [expected], (app_id, report)
            [(events,)] = connection.execute(HEADLINES["activity"][1], [first, today]).fetchall()
            assert len(run.captures[f"{app_id}/custom-list"]) == 1
            assert sum(_numbers(run.captures[f"{app_id}/custom"])) == events, app_id
