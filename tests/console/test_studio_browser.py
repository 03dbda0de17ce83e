"""The Activity report in headless Chromium, served by `clickstream console` on the test's DuckDB
warehouse: the numbers on the page (KPI tiles, table views) equal SQL's, the charts draw with no
console error (CSP included), and an empty range says so instead of drawing a blank chart."""

from __future__ import annotations

from datetime import date

import pytest

from clickstream_console.identity.roles import Role
from tests.console.console_browser import browse, local_sign_in_steps, running_console, screenshot_dir
from tests.console.console_helpers import PASSWORD, add_user, console_app, name_events
from tests.console.studio_fixture import APP_ID, sql, write_studio_project

PAGE = f"/studio/{APP_ID}/activity"
# Shown instead of the event's name wherever a chart lists events.
DISPLAY_NAMES = {"_page_view": "Page view"}
READY = "[data-testid=report][data-state=ready]"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    directory = tmp_path_factory.mktemp("studio-console")
    project_file = write_studio_project(directory)
    app = console_app(project_file)
    add_user(app, "reader@example.com", [Role.ANALYST_READER])
    name_events(app, APP_ID, DISPLAY_NAMES)
    with running_console(project_file, directory / "console.log") as url:
        yield url, directory / "studio.duckdb"


def test_the_activity_page_shows_the_numbers_sql_computes(console, tmp_path):
    url, database = console
    run = browse(
        url,
        [
            *local_sign_in_steps("reader@example.com", PASSWORD),
            {"goto": f"{PAGE}?start=2026-01-05&end=2026-01-14&compare=1"},
            {"waitFor": READY},
            {"capture": "events", "selector": "[data-testid=kpi-events]"},
            {"capture": "users", "selector": "[data-testid=kpi-users]"},
            {"capture": "previous_events", "selector": "[data-testid=kpi-events-previous]"},
            {"capture": "data_up_to", "selector": "[data-testid=data-up-to]"},
            {"capture": "not_partial", "selector": "[data-testid=partial-data]:not([hidden])"},
            {"screenshot": "studio-activity"},
            {"click": "[data-testid=chart-events_over_time] [data-action=png]"},
            {"click": "[data-testid=chart-events_by_name] [data-action=table]"},
            {"capture": "names", "selector": "[data-testid=chart-events_by_name] td[data-column=event_name]"},
            {"capture": "name_events", "selector": "[data-testid=chart-events_by_name] td[data-column=events]"},
            {"capture": "detail_keys", "selector": "[data-testid=chart-event_attributes] td[data-column=attribute_key]"},
            {"screenshot": "studio-activity-table"},
            {"select": "select[name=f_platform]", "value": "Web"},
            {"click": "[data-testid=report-form] button[type=submit]", "navigate": True},
            {"url": "filtered"},
            {"waitFor": READY},
            {"capture": "web_events", "selector": "[data-testid=kpi-events]"},
            {"goto": f"{PAGE}?start=2025-06-01&end=2025-06-03"},
            {"waitFor": READY},
            {"capture": "empty", "selector": "[data-role=empty]:not([hidden])"},
            {"capture": "canvases", "selector": ".chart-canvas:not([hidden])"},
            {"screenshot": "studio-activity-empty"},
            {"capture": "partial_when_past", "selector": "[data-testid=partial-data]:not([hidden])"},
            {"goto": f"{PAGE}?start=2026-01-15&end=2026-01-21"},
            {"waitFor": READY},
            {"capture": "partial", "selector": "[data-testid=partial-data]:not([hidden])"},
        ],
        screenshot_dir(tmp_path),
    )
    run.assert_clean()
    [(events, users)] = sql(
        database,
        "select count(*), count(distinct user_pseudo_id) from clickstream_ods_event_view where event_date between ? and ?",
        [date(2026, 1, 5), date(2026, 1, 14)],
    )
    [(previous_events,)] = sql(
        database, "select count(*) from clickstream_ods_event_view where event_date between ? and ?", [date(2025, 12, 26), date(2026, 1, 4)]
    )
    by_name = sql(
        database,
        "select event_name, count(*) as events from clickstream_ods_event_view where event_date between ? and ? "
        "group by 1 order by events desc, 1",
        [date(2026, 1, 5), date(2026, 1, 14)],
    )
    assert run.captures["events"] == [str(events)] and run.captures["users"] == [str(users)]
    assert run.captures["previous_events"][0].endswith(f"vs {previous_events} before")
    shown = [(DISPLAY_NAMES.get(name, name), count) for name, count in by_name]
    assert [(name, int(count)) for name, count in zip(run.captures["names"], run.captures["name_events"], strict=True)] == shown
    assert "Page view" in run.captures["names"]
    assert "_page_title" in run.captures["detail_keys"]
    assert run.captures["data_up_to"][0].startswith("2026-01-")
    # The form keeps the range, adds the filter and leaves empty fields out of the permalink.
    assert run.urls["filtered"] == f"{url}{PAGE}?start=2026-01-05&end=2026-01-14&tz=UTC&f_platform=Web&compare=1"
    [(web_events,)] = sql(
        database,
        "select count(*) from clickstream_ods_event_view where event_date between ? and ? and platform = 'Web'",
        [date(2026, 1, 5), date(2026, 1, 14)],
    )
    assert run.captures["web_events"] == [str(web_events)]
    assert run.captures["empty"] == ["No data in this range."] * 4 and run.captures["canvases"] == []
    # The fixture's newest event is on 2026-01-20: a range through it is partial, one before it not.
    assert run.captures["not_partial"] == [] and run.captures["partial_when_past"] == []
    assert run.captures["partial"] == ["(so the range's last day is partial)"]
