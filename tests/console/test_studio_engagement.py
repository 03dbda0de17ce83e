"""Analytics Studio's Engagement report over HTTP, on the tests' DuckDB warehouse: each chart's data
equals what SQL written here computes on the session and path views for the same range and
filters, the comparison runs the period before, a filter value with a quote stays data, and every
bad parameter names its field."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from clickstream_console.identity.roles import Role
from tests.console.console_helpers import add_user, console_app, sign_in
from tests.console.studio_fixture import APP_ID, QUIET_DAY, report_data, signed_in_studio, sql, write_studio_project

BASE = f"/studio/{APP_ID}/engagement"
RANGE = "start=2026-01-05&end=2026-01-14"
START, END = date(2026, 1, 5), date(2026, 1, 14)
PREVIOUS_START, PREVIOUS_END = date(2025, 12, 26), date(2026, 1, 4)
QUOTED_PAGE = "Men's shoes"
# The report's measures of a set of sessions, written again here.
MEASURES = (
    "count(*), sum(engaged_session), round(100.0 * sum(engaged_session) / count(*), 1), "
    "round(sum(session_engagement_time) / 1000.0 / count(*), 1), "
    "round(sum(session_engagement_time) / 1000.0 / count(distinct user_pseudo_id), 1), "
    "round(sum(session_views) / count(*), 2), round(100.0 * sum(bounced_session) / count(*), 1)"
)


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    return signed_in_studio(tmp_path_factory.mktemp("studio-engagement"))


def data(client, query: str | dict) -> dict:
    return report_data(client, BASE, query)


def test_kpis_equal_sql_for_the_range_and_the_previous_period(studio):
    client, database = studio
    body = data(client, f"{RANGE}&compare=1")
    kpis = f"select {MEASURES}, count(distinct user_pseudo_id) from clickstream_session_view where session_date between ? and ?"
    [current] = sql(database, kpis, [START, END])
    [previous] = sql(database, kpis, [PREVIOUS_START, PREVIOUS_END])

    chart = body["charts"]["kpis"]
    assert chart["columns"] == [
        "sessions",
        "engaged_sessions",
        "engagement_rate_percent",
        "engagement_seconds_per_session",
        "engagement_seconds_per_user",
        "views_per_session",
        "bounce_rate_percent",
        "users",
    ]
    assert chart["rows"] == [list(current)] and chart["previous"]["rows"] == [list(previous)]
    assert 0 < current[1] < current[0] and previous[0] > 0, "the fixture has engaged and bounced sessions in both periods"
    assert body["previous"]["start"] == "2025-12-26"


def test_the_daily_series_have_every_day_of_the_range(studio):
    client, database = studio
    body = data(client, f"{RANGE}&f_platform=Web")
    expected = {
        day.isoformat(): list(values)
        for day, *values in sql(
            database,
            f"select session_date, {MEASURES}, count(distinct user_pseudo_id) from clickstream_session_view "
            "where session_date between ? and ? and platform = 'Web' group by 1",
            [START, END],
        )
    }

    for name in ("sessions_over_time", "engagement_over_time"):
        rows = body["charts"][name]["rows"]
        assert [row[0] for row in rows] == [f"2026-01-{day:02d}" for day in range(5, 15)]
        assert {row[0]: row[1:] for row in rows if row[0] in expected} == expected
        assert [set(row[1:]) for row in rows if row[0] == QUIET_DAY.isoformat()] == [{0}]


def test_pages_by_views_count_the_view_events_of_the_filtered_sessions(studio):
    client, database = studio
    body = data(client, {"start": "2026-01-05", "end": "2026-01-14", "f_platform": "Android", "f_entry_view": QUOTED_PAGE})
    expected = sql(
        database,
        "select p.current_screen, count(*) as views, count(distinct p.user_pseudo_id), count(distinct p.session_id) "
        "from clickstream_path_view p join clickstream_session_view s using (user_pseudo_id, session_id) "
        "where p.event_date between ? and ? and p.event_name in ('_screen_view', '_page_view') "
        "and s.platform = 'Android' and s.entry_view = ? group by 1 order by views desc, 1",
        [START, END, QUOTED_PAGE],
    )

    assert expected and [tuple(row) for row in body["charts"]["pages_by_views"]["rows"]] == expected
    assert body["filters"] == {"platform": "Android", "entry_view": QUOTED_PAGE}


def test_landing_pages_rank_the_entry_views_by_engaged_sessions(studio):
    client, database = studio
    body = data(client, f"{RANGE}&f_exit_view=Cart")
    expected = sql(
        database,
        f"select entry_view, {MEASURES} from clickstream_session_view where session_date between ? and ? and exit_view = 'Cart' "
        "group by 1 order by 3 desc, 2 desc, 1",
        [START, END],
    )

    rows = body["charts"]["landing_pages"]["rows"]
    assert [tuple(row) for row in rows] == expected
    assert body["charts"]["landing_pages"]["columns"][:3] == ["entry_view", "sessions", "engaged_sessions"]


def test_a_filter_value_with_a_quote_stays_data(studio):
    client, database = studio
    [(sessions,)] = sql(
        database,
        "select count(*) from clickstream_session_view where session_date between ? and ? and exit_view = ?",
        [START, END, QUOTED_PAGE],
    )

    body = data(client, {"start": "2026-01-05", "end": "2026-01-14", "f_exit_view": QUOTED_PAGE})
    assert sessions > 0 and body["charts"]["kpis"]["rows"][0][0] == sessions
    injected = data(client, {"start": "2026-01-05", "end": "2026-01-14", "f_exit_view": "x' or '1'='1"})
    assert injected["charts"]["kpis"]["rows"][0][0] == 0


def test_an_empty_range_has_no_rows_and_zero_days(studio):
    client, _ = studio
    body = data(client, "start=2025-06-01&end=2025-06-03")

    assert body["charts"]["kpis"]["rows"] == [[0, 0, None, None, None, None, None, 0]]
    assert body["charts"]["pages_by_views"]["rows"] == [] and body["charts"]["landing_pages"]["rows"] == []
    assert [set(row[1:]) for row in body["charts"]["sessions_over_time"]["rows"]] == [{0}] * 3


def test_the_csv_export_has_the_charts_rows(studio):
    client, _ = studio
    rows = data(client, RANGE)["charts"]["pages_by_views"]["rows"]
    response = client.get(f"{BASE}/pages_by_views.csv?{RANGE}")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="{APP_ID}-engagement-pages_by_views-2026-01-05-2026-01-14.csv"' in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert lines[0] == ["page_or_screen", "views", "users", "sessions"]
    assert QUOTED_PAGE in [row[0] for row in rows]
    assert lines[1:] == [[str(value) for value in row] for row in rows]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("f_platform=Windows", "f_platform"),
        ("f_event_name=_page_view", "f_event_name"),
        ("f_entry_view=" + "x" * 300, "f_entry_view"),
        ("start=2026-01-05&end=2026-01-01", "end"),
        ("compare=2", "compare"),
    ],
)
def test_each_bad_parameter_is_a_400_naming_its_field(studio, query, field):
    client, _ = studio
    for path in (f"{BASE}/data", f"{BASE}/landing_pages.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400 and response.get_json()["field"] == field, (path, response.get_data(as_text=True))
    page = client.get(f"{BASE}?{query}")
    assert page.status_code == 400 and f'data-field="{field}"' in page.get_data(as_text=True)


def test_the_page_offers_the_filters_and_suggests_entry_views(studio):
    client, _ = studio
    page = client.get(f"{BASE}?{RANGE}").get_data(as_text=True)

    assert 'name="f_platform"' in page and 'list="values-entry_view"' in page and 'list="values-exit_view"' in page
    assert f'href="/studio/{APP_ID}/engagement?{RANGE}"' in page.replace("&amp;", "&")


def test_sessions_and_views_fall_on_the_days_of_the_apps_time_zone(tmp_path):
    zone = "Asia/Tokyo"
    apps = [{"app_id": APP_ID, "name": "Shop Web", "platforms": ["Web"], "time_zone": zone}]
    app = console_app(write_studio_project(tmp_path, apps=apps))
    add_user(app, "analyst@example.com", [Role.ANALYST])
    client = app.test_client()
    sign_in(client, "analyst@example.com")
    database = tmp_path / "studio.duckdb"

    def local(ms: int) -> date:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(ZoneInfo(zone)).date()

    starts = Counter(local(ms) for (ms,) in sql(database, "select session_start_timestamp from clickstream_session_view"))
    views = Counter(
        screen
        for screen, ms in sql(
            database,
            "select current_screen, event_timestamp from clickstream_path_view join clickstream_session_view using (user_pseudo_id, session_id) "
            "where event_name in ('_screen_view', '_page_view')",
        )
        if START <= local(ms) <= END
    )

    body = data(client, RANGE)
    assert body["range"]["tz"] == zone
    assert [row[:2] for row in body["charts"]["sessions_over_time"]["rows"]] == [
        [day.isoformat(), starts[day]] for day in (date.fromordinal(n) for n in range(START.toordinal(), END.toordinal() + 1))
    ]
    assert {row[0]: row[1] for row in body["charts"]["pages_by_views"]["rows"]} == dict(views)
    # The zone moves sessions across midnight: the data must show it, or this proves nothing.
    assert starts != Counter(day for (day,) in sql(database, "select session_date from clickstream_session_view"))
