"""Custom reports in headless Chromium, served by `clickstream console` on the dashboards' test
warehouse: an Analyst writes SQL in the editor, previews it, picks the chart, sees it drawn and saves; an Analyst
Reader opens it, and the demo's stacked report, from the app's list; the numbers on the pages (the
preview's table, each chart's table view) equal SQL's, with no console error."""

from __future__ import annotations

from datetime import date

import pytest

from clickstream_console.identity.roles import Role
from clickstream_console.studio.custom.seed import DEMO_REPORT, save_demo_reports
from clickstream_project.config import load_config
from tests.console.console_browser import browse, local_sign_in_steps, running_console, screenshot_dir, sign_out_steps
from tests.console.console_helpers import PASSWORD, add_user, console_app
from tests.console.studio_fixture import APP_ID, sql, write_studio_project

LIST = f"/studio/{APP_ID}/custom?start=2026-01-05&end=2026-01-14"
READY = "[data-testid=report][data-state=ready]"
RANGE = [date(2026, 1, 5), date(2026, 1, 14)]
BY_PLATFORM = (
    "select platform, count(*) as events\n"
    "from clickstream_ods_event_view\n"
    "where local_date(event_timestamp, :tz) between :start_date and :end_date\n"
    "group by platform\n"
    "order by events desc, platform"
)


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    directory = tmp_path_factory.mktemp("custom-console")
    project_file = write_studio_project(directory)
    app = console_app(project_file)
    add_user(app, "analyst@example.com", [Role.ANALYST])
    add_user(app, "reader@example.com", [Role.ANALYST_READER])
    save_demo_reports(load_config(project_file), actor="demo")
    with running_console(project_file, directory / "console.log") as url:
        yield url, directory / "studio.duckdb"


def test_an_analyst_writes_a_report_and_an_analyst_reader_views_it(console, tmp_path):
    url, database = console
    run = browse(
        url,
        [
            *local_sign_in_steps("analyst@example.com", PASSWORD),
            {"goto": LIST},
            {"click": "[data-testid=new-custom-report]", "navigate": True},
            {"fill": "textarea[name=sql]", "value": "select platform,\n    no_such_column\nfrom clickstream_ods_event_view"},
            {"click": "[data-testid=preview-button]", "navigate": True},
            {"capture": "error_position", "selector": "[data-testid=error-position]"},
            {"capture": "error_mark", "selector": "[data-testid=error-mark]"},
            {"screenshot": "custom-editor-error"},
            {"fill": "input[name=name]", "value": "Events by platform"},
            {"fill": "textarea[name=sql]", "value": BY_PLATFORM},
            {"click": "[data-testid=preview-button]", "navigate": True},
            {"waitFor": "[data-testid=preview]"},
            {"capture": "preview_platforms", "selector": "[data-testid=preview] td[data-column=platform]"},
            {"capture": "preview_events", "selector": "[data-testid=preview] td[data-column=events]"},
            {"select": "select[name=chart_kind]", "value": "bar"},
            {"select": "select[name=x_column]", "value": "platform"},
            {"select": "select[name=y_columns]", "value": "events"},
            {"click": "[data-testid=preview-button]", "navigate": True},
            {"waitFor": READY},
            {"capture": "preview_canvas", "selector": "[data-testid=chart-result] .chart-canvas:not([hidden]) canvas"},
            {"screenshot": "custom-editor-preview"},
            {"click": "[data-testid=chart-result] [data-action=table]"},
            {"capture": "chart_platforms", "selector": "[data-testid=chart-result] td[data-column=platform]"},
            {"capture": "chart_events", "selector": "[data-testid=chart-result] td[data-column=events]"},
            {"click": "[data-testid=save-button]", "navigate": True},
            {"url": "saved"},
            {"waitFor": READY},
            {"screenshot": "custom-report-analyst"},
            *sign_out_steps(),
            *local_sign_in_steps("reader@example.com", PASSWORD),
            {"goto": LIST},
            {"capture": "listed", "selector": "[data-testid=custom-reports] tbody tr td:first-child"},
            {"click": '[data-testid=custom-reports] tr[data-name="Events by platform"] a', "navigate": True},
            {"waitFor": READY},
            {"capture": "edit_links", "selector": "[data-testid=edit-link]"},
            {"click": "[data-testid=chart-result] [data-action=table]"},
            {"capture": "platforms", "selector": "[data-testid=chart-result] td[data-column=platform]"},
            {"capture": "events", "selector": "[data-testid=chart-result] td[data-column=events]"},
            {"screenshot": "custom-report-reader-table"},
            {"goto": LIST},
            {"click": f'[data-testid=custom-reports] tr[data-name="{DEMO_REPORT.name}"] a', "navigate": True},
            {"waitFor": READY},
            {"capture": "demo_canvas", "selector": "[data-testid=chart-result] .chart-canvas:not([hidden])"},
            {"screenshot": "custom-report-demo"},
            {"click": "[data-testid=chart-result] [data-action=table]"},
            {"capture": "demo_days", "selector": "[data-testid=chart-result] td[data-column=event_date]"},
            {"capture": "demo_platforms", "selector": "[data-testid=chart-result] td[data-column=platform]"},
            {"capture": "demo_events", "selector": "[data-testid=chart-result] td[data-column=events]"},
        ],
        screenshot_dir(tmp_path),
    )
    # The refused preview answers 400: its status line is the one console error expected.
    run.assert_clean(expected_statuses=(400,))
    assert run.captures["error_position"] == ["Line 2, column 5:"] and run.captures["error_mark"] == ["no_such_column\n    ^"]
    expected = sql(
        database,
        "select platform, count(*) as events from clickstream_ods_event_view where event_date between ? and ? group by 1 order by 2 desc, 1",
        RANGE,
    )
    assert list(zip(run.captures["preview_platforms"], map(int, run.captures["preview_events"]), strict=True)) == expected
    # The second Preview, with the chart chosen, draws it.
    assert len(run.captures["preview_canvas"]) == 1
    assert list(zip(run.captures["chart_platforms"], map(int, run.captures["chart_events"]), strict=True)) == expected
    assert run.urls["saved"].startswith(f"{url}/studio/{APP_ID}/custom/") and run.urls["saved"].endswith(
        "?start=2026-01-05&end=2026-01-14&tz=UTC"
    )
    assert sorted(run.captures["listed"]) == ["Events by platform", DEMO_REPORT.name]
    assert run.captures["edit_links"] == []
    assert list(zip(run.captures["platforms"], map(int, run.captures["events"]), strict=True)) == expected

    demo = sql(
        database,
        "select strftime(event_date, '%Y-%m-%d'), platform, count(*) from clickstream_ods_event_view "
        "where event_date between ? and ? group by 1, 2 order by 1, 2",
        RANGE,
    )
    shown = zip(run.captures["demo_days"], run.captures["demo_platforms"], map(int, run.captures["demo_events"]), strict=True)
    assert len(run.captures["demo_canvas"]) == 1 and list(shown) == demo
