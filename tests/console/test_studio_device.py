"""Analytics Studio's Device report over HTTP on the tests' DuckDB warehouse: every chart equals
what SQL written here computes on the device view (the app versions on the event view), for the
range, the previous period and the filters (the platform through the user's first visit); filter
values with quotes stay data; bad parameters name their field; a chart's CSV has its rows."""

from __future__ import annotations

import csv
import io
from datetime import date

import duckdb
import pytest

from clickstream_project.published_warehouse import publish
from tests.console.studio_fixture import APP_ID, QUOTED_MODEL, report_data, signed_in_studio, sql

BASE = f"/studio/{APP_ID}/device"
RANGE = "start=2026-01-05&end=2026-01-14"
START, END = date(2026, 1, 5), date(2026, 1, 14)
BEFORE = (date(2025, 12, 26), date(2026, 1, 4))
# The device view with each user's platform, as the test reads it.
DEVICES = (
    "(select d.*, u.first_platform as platform, "
    "d.mobile_brand_name || ' ' || d.mobile_model_name as device_model, "
    "d.operating_system || ' ' || d.operating_system_version as os_version, "
    "d.ua_browser || ' ' || d.ua_browser_version as browser, "
    "d.screen_width || ' x ' || d.screen_height as screen_resolution, "
    "d.ua_device_category as device_category "
    "from clickstream_device_view as d left join clickstream_user_dim_view as u using (user_pseudo_id)) as d"
)
IN_RANGE = "d.event_date between ? and ?"


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    return signed_in_studio(tmp_path_factory.mktemp("studio-device"))


def data(client, query: str | dict) -> dict:
    return report_data(client, BASE, query)


def users_by(database, column: str, where: str = "", params: tuple = ()) -> list[tuple]:
    return sql(
        database,
        f"select coalesce({column}, '(not set)') as label, count(distinct user_pseudo_id) as users, sum(usage_num) "
        f"from {DEVICES} where {IN_RANGE} {where} group by 1 order by users desc, label",
        [START, END, *params],
    )


def test_kpis_equal_sql_for_the_range_and_the_previous_period(studio):
    client, database = studio
    body = data(client, f"{RANGE}&compare=1")
    kpis = f"select count(distinct user_pseudo_id), count(distinct device_id), sum(usage_num) from {DEVICES} where {IN_RANGE}"
    [(users, devices, events)] = sql(database, kpis, [START, END])
    [(before_users, before_devices, before_events)] = sql(database, kpis, list(BEFORE))

    chart = body["charts"]["kpis"]
    assert chart["columns"] == ["users", "devices", "events"]
    assert users > 0 and before_users > 0
    assert chart["rows"] == [[users, devices, events]]
    assert chart["previous"]["rows"] == [[before_users, before_devices, before_events]]


CHART_COLUMNS = [
    ("by_device_category", "device_category"),
    ("by_device_model", "device_model"),
    ("by_os_version", "os_version"),
    ("by_browser", "browser"),
    ("by_screen_resolution", "screen_resolution"),
]


@pytest.mark.parametrize(("chart", "column"), CHART_COLUMNS)
def test_users_by_each_device_dimension_equal_sql(studio, chart, column):
    client, database = studio
    rows = data(client, RANGE)["charts"][chart]["rows"]

    assert [tuple(row) for row in rows] == users_by(database, column)
    assert len(rows) > 1 and "(not set)" in [row[0] for row in rows]


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("f_platform=Android", "and platform = 'Android'"),
        ("f_operating_system=iOS", "and operating_system = 'iOS'"),
        ("f_platform=Web&f_device_category=mobile", "and platform = 'Web' and ua_device_category = 'mobile'"),
        ("f_brand=Google", "and mobile_brand_name = 'Google'"),
    ],
)
@pytest.mark.parametrize(("chart", "column"), CHART_COLUMNS)
def test_the_filters_apply_to_every_chart(studio, chart, column, query, where):
    client, database = studio
    expected = users_by(database, column, where)

    assert expected and [tuple(row) for row in data(client, f"{RANGE}&{query}")["charts"][chart]["rows"]] == expected


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("", ""),
        ("f_platform=iOS", "and e.platform = 'iOS'"),
        (
            "f_operating_system=Android&f_brand=Samsung",
            "and e.device_operating_system = 'Android' and e.device_mobile_brand_name = 'Samsung'",
        ),
    ],
)
def test_users_by_app_version_come_from_the_events_of_the_same_days(studio, query, where):
    client, database = studio
    expected = sql(
        database,
        "select app_info_version, count(distinct user_pseudo_id) as users, count(*) from clickstream_ods_event_view as e "
        f"where event_date between ? and ? {where} group by 1 order by users desc, 1",
        [START, END],
    )

    assert expected and [tuple(row) for row in data(client, f"{RANGE}&{query}")["charts"]["by_app_version"]["rows"]] == expected


def test_the_device_detail_lists_the_devices_with_the_most_events(studio):
    client, database = studio
    expected = sql(
        database,
        "select device_id, mobile_brand_name, mobile_model_name, operating_system, operating_system_version, ua_browser, "
        "coalesce(screen_resolution, '(not set)'), count(distinct user_pseudo_id), sum(usage_num) as events, max(event_date) "
        f"from {DEVICES} where {IN_RANGE} and platform = 'Android' group by all order by events desc, device_id",
        [START, END],
    )

    chart = data(client, f"{RANGE}&f_platform=Android")["charts"]["device_detail"]
    columns = chart["columns"]
    wanted = ["device_id", "mobile_brand_name", "mobile_model_name", "operating_system", "operating_system_version", "ua_browser"]
    wanted += ["screen_resolution", "users", "events", "last_seen"]
    rows = [tuple(row[columns.index(name)] for name in wanted) for row in chart["rows"]]
    assert expected and rows == [(*device[:-1], device[-1].isoformat()) for device in expected]


def test_filter_values_with_quotes_stay_data(studio):
    client, database = studio
    [(users,)] = sql(
        database,
        f"select count(distinct user_pseudo_id) from {DEVICES} where {IN_RANGE} and mobile_model_name = ?",
        [START, END, QUOTED_MODEL],
    )

    body = data(client, {"start": "2026-01-05", "end": "2026-01-14", "f_brand": "Google"})
    assert users > 0 and body["charts"]["by_device_model"]["rows"][0][:2] == [f"Google {QUOTED_MODEL}", users]
    injected = data(client, {"start": "2026-01-05", "end": "2026-01-14", "f_brand": "x' or '1'='1"})
    assert injected["charts"]["kpis"]["rows"] == [[0, 0, 0]] and injected["charts"]["by_app_version"]["rows"] == []


def test_an_empty_range_has_no_rows(studio):
    client, _ = studio
    body = data(client, "start=2025-06-01&end=2025-06-03")

    assert body["charts"]["kpis"]["rows"] == [[0, 0, 0]]
    assert all(body["charts"][name]["rows"] == [] for name in body["charts"] if name != "kpis")


def test_the_csv_export_has_the_charts_rows(studio):
    client, _ = studio
    rows = data(client, RANGE)["charts"]["by_device_model"]["rows"]
    response = client.get(f"{BASE}/by_device_model.csv?{RANGE}")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="{APP_ID}-device-by_device_model-2026-01-05-2026-01-14.csv"' in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert lines[0] == ["device_model", "users", "events"]
    assert lines[1:] == [[str(value) for value in row] for row in rows] and f"Google {QUOTED_MODEL}" in [line[0] for line in lines]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("f_app_version=1.0.0", "f_app_version"),
        ("f_country=France", "f_country"),
        ("f_platform=Linux", "f_platform"),
        ("f_brand=" + "x" * 300, "f_brand"),
        ("start=2026-01-01", "end"),
        ("range=last365", "range"),
    ],
)
def test_each_bad_parameter_is_a_400_naming_its_field(studio, query, field):
    client, _ = studio
    for path in (f"{BASE}/data", f"{BASE}/device_detail.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400 and response.get_json()["field"] == field, (path, response.get_data(as_text=True))
    page = client.get(f"{BASE}?{query}")
    assert page.status_code == 400 and f'data-field="{field}"' in page.get_data(as_text=True)


def test_a_screen_missing_its_width_or_its_height_is_one_not_set_row(tmp_path):
    """A device seen without a height one day and without a width the next has "(not set)" as its
    resolution both days: one row of the device detail, and one label of the resolution chart."""
    client, database = signed_in_studio(tmp_path)
    with duckdb.connect(str(database)) as connection:
        for day, width, height in ((START, 360, None), (END, None, 640)):
            connection.execute(
                f'insert into "{APP_ID}".clickstream_device_view '
                "(device_id, event_date, mobile_brand_name, screen_width, screen_height, operating_system, user_pseudo_id, usage_num) "
                "values ('dev-half', ?, 'Half', ?, ?, 'Android', 'u-half', 1000)",
                [day, width, height],
            )
    publish(database)

    body = data(client, RANGE)
    detail = body["charts"]["device_detail"]
    columns = detail["columns"]
    half = [row for row in detail["rows"] if row[columns.index("device_id")] == "dev-half"]
    assert [[row[columns.index(name)] for name in ("screen_resolution", "users", "events")] for row in half] == [["(not set)", 1, 2000]]
    assert [tuple(row) for row in body["charts"]["by_screen_resolution"]["rows"]] == users_by(database, "screen_resolution")
