"""The Acquisition and Device reports in headless Chromium, served by `clickstream console` on the
tests' DuckDB warehouse: the numbers on the page (KPI tiles, the table views of a bar and a pie
chart, the detail tables) equal SQL's, a filter from the form narrows them, every chart draws
with no console error (CSP included), and an empty range says so on every chart."""

from __future__ import annotations

from datetime import date

import pytest

from clickstream_console.identity.roles import Role
from clickstream_console.studio.registry import REPORTS
from tests.console.console_browser import browse, local_sign_in_steps, running_console, screenshot_dir
from tests.console.console_helpers import PASSWORD, add_user, console_app
from tests.console.studio_fixture import APP_ID, sql, write_studio_project

READY = "[data-testid=report][data-state=ready]"
RANGE = "start=2026-01-05&end=2026-01-14"
START, END = date(2026, 1, 5), date(2026, 1, 14)
BEFORE = (date(2025, 12, 26), date(2026, 1, 4))
EMPTY = "start=2025-06-01&end=2025-06-03"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    directory = tmp_path_factory.mktemp("studio-acquisition-device")
    project_file = write_studio_project(directory)
    add_user(console_app(project_file), "reader@example.com", [Role.ANALYST_READER])
    with running_console(project_file, directory / "console.log") as url:
        yield url, directory / "studio.duckdb"


def number(value: int) -> str:
    """As the page writes a count."""
    return f"{value:,}"


def table_steps(chart: str, *columns: str) -> list[dict]:
    """Switch ``chart`` to its table view and capture its ``columns`` as ``<chart>.<column>``."""
    selector = f"[data-testid=chart-{chart}]"
    return [
        {"click": f"{selector} [data-action=table]"},
        *({"capture": f"{chart}.{column}", "selector": f"{selector} td[data-column={column}]"} for column in columns),
    ]


def test_the_acquisition_page_shows_the_numbers_sql_computes(console, tmp_path):
    url, database = console
    page = f"/studio/{APP_ID}/acquisition"
    run = browse(
        url,
        [
            *local_sign_in_steps("reader@example.com", PASSWORD),
            {"goto": f"{page}?{RANGE}&compare=1"},
            {"waitFor": READY},
            {"capture": "new_users", "selector": "[data-testid=kpi-new_users]"},
            {"capture": "registered", "selector": "[data-testid=kpi-registered_users]"},
            {"capture": "previous", "selector": "[data-testid=kpi-new_users-previous]"},
            {"capture": "canvases", "selector": "[data-testid^=chart-] .chart-canvas:not([hidden]) canvas"},
            {"screenshot": "studio-acquisition"},
            *table_steps("by_traffic_source", "traffic_source", "new_users"),
            *table_steps("by_platform", "platform", "new_users", "new_users_previous"),
            {"capture": "profiles", "selector": "[data-testid=chart-user_profiles] td[data-column=user_pseudo_id]"},
            {"screenshot": "studio-acquisition-tables"},
            {"select": "select[name=f_platform]", "value": "Android"},
            {"click": "[data-testid=report-form] button[type=submit]", "navigate": True},
            {"waitFor": READY},
            {"capture": "android", "selector": "[data-testid=kpi-new_users]"},
            {"goto": f"{page}?{EMPTY}"},
            {"waitFor": READY},
            {"capture": "empty", "selector": "[data-role=empty]:not([hidden])"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean()
    count = "select count(*) from clickstream_user_dim_view where first_visit_date between ? and ?"
    [(users,)] = sql(database, count, [START, END])
    [(registered,)] = sql(database, count + " and is_registered = 'Registered'", [START, END])
    [(before,)] = sql(database, count, list(BEFORE))
    [(android,)] = sql(database, count + " and first_platform = 'Android'", [START, END])
    by = "select {0}, count(*) as users from clickstream_user_dim_view where first_visit_date between ? and ? group by 1 order by users desc, 1"
    by_source = sql(database, by.format("first_traffic_source_source"), [START, END])
    by_platform = sql(database, by.format("first_platform"), [START, END])
    before_by_platform = dict(sql(database, by.format("first_platform"), list(BEFORE)))
    newest = sql(
        database,
        "select distinct user_pseudo_id, first_visit_date from clickstream_user_dim_view where first_visit_date between ? and ? "
        "order by first_visit_date desc, user_pseudo_id",
        [START, END],
    )

    assert run.captures["new_users"] == [number(users)] and run.captures["registered"] == [number(registered)]
    assert run.captures["previous"][0].endswith(f"vs {number(before)} before")
    # Every chart but the KPI row and the profile table draws on a canvas.
    assert len(run.captures["canvases"]) == len(REPORTS["acquisition"].charts) - 2
    assert list(zip(run.captures["by_traffic_source.traffic_source"], run.captures["by_traffic_source.new_users"], strict=True)) == [
        (source, number(count)) for source, count in by_source
    ]
    assert list(
        zip(
            run.captures["by_platform.platform"],
            run.captures["by_platform.new_users"],
            run.captures["by_platform.new_users_previous"],
            strict=True,
        )
    ) == [(platform, number(count), number(before_by_platform.get(platform, 0))) for platform, count in by_platform]
    assert list(dict.fromkeys(run.captures["profiles"])) == [user for user, _ in newest]
    assert run.captures["android"] == [number(android)]
    assert run.captures["empty"] == ["No data in this range."] * len(REPORTS["acquisition"].charts)


def test_the_device_page_shows_the_numbers_sql_computes(console, tmp_path):
    url, database = console
    page = f"/studio/{APP_ID}/device"
    run = browse(
        url,
        [
            *local_sign_in_steps("reader@example.com", PASSWORD),
            {"goto": f"{page}?{RANGE}"},
            {"waitFor": READY},
            {"capture": "users", "selector": "[data-testid=kpi-users]"},
            {"capture": "devices", "selector": "[data-testid=kpi-devices]"},
            {"capture": "events", "selector": "[data-testid=kpi-events]"},
            {"capture": "canvases", "selector": "[data-testid^=chart-] .chart-canvas:not([hidden]) canvas"},
            {"screenshot": "studio-device"},
            *table_steps("by_device_category", "device_category", "users"),
            *table_steps("by_app_version", "app_version", "users"),
            {"capture": "detail", "selector": "[data-testid=chart-device_detail] td[data-column=device_id]"},
            {"screenshot": "studio-device-tables"},
            {"select": "select[name=f_platform]", "value": "Web"},
            {"click": "[data-testid=report-form] button[type=submit]", "navigate": True},
            {"waitFor": READY},
            {"capture": "web_users", "selector": "[data-testid=kpi-users]"},
            {"goto": f"{page}?{EMPTY}"},
            {"waitFor": READY},
            {"capture": "empty", "selector": "[data-role=empty]:not([hidden])"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean()
    devices = (
        "clickstream_device_view as d left join clickstream_user_dim_view as u using (user_pseudo_id) where d.event_date between ? and ?"
    )
    [(users, device_count, events)] = sql(
        database, f"select count(distinct user_pseudo_id), count(distinct device_id), sum(usage_num) from {devices}", [START, END]
    )
    [(web_users,)] = sql(database, f"select count(distinct user_pseudo_id) from {devices} and u.first_platform = 'Web'", [START, END])
    by_category = sql(
        database,
        f"select coalesce(ua_device_category, '(not set)'), count(distinct user_pseudo_id) as users from {devices} group by 1 order by users desc, 1",
        [START, END],
    )
    by_version = sql(
        database,
        "select app_info_version, count(distinct user_pseudo_id) as users from clickstream_ods_event_view "
        "where event_date between ? and ? group by 1 order by users desc, 1",
        [START, END],
    )
    detail = sql(
        database,
        f"select device_id, sum(usage_num) as events from {devices} group by device_id order by events desc, device_id",
        [START, END],
    )

    assert [run.captures[name] for name in ("users", "devices", "events")] == [[number(users)], [number(device_count)], [number(events)]]
    assert len(run.captures["canvases"]) == len(REPORTS["device"].charts) - 2
    assert list(zip(run.captures["by_device_category.device_category"], run.captures["by_device_category.users"], strict=True)) == [
        (category, number(count)) for category, count in by_category
    ]
    assert list(zip(run.captures["by_app_version.app_version"], run.captures["by_app_version.users"], strict=True)) == [
        (version, number(count)) for version, count in by_version
    ]
    # One device per user in the fixture, so the detail has one row per device.
    assert run.captures["detail"] == [device for device, _ in detail]
    assert run.captures["web_users"] == [number(web_users)]
    assert run.captures["empty"] == ["No data in this range."] * len(REPORTS["device"].charts)
