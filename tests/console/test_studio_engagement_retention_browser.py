"""The Engagement and Retention reports in headless Chromium, served by `clickstream console` on the
tests' DuckDB warehouse: the numbers on the page (KPI tiles, the table view of each chart) equal
SQL's, every chart draws with no console error (CSP included), and a filter reloads the report."""

from __future__ import annotations

from datetime import date

import pytest

from clickstream_console.identity.roles import Role
from tests.console.console_browser import browse, local_sign_in_steps, running_console, screenshot_dir
from tests.console.console_helpers import PASSWORD, add_user, console_app
from tests.console.studio_fixture import APP_ID, sql, write_studio_project

READY = "[data-testid=report][data-state=ready]"
DRAWN = ".chart-canvas[_echarts_instance_]"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    directory = tmp_path_factory.mktemp("studio-engret-console")
    project_file = write_studio_project(directory)
    add_user(console_app(project_file), "reader@example.com", [Role.ANALYST_READER])
    with running_console(project_file, directory / "console.log") as url:
        yield url, directory / "studio.duckdb"


def shown(value: object) -> str:
    """A value as the page writes it (en-US, at most two decimals, null as "(not set)")."""
    if value is None:
        return "(not set)"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table_view(chart: str, prefix: str) -> list[dict]:
    return [
        {"click": f"[data-testid=chart-{chart}] [data-action=table]"},
        {"capture": f"{prefix}_rows", "selector": f"[data-testid=chart-{chart}] tbody tr"},
    ]


def test_the_engagement_page_shows_the_numbers_sql_computes(console, tmp_path):
    url, database = console
    page = f"/studio/{APP_ID}/engagement"
    run = browse(
        url,
        [
            *local_sign_in_steps("reader@example.com", PASSWORD),
            {"goto": f"{page}?start=2026-01-05&end=2026-01-14&compare=1"},
            {"waitFor": READY},
            *(
                {"capture": name, "selector": f"[data-testid=kpi-{name}]"}
                for name in (
                    "sessions",
                    "engaged_sessions",
                    "engagement_rate_percent",
                    "engagement_seconds_per_user",
                    "bounce_rate_percent",
                )
            ),
            {"capture": "previous_sessions", "selector": "[data-testid=kpi-sessions-previous]"},
            {"capture": "drawn", "selector": f"[data-chart] {DRAWN}:not([hidden])"},
            {"screenshot": "studio-engagement"},
            *table_view("pages_by_views", "pages"),
            *table_view("landing_pages", "landing"),
            {"screenshot": "studio-engagement-tables"},
            {"select": "select[name=f_platform]", "value": "iOS"},
            {"click": "[data-testid=report-form] button[type=submit]", "navigate": True},
            {"waitFor": READY},
            {"capture": "ios_sessions", "selector": "[data-testid=kpi-sessions]"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean()
    in_range = "session_date between '2026-01-05' and '2026-01-14'"
    [(sessions, engaged, rate, per_user, bounce)] = sql(
        database,
        "select count(*), sum(engaged_session), round(100.0 * sum(engaged_session) / count(*), 1), "
        "round(sum(session_engagement_time) / 1000.0 / count(distinct user_pseudo_id), 1), round(100.0 * sum(bounced_session) / count(*), 1) "
        f"from clickstream_session_view where {in_range}",
    )
    [(previous,)] = sql(database, "select count(*) from clickstream_session_view where session_date between '2025-12-26' and '2026-01-04'")
    assert [run.captures[name] for name in ("sessions", "engaged_sessions", "engagement_rate_percent", "engagement_seconds_per_user")] == [
        [shown(sessions)],
        [shown(engaged)],
        [shown(rate)],
        [shown(per_user)],
    ]
    assert run.captures["bounce_rate_percent"] == [shown(bounce)]
    assert run.captures["previous_sessions"][0].endswith(f"vs {previous} before")
    assert len(run.captures["drawn"]) == 4
    views = sql(
        database,
        "select current_screen, count(*) as views from clickstream_path_view join clickstream_session_view using (user_pseudo_id, session_id) "
        "where event_date between '2026-01-05' and '2026-01-14' and event_name in ('_screen_view', '_page_view') "
        "group by 1 order by views desc, 1",
    )
    assert [row.split("\t")[:2] for row in run.captures["pages_rows"]] == [[shown(page), shown(count)] for page, count in views]
    landing = sql(
        database,
        f"select entry_view, count(*) as sessions, sum(engaged_session) as engaged from clickstream_session_view where {in_range} "
        "group by 1 order by engaged desc, sessions desc, 1",
    )
    assert [row.split("\t")[:3] for row in run.captures["landing_rows"]] == [[shown(value) for value in row] for row in landing]
    [(ios,)] = sql(database, f"select count(*) from clickstream_session_view where {in_range} and platform = 'iOS'")
    assert run.captures["ios_sessions"] == [shown(ios)]


def test_the_retention_page_shows_the_numbers_sql_computes(console, tmp_path):
    url, database = console
    page = f"/studio/{APP_ID}/retention"
    run = browse(
        url,
        [
            *local_sign_in_steps("reader@example.com", PASSWORD),
            {"goto": f"{page}?start=2026-01-01&end=2026-01-14"},
            {"waitFor": READY},
            {"capture": "active_users", "selector": "[data-testid=kpi-active_users]"},
            {"capture": "drawn", "selector": f"[data-chart] {DRAWN}:not([hidden])"},
            {"screenshot": "studio-retention"},
            *table_view("active_users", "active"),
            *table_view("cohorts", "cohorts"),
            *table_view("lifecycle_daily", "daily"),
            *table_view("lifecycle_weekly", "weekly"),
            {"screenshot": "studio-retention-tables"},
            {"goto": f"{page}?start=2025-06-01&end=2025-06-03"},
            {"waitFor": READY},
            {"capture": "empty", "selector": "[data-role=empty]:not([hidden])"},
            {"screenshot": "studio-retention-empty"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean()
    start, end = date(2026, 1, 1), date(2026, 1, 14)
    [(users,)] = sql(
        database, "select count(distinct user_pseudo_id) from clickstream_ods_event_view where event_date between ? and ?", [start, end]
    )
    assert run.captures["active_users"] == [shown(users)]
    assert len(run.captures["drawn"]) == 5
    daily_users = sql(
        database,
        "select event_date, count(distinct user_pseudo_id) from clickstream_ods_event_view where event_date between ? and ? group by 1",
        [start, end],
    )
    active = {row.split("\t")[0]: row.split("\t")[1] for row in run.captures["active_rows"]}
    assert len(active) == 14 and all(active[day.isoformat()] == shown(count) for day, count in daily_users)
    cohorts = sql(
        database,
        "select first_date, day_diff, returned_user_count, total_users, round(100.0 * returned_user_count / total_users, 1) "
        "from clickstream_retention_view where first_date between ? and ? order by 2, 1",
        [start, end],
    )
    assert [row.split("\t") for row in run.captures["cohorts_rows"]] == [[shown(value) for value in row] for row in cohorts]
    for capture, view, stage in (("daily_rows", "daily", "day"), ("weekly_rows", "weekly", "week")):
        stages = sql(
            database,
            f"select time_period, this_{stage}_value, user_count from clickstream_lifecycle_{view}_view "
            "where time_period between ? and ? order by 1, 2",
            [start, end],
        )
        assert [row.split("\t") for row in run.captures[capture]] == [[shown(value) for value in row] for row in stages]
    assert run.captures["empty"] == ["No data in this range."] * 6
