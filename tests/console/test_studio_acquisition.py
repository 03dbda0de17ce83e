"""Analytics Studio's Acquisition report over HTTP on the tests' DuckDB warehouse: every chart
equals what SQL written here computes on the one-row-per-user view (the report reads the
aggregated acquisition view for most charts, so this also checks the two agree), for the range,
the previous period and the filters; filter values with quotes stay data; the profile table is
the newest users capped; bad parameters name their field; a chart's CSV has its rows."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from clickstream_console.identity.roles import Role
from clickstream_console.studio.acquisition import PROFILES
from tests.console.console_helpers import add_user, console_app, sign_in
from tests.console.studio_fixture import APP_ID, QUIET_DAY, QUOTED_COUNTRY, sql, write_studio_project

BASE = f"/studio/{APP_ID}/acquisition"
RANGE = "start=2026-01-05&end=2026-01-14"
START, END = date(2026, 1, 5), date(2026, 1, 14)
BEFORE = (date(2025, 12, 26), date(2026, 1, 4))
IN_RANGE = "first_visit_date between ? and ?"


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    directory = tmp_path_factory.mktemp("studio-acquisition")
    app = console_app(write_studio_project(directory))
    add_user(app, "analyst@example.com", [Role.ANALYST])
    client = app.test_client()
    sign_in(client, "analyst@example.com")
    return client, directory / "studio.duckdb"


def data(client, query: str | dict) -> dict:
    response = client.get(f"{BASE}/data", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def new_users_by(database, column: str, where: str = "", params: tuple = (), period: tuple[date, date] = (START, END)) -> list[tuple]:
    return sql(
        database,
        f"select coalesce({column}, '(not set)') as label, count(*) as users from clickstream_user_dim_view "
        f"where {IN_RANGE} {where} group by 1 order by users desc, label",
        [*period, *params],
    )


def test_kpis_equal_sql_for_the_range_and_the_previous_period(studio):
    client, database = studio
    body = data(client, f"{RANGE}&compare=1")
    kpis = f"select count(*), count(*) filter (where is_registered = 'Registered') from clickstream_user_dim_view where {IN_RANGE}"
    [(users, registered)] = sql(database, kpis, [START, END])
    [(before_users, before_registered)] = sql(database, kpis, list(BEFORE))

    chart = body["charts"]["kpis"]
    assert chart["columns"] == ["new_users", "registered_users", "registered_percent"]
    assert users > registered > 0 and before_users > 0
    assert chart["rows"] == [[users, registered, round(100 * registered / users, 1)]]
    assert chart["previous"]["rows"][0][:2] == [before_users, before_registered]


def test_new_users_over_time_has_every_utc_day_of_both_periods(studio):
    client, database = studio
    body = data(client, f"{RANGE}&compare=1&f_platform=Web")
    daily = f"select first_visit_date, count(*) from clickstream_user_dim_view where {IN_RANGE} and first_platform = 'Web' group by 1"
    expected = {day.isoformat(): users for day, users in sql(database, daily, [START, END])}
    before = {day.isoformat(): users for day, users in sql(database, daily, list(BEFORE))}

    chart = body["charts"]["new_users_over_time"]
    assert [row[0] for row in chart["rows"]] == [f"2026-01-{day:02d}" for day in range(5, 15)]
    assert {day: users for day, users in chart["rows"] if users} == expected
    assert dict(chart["rows"])[QUIET_DAY.isoformat()] == 0
    assert len(chart["previous"]["rows"]) == 10 and {day: users for day, users in chart["previous"]["rows"] if users} == before


CHART_COLUMNS = [
    ("by_traffic_source", "first_traffic_source_source"),
    ("by_medium", "first_traffic_source_medium"),
    ("by_campaign", "first_traffic_source_name"),
    ("by_platform", "first_platform"),
    ("by_country", "first_visit_country"),
    ("by_device_language", "first_visit_device_language"),
    ("by_install_source", "first_visit_install_source"),
    ("by_registration", "is_registered"),
]


@pytest.mark.parametrize(("chart", "column"), CHART_COLUMNS)
def test_new_users_by_each_dimension_equal_sql(studio, chart, column):
    client, database = studio
    body = data(client, RANGE)

    rows = body["charts"][chart]["rows"]
    assert [tuple(row) for row in rows] == new_users_by(database, column)
    assert len(rows) > 1


@pytest.mark.parametrize(("chart", "column"), CHART_COLUMNS)
def test_the_filters_apply_to_every_chart(studio, chart, column):
    client, database = studio
    body = data(client, f"{RANGE}&f_platform=Android&f_traffic_source=google&f_medium=cpc&f_campaign=winter_sale")
    where = "and first_platform = 'Android' and first_traffic_source_source = 'google' and first_traffic_source_medium = 'cpc'"
    expected = new_users_by(database, column, where + " and first_traffic_source_name = 'winter_sale'")

    assert expected and [tuple(row) for row in body["charts"][chart]["rows"]] == expected


def test_new_users_by_city_keep_the_country(studio):
    client, database = studio
    body = data(client, f"{RANGE}&f_platform=iOS")
    expected = sql(
        database,
        "select coalesce(first_visit_city, '(not set)') as city, coalesce(first_visit_country, '(not set)') as country, count(*) as users "
        f"from clickstream_user_dim_view where {IN_RANGE} and first_platform = 'iOS' group by 1, 2 order by users desc, city, country",
        [START, END],
    )

    chart = body["charts"]["by_city"]
    assert chart["columns"] == ["city", "country", "new_users"] and [tuple(row) for row in chart["rows"]] == expected


def test_filter_values_with_quotes_stay_data(studio):
    client, database = studio
    [(users,)] = sql(
        database,
        f"select count(*) from clickstream_user_dim_view where {IN_RANGE} and first_visit_country = ? and first_traffic_source_name = ?",
        [START, END, QUOTED_COUNTRY, "it's new"],
    )

    body = data(client, {"start": "2026-01-05", "end": "2026-01-14", "f_country": QUOTED_COUNTRY, "f_campaign": "it's new"})
    assert users > 0 and body["charts"]["kpis"]["rows"][0][0] == users
    assert body["charts"]["by_country"]["rows"] == [[QUOTED_COUNTRY, users]]
    injected = data(client, {"start": "2026-01-05", "end": "2026-01-14", "f_country": "x' or '1'='1"})
    assert injected["charts"]["kpis"]["rows"][0][0] == 0 and injected["charts"]["by_country"]["rows"] == []


def test_the_profiles_are_the_newest_users_with_their_attributes(studio):
    client, database = studio
    wide = ("2025-12-01", "2026-01-31")
    body = data(client, {"start": wide[0], "end": wide[1]})
    [(users,)] = sql(database, f"select count(*) from clickstream_user_dim_view where {IN_RANGE}", list(wide))
    expected = sql(
        database,
        "with newest as (select * from clickstream_user_dim_view where first_visit_date between ? and ? "
        f"order by first_visit_date desc, user_pseudo_id limit {PROFILES}) "
        "select n.user_pseudo_id, n.user_id, n.first_visit_date, n.first_platform, n.first_visit_country, n.first_visit_city, "
        "n.first_visit_device_language, n.first_visit_install_source, n.first_traffic_source_source, n.first_traffic_source_medium, "
        "n.first_traffic_source_name, n.is_registered, a.custom_attr_key, a.custom_attr_value "
        "from newest as n left join clickstream_user_attr_view as a using (user_pseudo_id) "
        "order by n.first_visit_date desc, n.user_pseudo_id, a.custom_attr_key",
        list(wide),
    )

    chart = body["charts"]["user_profiles"]
    assert chart["columns"][-2:] == ["custom_attr_key", "custom_attr_value"]
    assert users > PROFILES and len({row[0] for row in chart["rows"]}) == PROFILES
    assert chart["rows"] == [[*row[:2], row[2].isoformat(), *row[3:]] for row in expected]
    assert ["favourite", "rock 'n' roll"] in [row[-2:] for row in chart["rows"]]
    assert [None, None] in [row[-2:] for row in chart["rows"]], "a user without attributes is still listed"


def test_the_profiles_follow_the_filters(studio):
    client, database = studio
    expected = sql(
        database,
        f"select user_pseudo_id from clickstream_user_dim_view where {IN_RANGE} and first_visit_country = 'France' "
        "and first_platform = 'Web' order by first_visit_date desc, user_pseudo_id",
        [START, END],
    )

    rows = data(client, f"{RANGE}&f_country=France&f_platform=Web")["charts"]["user_profiles"]["rows"]
    assert expected and list(dict.fromkeys(row[0] for row in rows)) == [user for (user,) in expected]


def test_an_empty_range_has_no_rows_and_zero_days(studio):
    client, _ = studio
    body = data(client, "start=2025-06-01&end=2025-06-03")

    assert body["charts"]["kpis"]["rows"] == [[0, 0, None]]
    assert body["charts"]["new_users_over_time"]["rows"] == [["2025-06-01", 0], ["2025-06-02", 0], ["2025-06-03", 0]]
    assert all(body["charts"][name]["rows"] == [] for name in body["charts"] if name not in ("kpis", "new_users_over_time"))


def test_the_csv_export_has_the_charts_rows(studio):
    client, _ = studio
    rows = data(client, RANGE)["charts"]["by_campaign"]["rows"]
    response = client.get(f"{BASE}/by_campaign.csv?{RANGE}")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="{APP_ID}-acquisition-by_campaign-2026-01-05-2026-01-14.csv"' in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert lines[0] == ["campaign", "new_users"] and ["it's new"] in [line[:1] for line in lines]
    assert lines[1:] == [[str(value) for value in row] for row in rows]


def test_the_page_offers_the_reports_filters_and_charts(studio):
    client, _ = studio
    page = client.get(f"{BASE}?{RANGE}&f_platform=iOS").get_data(as_text=True)

    assert "<option selected>iOS</option>" in page
    for name in ("country", "traffic_source", "medium", "campaign"):
        assert f'name="f_{name}"' in page and f'list="values-{name}"' in page
    assert 'data-chart="by_platform" data-kind="pie" data-x="platform" data-y="new_users"' in page
    assert 'data-chart="user_profiles" data-kind="table"' in page


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("f_city=Paris", "f_city"),
        ("f_event_name=purchase", "f_event_name"),
        ("f_platform=Windows", "f_platform"),
        ("f_campaign=" + "x" * 300, "f_campaign"),
        ("start=2026-01-05&end=2026-01-01", "end"),
        ("compare=2", "compare"),
    ],
)
def test_each_bad_parameter_is_a_400_naming_its_field(studio, query, field):
    client, _ = studio
    for path in (f"{BASE}/data", f"{BASE}/by_platform.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400 and response.get_json()["field"] == field, (path, response.get_data(as_text=True))
    page = client.get(f"{BASE}?{query}")
    assert page.status_code == 400 and f'data-field="{field}"' in page.get_data(as_text=True)
