"""Report SQL written once in DuckDB's dialect becomes valid Redshift and Athena SQL, with the
placeholders each driver binds and every table in the app's schema."""

from __future__ import annotations

import pytest

from clickstream_console.studio.custom.seed import DEMO_REPORT
from clickstream_console.studio.registry import REPORTS
from clickstream_console.warehouse.dialects import checked_app_id, transpile
from clickstream_console.warehouse.query import QueryError, ReportQuery, SqlPosition
from tests.console.sent_sql import parsed_as_sent, tables_read

# Shapes the reports use: ranges by parameter, date buckets, distinct counts, windows, CTEs,
# LIKE patterns with %, the modulo operator, casts.
REPORT_SHAPES = [
    ReportQuery(
        "daily_active_users",
        "select event_date, count(distinct user_pseudo_id) as users from clickstream_event_view "
        "where event_date between :start_date and :end_date group by event_date order by event_date",
    ),
    ReportQuery(
        "hourly_events",
        "select date_trunc('hour', event_timestamp) as hour, count(*) as events from clickstream_event_view "
        "where event_name like 'page%' and event_date >= :start_date group by 1 order by 1",
    ),
    ReportQuery(
        "retention",
        "with first_seen as (select user_pseudo_id, min(event_date) as first_date from clickstream_event_view group by 1), "
        "returns as (select f.first_date, e.event_date - f.first_date as day_offset, count(distinct e.user_pseudo_id) as users "
        "from clickstream_event_view e join first_seen f using (user_pseudo_id) where f.first_date >= :start_date group by 1, 2) "
        "select *, users::double / max(users) over (partition by first_date) as share from returns where day_offset % 7 = 0",
    ),
    ReportQuery(
        "top_pages",
        "select page_title, count(*) as views, row_number() over (order by count(*) desc) as rank "
        "from clickstream_event_view where event_name = :event_name group by page_title limit 20",
    ),
    # Every query of Analytics Studio's reports.
    *(query for report in REPORTS.values() for query in (*(chart.query for chart in report.charts), report.freshness)),
    # The demo's custom report.
    *(chart.query for chart in DEMO_REPORT.report("demo").charts),
]


@pytest.mark.parametrize("query", REPORT_SHAPES, ids=lambda query: query.name)
@pytest.mark.parametrize("dialect", ["duckdb", "redshift", "athena"])
def test_every_report_shape_parses_in_every_dialect(query, dialect):
    views = tables_read(parsed_as_sent(query, dialect, literal="'2026-01-01'"))
    assert views and all(db == "shop" and name.startswith("clickstream_") for db, name in views)


def test_each_driver_gets_its_own_placeholders():
    query = ReportQuery("q", "select count(*) from clickstream_event_view where event_date >= :start_date and event_name like '%view'")

    assert "$start_date" in transpile(query, "duckdb", app_id="shop").sql
    assert ":start_date" in transpile(query, "redshift", app_id="shop").sql
    athena = transpile(query, "athena", app_id="shop").sql
    assert "%(start_date)s" in athena and "'%%view'" in athena
    assert athena % {"start_date": "DATE '2026-01-01'"} == athena.replace("%(start_date)s", "DATE '2026-01-01'").replace("%%", "%")


def test_parameter_names_are_listed_once_in_order_of_use():
    query = ReportQuery("q", "select * from clickstream_event_view where d between :start and :end or d = :start")

    assert transpile(query, "redshift", app_id="shop").parameter_names == ("start", "end")


def test_the_schema_is_quoted_and_ctes_are_not_qualified():
    query = ReportQuery("q", "with recent as (select * from clickstream_event_view) select * from recent")

    sql = transpile(query, "duckdb", app_id="Shop_2").sql

    assert 'FROM "Shop_2".clickstream_event_view' in sql and "FROM recent" in sql


def test_a_query_written_once_is_each_apps_and_each_dialects_own():
    """Transpiled queries are kept (parsing costs up to 30 ms a query): the text, the dialect and
    the app's schema are the key, and a refused query is refused every time."""
    query = ReportQuery("q", "select count(*) from clickstream_event_view where event_date = :day")

    first, again = transpile(query, "duckdb", app_id="shop"), transpile(ReportQuery("other name", query.sql), "duckdb", app_id="shop")
    other_app = transpile(query, "duckdb", app_id="blog").sql
    redshift = transpile(query, "redshift", app_id="shop").sql

    assert again is first and 'FROM "shop".clickstream_event_view' in first.sql and "$day" in first.sql
    assert 'FROM "blog".clickstream_event_view' in other_app and ":day" in redshift
    for _ in range(2):
        with pytest.raises(QueryError, match="outside the app's schema"):
            transpile(ReportQuery("q", "select * from blog.clickstream_event_view"), "duckdb", app_id="shop")


@pytest.mark.parametrize("app_id", ["shop;", 'a"b', "1shop", "", "select", "x" * 200])
def test_only_valid_app_ids_become_schemas(app_id):
    with pytest.raises(QueryError):
        checked_app_id(app_id)


@pytest.mark.parametrize(
    "sql",
    [
        "select 1; select 2",
        "select * from other_app.clickstream_event_view",
        "select * from db.shop.clickstream_event_view",
        "select * from clickstream_event_view where a = ?",
        "select * from clickstream_event_view where a = $1",
        "select * from clickstream_event_view where a = 'unterminated",
    ],
)
def test_queries_outside_the_rules_are_refused(sql):
    with pytest.raises(QueryError):
        transpile(ReportQuery("q", sql), "duckdb", app_id="shop")


def test_a_parse_error_carries_the_position_in_the_original_sql():
    with pytest.raises(QueryError) as raised:
        transpile(ReportQuery("q", "select a\nfrom t where a = = 1"), "redshift", app_id="shop")

    assert raised.value.position == SqlPosition(line=2, column=18)
    assert raised.value.sql == "select a\nfrom t where a = = 1"
