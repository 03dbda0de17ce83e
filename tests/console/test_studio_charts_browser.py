"""Every chart kind the page script draws (pie, heatmap, sankey, line and bar with a series,
stacked), in headless Chromium, from a report page and its data exactly as the console serves
them: a report of this test's own (registered in-process for the Flask test client) renders the
real template and answers /data from the test warehouse; the two are then served as files, so
the page script runs on real markup and real JSON. The table view of each chart (what the chart
draws, previous period lined up) equals SQL's."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from pathlib import Path

import pytest

from clickstream_console.identity.roles import Role
from clickstream_console.studio import registry
from clickstream_console.studio.model import Chart, Report, event_day, events_in_range
from clickstream_console.warehouse.query import ReportQuery
from tests.console.console_browser import browse, screenshot_dir
from tests.console.console_helpers import add_user, console_app, sign_in
from tests.console.studio_fixture import APP_ID, sql, write_studio_project
from tests.http_stub import QuietHandler, serving

STATIC = Path(__file__).resolve().parents[2] / "clickstream_console" / "static"
QUERY = "start=2026-01-05&end=2026-01-07&compare=1"
IN_RANGE = events_in_range("e")


def _query(name: str, select: str, group: str) -> ReportQuery:
    return ReportQuery(name, f"select {select}, count(*) as events from clickstream_ods_event_view as e where {IN_RANGE} group by {group}")


CHARTS = Report(
    name="charts",
    title="Chart kinds",
    description="Every chart kind on the Activity fixture's events.",
    dimensions=(),
    charts=(
        Chart("by_platform", "pie", "Events by platform", _query("pie", "e.platform", "1 order by 2 desc, 1"), x="platform", y=("events",)),
        Chart(
            "daily_by_platform",
            "line",
            "Events per day and platform",
            _query("line", f"{event_day('e')} as event_date, e.platform", "1, 2 order by 1, 2"),
            x="event_date",
            y=("events",),
            series="platform",
            daily=True,
        ),
        Chart(
            "stacked",
            "bar",
            "Events per day, stacked by version",
            _query("bar", f"{event_day('e')} as event_date, e.app_info_version", "1, 2 order by 1, 2"),
            x="event_date",
            y=("events",),
            series="app_info_version",
            stacked=True,
            daily=True,
        ),
        Chart(
            "grid",
            "heatmap",
            "Events by version and platform",
            _query("heatmap", "e.app_info_version, e.platform", "1, 2 order by 1, 2"),
            x="app_info_version",
            y=("events",),
            series="platform",
        ),
        Chart(
            "flow",
            "sankey",
            "Platform to version",
            _query("sankey", "e.platform, e.app_info_version", "1, 2 order by 1, 2"),
            x="platform",
            y=("events",),
            series="app_info_version",
        ),
    ),
    freshness=ReportQuery("charts_freshness", "select max(event_timestamp) from clickstream_ods_event_view"),
)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The page and its data as the console renders them, served with the console's static files."""
    directory = tmp_path_factory.mktemp("studio-charts")
    app = console_app(write_studio_project(directory))
    add_user(app, "reader@example.com", [Role.ANALYST_READER])
    client = app.test_client()
    sign_in(client, "reader@example.com")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(registry.REPORTS, CHARTS.name, CHARTS)
        page = client.get(f"/studio/{APP_ID}/charts?{QUERY}")
        data = client.get(f"/studio/{APP_ID}/charts/data?{QUERY}")
    assert page.status_code == 200 and data.status_code == 200, data.get_data(as_text=True)
    with serving(partial(_Files, page.get_data(), data.get_data())) as url:
        yield url, directory / "studio.duckdb"


class _Files(QuietHandler):
    def __init__(self, page: bytes, data: bytes, *args, **kwargs) -> None:
        self.page, self.data = page, data
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path.startswith("/static/"):
            file = STATIC / path.removeprefix("/static/")
            body, kind = (file.read_bytes(), "text/css" if file.suffix == ".css" else "text/javascript") if file.is_file() else (b"", "")
            self._send(200 if body else 404, body, kind)
        elif path.endswith("/data"):
            self._send(200, self.data, "application/json")
        else:
            self._send(200, self.page, "text/html")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind or "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _steps() -> list[dict]:
    steps: list[dict] = [{"goto": f"/studio/{APP_ID}/charts?{QUERY}"}, {"waitFor": "[data-testid=report][data-state=ready]"}]
    steps.append({"capture": "canvases", "selector": "[data-chart] .chart-canvas[_echarts_instance_]:not([hidden])"})
    steps.append({"screenshot": "studio-chart-kinds"})
    for chart in CHARTS.charts:
        steps.append({"click": f"[data-testid=chart-{chart.name}] [data-action=table]"})
        steps.append({"capture": f"{chart.name}_head", "selector": f"[data-testid=chart-{chart.name}] th"})
        steps.append({"capture": f"{chart.name}_rows", "selector": f"[data-testid=chart-{chart.name}] tbody tr"})
    return steps


def test_every_chart_kind_draws_and_its_table_equals_sql(served, tmp_path):
    url, database = served
    run = browse(url, _steps(), screenshot_dir(tmp_path))
    run.assert_clean()
    assert len(run.captures["canvases"]) == len(CHARTS.charts)

    def counted(select: str, start: date, end: date) -> dict[tuple, int]:
        rows = sql(
            database,
            f"select {select}, count(*) from clickstream_ods_event_view where event_date between ? and ? group by all",
            [start, end],
        )
        return {tuple(str(value) for value in row[:-1]): row[-1] for row in rows}

    now = counted("event_date, platform", date(2026, 1, 5), date(2026, 1, 7))
    before = counted("event_date, platform", date(2026, 1, 2), date(2026, 1, 4))
    # The daily series' table: each (day, platform) row with the same platform's events three days before.
    assert [name.lower() for name in run.captures["daily_by_platform_head"]] == [
        "event date",
        "platform",
        "events",
        "events (previous period)",
    ]
    expected = [
        f"{day}\t{platform}\t{events}\t{before.get((str(date.fromisoformat(day) - timedelta(days=3)), platform), 0)}"
        for (day, platform), events in sorted(now.items())
    ]
    assert run.captures["daily_by_platform_rows"] == expected

    pie = counted("platform", date(2026, 1, 5), date(2026, 1, 7))
    assert [row.split("\t")[:2] for row in run.captures["by_platform_rows"]] == [
        [platform, str(events)] for (platform,), events in sorted(pie.items(), key=lambda item: (-item[1], item[0]))
    ]
    flow = counted("platform, app_info_version", date(2026, 1, 5), date(2026, 1, 7))
    assert [tuple(row.split("\t")[:3]) for row in run.captures["flow_rows"]] == [
        (*key, str(events)) for key, events in sorted(flow.items())
    ]
    assert [tuple(row.split("\t")[:3]) for row in run.captures["grid_rows"]] == [
        (version, platform, str(events)) for (platform, version), events in sorted(flow.items(), key=lambda item: (item[0][1], item[0][0]))
    ]
