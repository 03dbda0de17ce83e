"""Analytics Studio's Activity report over HTTP, on a DuckDB warehouse the test builds: the data
equals what SQL written here computes for the same range and filters, every parameter is checked
with the field named, filter values stay data, and the CSV export carries the same rows."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date

import pytest

from clickstream_console.identity.roles import Role
from tests.console.console_helpers import add_user, console_app, sign_in
from tests.console.studio_fixture import APP_ID, FORMULA_NAME, QUIET_DAY, SQL_LIKE_NAME, sql, write_studio_project

BASE = f"/studio/{APP_ID}/activity"
RANGE = "start=2026-01-05&end=2026-01-14"
START, END = date(2026, 1, 5), date(2026, 1, 14)


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    directory = tmp_path_factory.mktemp("studio")
    app = console_app(write_studio_project(directory))
    add_user(app, "analyst@example.com", [Role.ANALYST])
    client = app.test_client()
    sign_in(client, "analyst@example.com")
    return client, directory / "studio.duckdb"


def data(client, query: str) -> dict:
    response = client.get(f"{BASE}/data?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_kpis_equal_sql_for_the_range_and_the_previous_period(studio):
    client, database = studio
    body = data(client, f"{RANGE}&compare=1")
    kpis = "select count(*), count(distinct user_pseudo_id) from clickstream_ods_event_view where event_date between ? and ?"
    [(events, users)] = sql(database, kpis, [START, END])
    [(before_events, before_users)] = sql(database, kpis, [date(2025, 12, 26), date(2026, 1, 4)])

    chart = body["charts"]["kpis"]
    assert chart["columns"] == ["events", "users", "events_per_user"]
    assert chart["rows"] == [[events, users, round(events / users, 2)]]
    assert chart["previous"]["rows"][0][:2] == [before_events, before_users]
    assert body["range"] == {"start": "2026-01-05", "end": "2026-01-14", "days": 10, "tz": "UTC"}
    assert body["previous"] == {"start": "2025-12-26", "end": "2026-01-04", "days": 10, "tz": "UTC"}
    [(latest,)] = sql(database, "select date_trunc('hour', epoch_ms(max(event_timestamp))) from clickstream_ods_event_view")
    assert body["data_up_to"] == latest.strftime("%Y-%m-%dT%H:00:00Z")


def test_events_over_time_has_every_day_of_the_range(studio):
    client, database = studio
    body = data(client, f"{RANGE}&f_platform=Web")
    expected = dict(
        (day.isoformat(), [events, users])
        for day, events, users in sql(
            database,
            "select event_date, count(*), count(distinct user_pseudo_id) from clickstream_ods_event_view "
            "where event_date between ? and ? and platform = 'Web' group by 1",
            [START, END],
        )
    )

    rows = body["charts"]["events_over_time"]["rows"]
    assert [row[0] for row in rows] == [f"2026-01-{day:02d}" for day in range(5, 15)]
    assert {row[0]: row[1:] for row in rows if row[0] in expected} == expected
    assert [row[1:] for row in rows if row[0] == QUIET_DAY.isoformat()] == [[0, 0]]


def test_events_by_name_with_filters_equal_sql(studio):
    client, database = studio
    body = data(client, f"{RANGE}&f_platform=Android&f_app_version=1.1.0")
    expected = sql(
        database,
        "select event_name, count(*) as events, count(distinct user_pseudo_id) from clickstream_ods_event_view "
        "where event_date between ? and ? and platform = 'Android' and app_info_version = '1.1.0' group by 1 order by events desc, 1",
        [START, END],
    )

    assert [tuple(row) for row in body["charts"]["events_by_name"]["rows"]] == expected


def test_event_detail_shows_the_top_values_of_each_attribute(studio):
    client, database = studio
    body = data(client, f"{RANGE}&event=add_to_cart")
    counts = sql(
        database,
        "select event_parameter_key, event_parameter_value, count(*) from clickstream_ods_event_attributes_view "
        "where event_name = 'add_to_cart' and event_date between ? and ? group by 1, 2 order by 1, 3 desc, 2",
        [START, END],
    )
    expected, seen = [], {}
    for key, value, events in counts:
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= 5:
            expected.append(["add_to_cart", key, value, events])

    rows = body["charts"]["event_attributes"]["rows"]
    assert rows == expected
    assert any(key == "_page_title" for _, key, _, _ in rows) and len([row for row in rows if row[1] == "_page_title"]) == 5


def test_event_detail_defaults_to_the_most_frequent_event(studio):
    client, database = studio
    [(top,)] = sql(
        database,
        "select event_name from clickstream_ods_event_view where event_date between ? and ? group by 1 order by count(*) desc, 1 limit 1",
        [START, END],
    )

    assert {row[0] for row in data(client, RANGE)["charts"]["event_attributes"]["rows"]} == {top}


def test_a_sql_like_filter_value_stays_data(studio):
    client, database = studio
    [(events,)] = sql(
        database,
        "select count(*) from clickstream_ods_event_view where event_name = ? and event_date between ? and ?",
        [SQL_LIKE_NAME, START, END],
    )

    body = client.get(f"{BASE}/data", query_string={"start": "2026-01-05", "end": "2026-01-14", "f_event_name": SQL_LIKE_NAME}).get_json()
    assert events > 0 and body["charts"]["kpis"]["rows"][0][0] == events
    injected = client.get(f"{BASE}/data", query_string={"start": "2026-01-05", "end": "2026-01-14", "f_event_name": "x' or '1'='1"})
    assert injected.get_json()["charts"]["kpis"]["rows"][0][0] == 0


def test_an_empty_range_has_no_rows_and_zero_days(studio):
    client, _ = studio
    body = data(client, "start=2025-06-01&end=2025-06-03")

    assert body["charts"]["kpis"]["rows"] == [[0, 0, None]]
    assert body["charts"]["events_by_name"]["rows"] == [] and body["charts"]["event_attributes"]["rows"] == []
    assert [row[1:] for row in body["charts"]["events_over_time"]["rows"]] == [[0, 0]] * 3


def test_the_csv_export_has_the_charts_rows(studio):
    client, _ = studio
    body = data(client, RANGE)
    response = client.get(f"{BASE}/events_by_name.csv?{RANGE}")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="{APP_ID}-activity-events_by_name-2026-01-05-2026-01-14.csv"' in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert lines[0] == ["event_name", "events", "users"]
    rows = body["charts"]["events_by_name"]["rows"]
    assert FORMULA_NAME in [row[0] for row in rows], "the fixture has a formula-like event name in the range"
    # A spreadsheet shows a cell starting with ' as text: the formula is not run.
    assert lines[1:] == [["'" + str(value) if value == FORMULA_NAME else str(value) for value in row] for row in rows]


def test_the_page_carries_the_state_in_its_links(studio):
    client, _ = studio
    page = client.get(f"{BASE}?{RANGE}&f_platform=iOS&compare=1").get_data(as_text=True)

    assert f'data-data-url="{BASE}/data?start=2026-01-05&amp;end=2026-01-14&amp;f_platform=iOS&amp;compare=1"' in page
    assert f'href="{BASE}/events_by_name.csv?start=2026-01-05&amp;end=2026-01-14&amp;f_platform=iOS&amp;compare=1"' in page
    assert "<option selected>iOS</option>" in page


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-13-01&end=2026-01-02", "start"),
        ("start=2026-01-01&end=yesterday", "end"),
        ("start=2026-01-01", "end"),
        ("start=2026-01-05&end=2026-01-01", "end"),
        ("start=2024-01-01&end=2026-01-01", "end"),
        ("range=last365", "range"),
        ("range=last7&start=2026-01-01&end=2026-01-02", "range"),
        ("tz=Europe/Paris", "tz"),
        ("compare=yes", "compare"),
        ("f_country=FR", "f_country"),
        ("f_platform=Windows", "f_platform"),
        ("f_event_name=" + "x" * 300, "f_event_name"),
        ("range=last7&range=last30", "range"),
    ],
)
def test_each_bad_parameter_is_a_400_naming_its_field(studio, query, field):
    client, _ = studio
    for path in (f"{BASE}/data", f"{BASE}/kpis.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400 and response.get_json()["field"] == field, (path, response.get_data(as_text=True))
    page = client.get(f"{BASE}?{query}")
    assert page.status_code == 400 and f'data-field="{field}"' in page.get_data(as_text=True)


def test_presets_are_relative_to_today(studio):
    client, _ = studio
    body = data(client, "range=last30")

    assert body["range"]["days"] == 30 and date.fromisoformat(body["range"]["end"]) >= date(2026, 1, 1)
    assert data(client, "")["range"]["days"] == 7


@pytest.mark.parametrize("path", ["/studio/nope/activity", "/studio/nope/activity/data", f"/studio/{APP_ID}/nope", f"{BASE}/nope.csv"])
def test_unknown_apps_reports_and_charts_are_404(studio, path):
    client, _ = studio
    assert client.get(path).status_code == 404


def test_the_dashboards_menu_lists_the_apps_reports(studio):
    client, _ = studio
    page = client.get("/studio").get_data(as_text=True)

    assert f'href="{BASE}"' in page and 'href="/studio/shop_android/activity"' in page
    assert '<a href="/studio"' in client.get("/").get_data(as_text=True)


def test_without_a_warehouse_the_data_says_so(app, client):
    add_user(app, "reader@example.com", [Role.ANALYST_READER])
    sign_in(client, "reader@example.com")

    response = client.get(f"{BASE}/data")
    assert response.status_code == 503 and "no data published yet" in response.get_json()["error"]
    assert client.get(BASE).status_code == 200


def test_the_report_tabs_keep_the_range_and_only_the_filters_the_other_report_has(studio):
    client, _ = studio
    page = client.get(f"{BASE}?{RANGE}&tz=UTC&compare=1&f_platform=iOS&f_event_name=purchase&event=purchase").get_data(as_text=True)
    tabs = dict(re.findall(r'<a href="(/studio/shop_web/(\w+)[^"]*)"', page.split('class="report-tabs"')[1].split("</p>")[0]))
    by_report = {report: html.unescape(link) for link, report in tabs.items()}

    assert by_report["path"] == "/studio/shop_web/path?start=2026-01-05&end=2026-01-14&tz=UTC&compare=1&f_platform=iOS"
    assert by_report["activity"].endswith("&f_platform=iOS&f_event_name=purchase")
    for link in by_report.values():
        assert client.get(link).status_code == 200, link


def test_the_menu_marks_dashboards_on_every_report_page(studio):
    client, _ = studio
    for path in ("/studio", BASE, f"/studio/{APP_ID}/path"):
        page = client.get(path).get_data(as_text=True)
        sidebar = page.split('<nav class="sidebar"')[1].split("</nav>")[0]
        assert re.findall(r'<a href="([^"]+)" aria-current="page">', sidebar) == ["/studio"], path
