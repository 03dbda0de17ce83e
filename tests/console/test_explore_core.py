"""The Explore core (clickstream_console/explore/): filters, properties, breakdowns and the shared
frame are checked with the wrong field named, every value is a bound parameter, and the SQL they
write runs on DuckDB with the expected rows and is written for Redshift and Athena."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pytest
import sqlglot

from clickstream_console.explore.breakdown import NONE, OTHER, breakdown_value_sql, label_sql, parse_breakdown, top_values_sql
from clickstream_console.explore.filters import BadSpec, condition_sql, parse_filters
from clickstream_console.explore.spec import event_condition_sql, frame_condition_sql, parse_event, parse_frame
from clickstream_console.explore.sql_params import SqlParams
from clickstream_console.explore.timeline import period_sql
from clickstream_console.warehouse.dialects import SQLGLOT_DIALECT, transpile
from clickstream_console.warehouse.query import ReportQuery

NOW = datetime(2026, 1, 20, 12, tzinfo=UTC)
APP = "shop_web"
# (event_id, event_name, event_date, event_timestamp, user, platform, country, screen width)
EVENTS = [
    ("e1", "add_to_cart", date(2026, 1, 5), 1_767_571_200_000, "u1", "Web", "France", 1280),
    ("e2", "add_to_cart", date(2026, 1, 5), 1_767_574_800_000, "u2", "iOS", "Côte d'Ivoire", 390),
    ("e3", "purchase", date(2026, 1, 6), 1_767_657_600_000, "u1", "Web", None, 1280),
    ("e4", "add_to_cart", date(2026, 1, 7), 1_767_744_000_000, "u3", "Android", "France", None),
]
# (event_id, event_date, key, value)
ATTRIBUTES = [
    ("e1", date(2026, 1, 5), "category", "Books"),
    ("e1", date(2026, 1, 5), "price", "9.5"),
    ("e2", date(2026, 1, 5), "category", "games"),
    ("e2", date(2026, 1, 5), "price", "free"),
    ("e4", date(2026, 1, 7), "price", "20"),
]
USER_ATTRIBUTES = [("u1", "level", "3"), ("u3", "level", "7")]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("explore") / "w.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(f'create schema "{APP}"')
        connection.execute(
            f'create table "{APP}".clickstream_ods_event_view (event_id varchar, event_name varchar, event_date date, '
            "event_timestamp bigint, user_pseudo_id varchar, platform varchar, geo_country varchar, device_screen_width bigint)"
        )
        connection.executemany(f'insert into "{APP}".clickstream_ods_event_view values (?, ?, ?, ?, ?, ?, ?, ?)', EVENTS)
        connection.execute(
            f'create table "{APP}".clickstream_ods_event_attributes_view (event_id varchar, event_date date, '
            "event_parameter_key varchar, event_parameter_value varchar)"
        )
        connection.executemany(f'insert into "{APP}".clickstream_ods_event_attributes_view values (?, ?, ?, ?)', ATTRIBUTES)
        connection.execute(
            f'create table "{APP}".clickstream_user_attr_view (user_pseudo_id varchar, custom_attr_key varchar, custom_attr_value varchar)'
        )
        connection.executemany(f'insert into "{APP}".clickstream_user_attr_view values (?, ?, ?)', USER_ATTRIBUTES)
    return path


def matching(warehouse, filters: list[dict]) -> list[str]:
    """The event ids ``filters`` keep, run through the query layer as a report would."""
    params = SqlParams()
    sql = f"select e.event_id from clickstream_ods_event_view as e where {condition_sql(parse_filters(filters, 'filters'), 'e', params)} order by 1"
    return [row[0] for row in run(warehouse, sql, params.values)]


def run(warehouse, sql: str, values: dict) -> list[tuple]:
    transpiled = transpile(ReportQuery("t", sql), "duckdb", app_id=APP)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(transpiled.sql, transpiled.bind(values)).fetchall()


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([{"property": "platform", "operator": "eq", "value": "Web"}], ["e1", "e3"]),
        # ≠ keeps the events without the property.
        ([{"property": "geo_country", "operator": "neq", "value": "France"}], ["e2", "e3"]),
        ([{"property": "geo_country", "operator": "contains", "value": "IVOIRE"}], ["e2"]),
        ([{"property": "geo_country", "operator": "in", "values": ["Côte d'Ivoire", "France"]}], ["e1", "e2", "e4"]),
        ([{"property": "device_screen_width", "operator": "gt", "value": 400}], ["e1", "e3"]),
        ([{"property": "device_screen_width", "operator": "lt", "value": "400"}], ["e2"]),
        ([{"property": "geo_country", "operator": "is_set"}], ["e1", "e2", "e4"]),
        ([{"property": "geo_country", "operator": "is_not_set"}], ["e3"]),
        ([{"property": "event.category", "operator": "eq", "value": "Books"}], ["e1"]),
        ([{"property": "event.category", "operator": "contains", "value": "O"}], ["e1"]),
        # An attribute that is not a number ("free") matches no numeric comparison.
        ([{"property": "event.price", "operator": "gt", "value": 5}], ["e1", "e4"]),
        ([{"property": "event.price", "operator": "lt", "value": 100}], ["e1", "e4"]),
        ([{"property": "event.category", "operator": "is_not_set"}], ["e3", "e4"]),
        ([{"property": "user.level", "operator": "gt", "value": 5}], ["e4"]),
        ([{"property": "user.level", "operator": "is_set"}], ["e1", "e3", "e4"]),
        ([{"property": "platform", "operator": "eq", "value": "Web"}, {"property": "event.price", "operator": "is_set"}], ["e1"]),
        ([], ["e1", "e2", "e3", "e4"]),
    ],
)
def test_each_operator_keeps_the_events_it_says(warehouse, filters, expected):
    assert matching(warehouse, filters) == expected


def test_values_are_bound_never_written_into_the_sql():
    params = SqlParams()
    sql = condition_sql(parse_filters([{"property": "geo_country", "operator": "eq", "value": "x'; drop table y --"}], "f"), "e", params)
    assert "drop" not in sql and list(params.values.values()) == ["x'; drop table y --"]


@pytest.mark.parametrize(
    ("filters", "field", "words"),
    [
        ("platform", "filters", "expected a list"),
        ([{"property": "nope", "operator": "eq", "value": "x"}], "filters[0].property", "is not a property"),
        ([{"property": "event.bad key", "operator": "eq", "value": "x"}], "filters[0].property", "attribute key"),
        ([{"property": "platform", "operator": "like", "value": "x"}], "filters[0].operator", "is not one of"),
        ([{"property": "platform", "operator": "gt", "value": 3}], "filters[0].operator", "compares numbers"),
        ([{"property": "device_screen_width", "operator": "contains", "value": "3"}], "filters[0].operator", "compares text"),
        ([{"property": "platform", "operator": "eq"}], "filters[0].value", "missing"),
        ([{"property": "platform", "operator": "eq", "value": 3}], "filters[0].value", "expected text"),
        ([{"property": "platform", "operator": "eq", "value": "x" * 257}], "filters[0].value", "longer than 256"),
        ([{"property": "device_screen_width", "operator": "eq", "value": "wide"}], "filters[0].value", "expected a number"),
        ([{"property": "device_screen_width", "operator": "eq", "value": True}], "filters[0].value", "expected a number"),
        ([{"property": "event.price", "operator": "gt", "value": "nan"}], "filters[0].value", "finite"),
        ([{"property": "platform", "operator": "in", "values": []}], "filters[0].values", "1 or more"),
        ([{"property": "platform", "operator": "in", "values": ["x"] * 101}], "filters[0].values", "at most 100"),
        ([{"property": "platform", "operator": "in", "value": "x"}], "filters[0].value", "give values"),
        ([{"property": "platform", "operator": "is_set", "value": "x"}], "filters[0]", "takes no value"),
        ([{"property": "platform", "operator": "eq", "value": "x", "extra": 1}], "filters[0]", "unknown field extra"),
        ([{"property": "platform", "operator": "is_set"}] * 21, "filters", "at most 20"),
    ],
)
def test_bad_filters_name_the_field(filters, field, words):
    with pytest.raises(BadSpec) as caught:
        parse_filters(filters, "filters")
    assert caught.value.field == field and words in caught.value.message


def test_a_breakdown_keeps_the_top_values_and_groups_the_rest(warehouse):
    breakdown = parse_breakdown({"property": "geo_country", "top": 1}, "breakdown")
    params = SqlParams()
    sql = f"""
with valued as (select {breakdown_value_sql(breakdown, "e", params)} as value, e.user_pseudo_id from clickstream_ods_event_view as e),
top_values as ({top_values_sql(breakdown, "valued", "value", "count(distinct user_pseudo_id)")})
select {label_sql(breakdown, "value", "top_values", params)} as label, count(*) from valued group by 1 order by 1"""
    # France has two users; the others (Côte d'Ivoire, no country) are "other".
    assert run(warehouse, sql, params.values) == [(OTHER, 2), ("France", 2)]
    assert NONE in params.values.values()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"property": "geo_country", "top": 0}, "breakdown.top"),
        ({"property": "geo_country", "top": "5"}, "breakdown.top"),
        ({"top": 5}, "breakdown.property"),
        ("x", "breakdown"),
    ],
)
def test_bad_breakdowns_name_the_field(data, field):
    with pytest.raises(BadSpec) as caught:
        parse_breakdown(data, "breakdown")
    assert caught.value.field == field


def test_the_frame_keeps_a_preset_and_runs_in_the_zone(warehouse):
    frame = parse_frame({"range": "last30", "tz": "Asia/Kolkata", "granularity": "week"}, NOW, "Asia/Kolkata")
    assert (frame.start, frame.end, frame.range_preset) == (date(2025, 12, 22), date(2026, 1, 20), "last30")
    assert parse_frame(frame.to_json(), NOW, "Asia/Kolkata") == frame
    fixed = parse_frame({"start": "2026-01-05", "end": "2026-01-06", "tz": "UTC"}, NOW, "Asia/Kolkata")
    assert fixed.range_preset is None and parse_frame(fixed.to_json(), NOW, "Asia/Kolkata") == fixed
    params = SqlParams()
    event = parse_event({"event": "add_to_cart", "filters": [{"property": "platform", "operator": "neq", "value": "iOS"}]}, "steps[0]")
    sql = (
        f"select e.event_id, {period_sql('week', 'e')}, {period_sql('hour', 'e')} from clickstream_ods_event_view as e"
        f" where {frame_condition_sql(fixed, 'e', params)} and {event_condition_sql(event, 'e', params)}"
    )
    # e4 (7 Jan) is outside the range; e2 is iOS. Monday 5 Jan 2026 starts the week.
    assert run(warehouse, sql, fixed.range_parameters() | params.values) == [("e1", date(2026, 1, 5), datetime(2026, 1, 5, 0, 0))]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"range": "last30", "start": "2026-01-01"}, "range"),
        ({"start": 20260101, "end": "2026-01-02"}, "start"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"granularity": "minute"}, "granularity"),
        ({"filters": {"property": "platform"}}, "filters"),
    ],
)
def test_bad_frames_name_the_field(data, field):
    with pytest.raises(BadSpec) as caught:
        parse_frame(data, NOW, "UTC")
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("data", "field"), [({"filters": []}, "steps[0].event"), ({"event": "x" * 101}, "steps[0].event"), ({"event": "a", "n": 1}, "steps[0]")]
)
def test_bad_events_name_the_field(data, field):
    with pytest.raises(BadSpec) as caught:
        parse_event(data, "steps[0]")
    assert caught.value.field == field


@pytest.mark.parametrize("dialect", ["redshift", "athena"])
def test_the_core_sql_is_written_for_the_cloud_warehouses(dialect):
    frame = parse_frame(
        {
            "range": "last7",
            "granularity": "hour",
            "filters": [
                {"property": "event.price", "operator": "gt", "value": 5},
                {"property": "user.level", "operator": "in", "values": ["1", "2"]},
                {"property": "geo_city", "operator": "contains", "value": "par"},
            ],
            "breakdown": {"property": "event.category"},
        },
        NOW,
        "UTC",
    )
    params = SqlParams()
    sql = (
        f"select {period_sql(frame.granularity, 'e')} as period, {breakdown_value_sql(frame.breakdown, 'e', params)} as value, count(*)"
        f" from clickstream_ods_event_view as e where {frame_condition_sql(frame, 'e', params)} group by 1, 2"
    )
    written = transpile(ReportQuery("t", sql), dialect, app_id=APP)
    # What the driver sends parses in the warehouse's dialect (placeholders as the driver's).
    sqlglot.parse_one(
        written.sql.replace("%(", "__").replace(")s", "__") if dialect == "athena" else written.sql, read=SQLGLOT_DIALECT[dialect]
    )
    assert set(written.parameter_names) == set(params.values) | {"scan_start", "scan_end", "tz", "start_date", "end_date"}
