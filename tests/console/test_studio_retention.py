"""Analytics Studio's Retention report over HTTP, on the tests' DuckDB warehouse: active users equal
distinct users counted here per day and trailing 7 and 30 days (including the days before the
range), the cohort and lifecycle charts equal their views for the range, with churn negative, and
the report takes no filter."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clickstream_console.identity.roles import Role
from tests.console.console_helpers import add_user, console_app, sign_in
from tests.console.studio_fixture import APP_ID, QUIET_DAY, report_data, signed_in_studio, sql, write_studio_project

BASE = f"/studio/{APP_ID}/retention"
# Late in the fixture's month: its WAU and MAU count users from the days before it.
RANGE = "start=2026-01-08&end=2026-01-17"
START, END = date(2026, 1, 8), date(2026, 1, 17)
# Distinct users per day of the range and in the 7 and 30 days ending on it, counted the plain way.
ACTIVE_USERS = """
with days as (select cast(range as date) as day from range(cast(? as date), cast(? as date) + 1, interval 1 day))
select
    day,
    count(distinct case when event_date = day then user_pseudo_id end),
    count(distinct case when event_date > day - 7 then user_pseudo_id end),
    count(distinct user_pseudo_id)
from days left join clickstream_ods_event_view on event_date between day - 29 and day
group by day
order by day
"""


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    return signed_in_studio(tmp_path_factory.mktemp("studio-retention"))


def data(client, query: str) -> dict:
    return report_data(client, BASE, query)


def percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@pytest.mark.parametrize(
    ("start", "end", "counts"),
    [
        # Around the quiet day; the comparison's period covers the month's first days.
        (date(2026, 1, 8), date(2026, 1, 17), 2),
        # After the last event (2026-01-20): users leave the WAU within 7 days, the MAU within 30.
        (date(2026, 1, 15), date(2026, 2, 20), 8),
    ],
)
def test_active_users_and_stickiness_equal_distinct_users_per_trailing_window(studio, start, end, counts):
    client, database = studio
    body = data(client, f"start={start}&end={end}&compare=1")
    expected = [
        [day.isoformat(), dau, wau, mau, percent(dau, wau), percent(wau, mau), percent(dau, mau)]
        for day, dau, wau, mau in sql(database, ACTIVE_USERS, [start, end])
    ]
    previous = sql(database, ACTIVE_USERS, [date.fromisoformat(body["previous"]["start"]), date.fromisoformat(body["previous"]["end"])])

    chart = body["charts"]["active_users"]
    assert chart["columns"][:4] == ["event_date", "daily_active_users", "weekly_active_users", "monthly_active_users"]
    assert chart["rows"] == expected and body["charts"]["stickiness"]["rows"] == expected
    assert [row[1:4] for row in chart["previous"]["rows"]] == [list(row[1:]) for row in previous]
    # The data moves the windows' counts (so a window a day too long or short shows).
    assert len({(wau, mau) for _, _, wau, mau, *_ in expected}) >= counts


def test_a_day_without_events_still_has_weekly_and_monthly_active_users(studio):
    client, _ = studio
    [quiet] = [row for row in data(client, RANGE)["charts"]["active_users"]["rows"] if row[0] == QUIET_DAY.isoformat()]

    assert quiet[1] == 0 and quiet[2] > 0 and quiet[3] >= quiet[2]


def test_kpis_summarise_the_days_of_the_range(studio):
    client, database = studio
    body = data(client, RANGE)
    days = sql(database, ACTIVE_USERS, [START, END])
    [(users,)] = sql(
        database, "select count(distinct user_pseudo_id) from clickstream_ods_event_view where event_date between ? and ?", [START, END]
    )

    def average(values: list[float]) -> float:
        return round(sum(values) / len(values), 1)

    assert body["charts"]["kpis"]["rows"] == [
        [
            users,
            average([dau for _, dau, _, _ in days]),
            average([wau for _, _, wau, _ in days]),
            average([mau for _, _, _, mau in days]),
            average([percent(dau, mau) for _, dau, _, mau in days]),
        ]
    ]


def test_the_cohort_heatmap_is_the_retention_view_for_first_days_in_the_range(studio):
    client, database = studio
    body = data(client, "start=2026-01-01&end=2026-01-07")
    expected = [
        [first.isoformat(), diff, returned, total, percent(returned, total)]
        for first, diff, returned, total in sql(
            database,
            "select first_date, day_diff, returned_user_count, total_users from clickstream_retention_view "
            "where first_date between ? and ? order by 2, 1",
            [date(2026, 1, 1), date(2026, 1, 7)],
        )
    ]

    chart = body["charts"]["cohorts"]
    assert chart["columns"] == ["first_date", "day_diff", "returned_user_count", "total_users", "retention_rate_percent"]
    assert len(expected) > 10 and chart["rows"] == expected
    # Day 0 is the whole cohort.
    assert {rate for _, diff, _, _, rate in chart["rows"] if diff == 0} == {100.0}


@pytest.mark.parametrize(("chart", "view", "stage"), [("lifecycle_daily", "daily", "day"), ("lifecycle_weekly", "weekly", "week")])
def test_lifecycle_stages_are_the_views_rows_with_churn_below_zero(studio, chart, view, stage):
    client, database = studio
    body = data(client, "start=2026-01-01&end=2026-01-20")
    expected = sql(
        database,
        f"select time_period, this_{stage}_value, user_count from clickstream_lifecycle_{view}_view "
        "where time_period between ? and ? order by 1, 2",
        [date(2026, 1, 1), date(2026, 1, 20)],
    )

    rows = body["charts"][chart]["rows"]
    assert rows == [[period.isoformat(), value, count] for period, value, count in expected]
    assert {value for _, value, _ in rows} == {"0-CHURN", "1-NEW", "2-ACTIVE", "3-RETURN"}
    assert all((count < 0) == (value == "0-CHURN") for _, value, count in rows)


def test_an_empty_range_has_no_rows(studio):
    client, _ = studio
    body = data(client, "start=2025-06-01&end=2025-06-03")

    assert body["charts"]["kpis"]["rows"] == [[0, 0, 0, 0, None]]
    assert [row[1:] for row in body["charts"]["active_users"]["rows"]] == [[0, 0, 0, None, None, None]] * 3
    assert all(body["charts"][name]["rows"] == [] for name in ("cohorts", "lifecycle_daily", "lifecycle_weekly"))


def test_the_csv_export_has_the_cohort_rows(studio):
    client, _ = studio
    rows = data(client, "start=2026-01-01&end=2026-01-03")["charts"]["cohorts"]["rows"]
    response = client.get(f"{BASE}/cohorts.csv?start=2026-01-01&end=2026-01-03")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert lines[0] == ["first_date", "day_diff", "returned_user_count", "total_users", "retention_rate_percent"]
    assert rows and lines[1:] == [[str(value) for value in row] for row in rows]


@pytest.mark.parametrize(
    ("query", "field"),
    [("f_platform=Web", "f_platform"), ("start=2026-01-01", "end"), ("range=last1000", "range"), ("tz=Asia/Tokyo", "tz")],
)
def test_each_bad_parameter_is_a_400_naming_its_field(studio, query, field):
    client, _ = studio
    for path in (f"{BASE}/data", f"{BASE}/cohorts.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400 and response.get_json()["field"] == field, (path, response.get_data(as_text=True))
    page = client.get(f"{BASE}?{query}")
    assert page.status_code == 400 and f'data-field="{field}"' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("America/New_York", date(2026, 1, 15)),
        # Ahead of UTC: its days start on the UTC date before.
        ("Asia/Tokyo", date(2026, 1, 31)),
        # Offsets of quarter hours (+5:45) and half hours (-3:30): the report counts users from
        # their quarter hours with an event (clickstream_user_active_quarter_hours).
        ("Asia/Kathmandu", date(2026, 1, 15)),
        ("America/St_Johns", date(2026, 1, 15)),
    ],
)
def test_active_users_count_the_days_of_the_apps_time_zone(tmp_path, zone, start):
    apps = [{"app_id": APP_ID, "name": "Shop Web", "platforms": ["Web"], "time_zone": zone}]
    app = console_app(write_studio_project(tmp_path, apps=apps))
    add_user(app, "analyst@example.com", [Role.ANALYST])
    client = app.test_client()
    sign_in(client, "analyst@example.com")
    end = date(2026, 2, 20)

    def active_days(zone: str) -> dict[str, set[date]]:
        """Each user's days with an event in ``zone``, from each event's timestamp in Python."""
        days: dict[str, set[date]] = {}
        for user, ms in sql(tmp_path / "studio.duckdb", "select user_pseudo_id, event_timestamp from clickstream_ods_event_view"):
            days.setdefault(user, set()).add(datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(ZoneInfo(zone)).date())
        return days

    def active(zone: str) -> list[list]:
        """DAU, WAU and MAU per day of the range in ``zone``."""
        days = active_days(zone)
        counts = []
        for day in (start + timedelta(days=offset) for offset in range((end - start).days + 1)):
            within = [
                sum(1 for seen in days.values() if any(0 <= (day - active).days < length for active in seen)) for length in (1, 7, 30)
            ]
            counts.append([day.isoformat(), *within])
        return counts

    body = data(client, f"start={start}&end={end}")
    assert body["range"]["tz"] == zone
    assert [row[:4] for row in body["charts"]["active_users"]["rows"]] == active(zone)
    assert body["charts"]["kpis"]["rows"][0][0] == sum(1 for seen in active_days(zone).values() if any(start <= day <= end for day in seen))
    # The zone moves users across the windows' edges: the data must show it, or this proves nothing.
    assert active(zone) != active("UTC")
