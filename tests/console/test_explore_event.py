"""The event analysis (clickstream_console/explore/event.py) on a small hand-made data set: every
expected number is counted by hand from PURCHASES below. The SQL runs through the query layer on
DuckDB and is written for Redshift and Athena."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlglot
from explore_fixture import APP, Event, rows, warehouse

from clickstream_console.explore import event
from clickstream_console.explore.filters import BadSpec
from clickstream_console.warehouse.dialects import SQLGLOT_DIALECT, transpile

NOW = datetime(2026, 1, 20, 12, tzinfo=UTC)
RANGE = {"start": "2026-01-05", "end": "2026-01-06", "tz": "UTC"}
PURCHASE = [{"event": "purchase"}]
# Times in UTC; in Tokyo (UTC+9) p0 is at 01:00 on Monday 5 Jan, p5 at 08:30 on the 7th.
PURCHASES = [
    Event("p0", "purchase", "2026-01-04T16:00:00", "u1", user_id="ana", platform="Web", country="FR", value_usd=5, params={"price": "5"}),
    Event("p1", "purchase", "2026-01-05T10:00:00", "u1", user_id="ana", platform="Web", country="FR", value_usd=10, params={"price": "10"}),
    Event("p2", "purchase", "2026-01-05T12:00:00", "u1", user_id="ana", platform="Web", country="FR", value_usd=20, params={"price": "20"}),
    Event(
        "p3", "purchase", "2026-01-06T09:00:00", "u2", user_id="bob", platform="iOS", country="DE", value_usd=30, params={"price": "free"}
    ),
    Event("v1", "view", "2026-01-06T09:00:00", "u2", user_id="bob", platform="iOS", country="DE"),
    # u3 has no user_id: counted by its user_pseudo_id.
    Event("p5", "purchase", "2026-01-06T23:30:00", "u3", platform="Android", country="FR", value_usd=40, params={"price": "40"}),
    Event("p6", "purchase", "2026-01-07T01:00:00", "u3", platform="Android", country="FR", value_usd=50, params={"price": "50"}),
]


def run_event(**data) -> list[tuple]:
    tz = data.get("tz", "UTC")
    spec = event.parse(RANGE | data, NOW, tz)
    return rows(warehouse(PURCHASES, user_attributes=[("u1", "level", "3"), ("u2", "level", "1")]), event.build(spec))


@pytest.mark.parametrize(
    ("measure", "extra", "expected"),
    [
        # In the UTC range: p1, p2 (u1), p3 (u2), p5 (u3).
        ("total", {}, 4),
        ("unique_users", {}, 3),
        ("per_user", {}, pytest.approx(4 / 3)),
        ("sum", {"measure_property": "event_value_in_usd"}, 100.0),
        ("avg", {"measure_property": "event_value_in_usd"}, 25.0),
        # p3's price "free" is not a number: left out of the sum and the average.
        ("sum", {"measure_property": "event.price"}, 70.0),
        ("avg", {"measure_property": "event.price"}, pytest.approx(70 / 3)),
    ],
)
def test_each_measure_as_a_total(measure, extra, expected):
    assert run_event(events=PURCHASE, measure=measure, display="total", **extra) == [("purchase", expected)]


def test_over_time_by_day():
    # 5 Jan: p1, p2 (u1); 6 Jan: p3 (u2), p5 (u3).
    assert run_event(events=PURCHASE, measure="unique_users") == [(date(2026, 1, 5), "purchase", 1), (date(2026, 1, 6), "purchase", 2)]


def test_hours_in_the_selections_zone():
    # In Tokyo the range is 4 Jan 15:00 to 6 Jan 15:00 UTC: p0 (01:00 on the 5th local), p1 (19:00),
    # p2 (21:00), p3 (18:00 on the 6th); p5 is on the 7th there.
    assert run_event(events=PURCHASE, granularity="hour", tz="Asia/Tokyo") == [
        (datetime(2026, 1, 5, 1), "purchase", 1),
        (datetime(2026, 1, 5, 19), "purchase", 1),
        (datetime(2026, 1, 5, 21), "purchase", 1),
        (datetime(2026, 1, 6, 18), "purchase", 1),
    ]


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        # UTC, 4-6 Jan: p0 is on Sunday 4 Jan (week of 29 Dec); p1, p2, p3, p5 in the week of Monday 5 Jan.
        ("UTC", [(date(2025, 12, 29), "purchase", 1), (date(2026, 1, 5), "purchase", 4)]),
        # Tokyo, 4-6 Jan: p0 is on Monday 5 Jan there; p5 is on the 7th, after the range.
        ("Asia/Tokyo", [(date(2026, 1, 5), "purchase", 4)]),
    ],
)
def test_weeks_start_on_monday_in_the_selections_zone(tz, expected):
    assert run_event(events=PURCHASE, granularity="week", tz=tz, start="2026-01-04") == expected


def test_months():
    assert run_event(events=PURCHASE, granularity="month") == [(date(2026, 1, 1), "purchase", 4)]


def test_a_breakdown_keeps_the_top_values_by_the_measure_and_groups_the_rest():
    # Events by country: FR p1, p2, p5 (3), DE p3 (1). Top 1: FR; DE is "(other)".
    assert run_event(events=PURCHASE, display="total", breakdown={"property": "geo_country", "top": 1}) == [
        ("purchase", "(other)", 1),
        ("purchase", "FR", 3),
    ]
    # By users instead, over time: 5 Jan FR (u1); 6 Jan DE (u2) and FR (u3).
    assert run_event(events=PURCHASE, measure="unique_users", breakdown={"property": "geo_country", "top": 2}) == [
        (date(2026, 1, 5), "purchase", "FR", 1),
        (date(2026, 1, 6), "purchase", "DE", 1),
        (date(2026, 1, 6), "purchase", "FR", 1),
    ]


def test_each_event_has_its_filters_and_the_global_filters_apply_to_all():
    # In France: p1, p2, p5. The first selector keeps Web (p1, p2); the second, the same name,
    # all (labelled "purchase (2)"); views in France: none.
    events = [
        {"event": "purchase", "filters": [{"property": "platform", "operator": "eq", "value": "Web"}]},
        {"event": "purchase"},
        {"event": "view"},
    ]
    filters = [{"property": "geo_country", "operator": "eq", "value": "FR"}]
    assert run_event(events=events, display="total", filters=filters) == [("purchase", 2), ("purchase (2)", 3)]


def test_attribute_filters():
    # Event attribute: price above 15 (p2, p5; "free" is no number). User attribute: level 3 (u1: p1, p2).
    price = [{"event": "purchase", "filters": [{"property": "event.price", "operator": "gt", "value": 15}]}]
    assert run_event(events=price, display="total") == [("purchase", 2)]
    level = [{"property": "user.level", "operator": "eq", "value": "3"}]
    assert run_event(events=PURCHASE, display="total", filters=level) == [("purchase", 2)]


def test_the_drawing_follows_the_display():
    over_time = event.build(event.parse(RANGE | {"events": PURCHASE}, NOW, "UTC")).drawing
    assert (over_time.kind, over_time.x, over_time.periods, over_time.series) == ("line", "period", True, "event")
    total = event.build(event.parse(RANGE | {"events": PURCHASE, "display": "total"}, NOW, "UTC")).drawing
    assert (total.kind, total.x, total.periods) == ("bar", "event", False)


def test_a_spec_survives_saving():
    spec = event.parse(
        RANGE | {"events": PURCHASE * 2, "measure": "avg", "measure_property": "event.price", "display": "total", "granularity": "week"},
        NOW,
        "UTC",
    )
    assert event.parse(spec.to_json(), NOW, "UTC") == spec


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ([], "", "expected an object"),
        ({"events": "purchase"}, "events", "1 to 10 events"),
        ({"events": []}, "events", "1 to 10 events"),
        ({"events": PURCHASE * 11}, "events", "1 to 10 events"),
        ({"events": [3]}, "events[0]", "expected an object"),
        ({"events": [{"event": None}]}, "events[0].event", "expected an event name"),
        ({"events": PURCHASE, "filters": "platform"}, "filters", "expected a list"),
        (
            {"events": [{"event": "a", "filters": [{"property": "platform", "operator": "gt", "value": 1}]}]},
            "events[0].filters[0].operator",
            "numbers",
        ),
        ({"events": PURCHASE, "measure": "median"}, "measure", "not one of"),
        ({"events": PURCHASE, "measure": "sum"}, "measure_property", "expected a property name"),
        ({"events": PURCHASE, "measure": "sum", "measure_property": "platform"}, "measure_property", "not a number"),
        ({"events": PURCHASE, "measure": "avg", "measure_property": "user.level"}, "measure_property", "not a number"),
        ({"events": PURCHASE, "measure": "total", "measure_property": "event.price"}, "measure_property", "only sum and avg"),
        ({"events": PURCHASE, "display": "pie"}, "display", "not one of"),
        ({"events": PURCHASE, "colour": "red"}, "colour", "unknown field"),
        ({"events": PURCHASE, "breakdown": {"property": "platform", "top": 0}}, "breakdown.top", "whole number"),
    ],
)
def test_bad_event_analyses_name_the_field(data, field, words):
    with pytest.raises(BadSpec) as caught:
        event.parse(data if not isinstance(data, dict) else RANGE | data, NOW, "UTC")
    assert caught.value.field == field and words in caught.value.message


@pytest.mark.parametrize("dialect", ["redshift", "athena"])
@pytest.mark.parametrize("display", event.DISPLAYS)
def test_the_event_sql_is_written_for_the_cloud_warehouses(dialect, display):
    spec = event.parse(
        RANGE
        | {
            "events": [
                {"event": "purchase", "filters": [{"property": "event.price", "operator": "gt", "value": 5}]},
                {"event": "view", "filters": [{"property": "user.level", "operator": "in", "values": ["1", "2"]}]},
            ],
            "filters": [{"property": "geo_city", "operator": "contains", "value": "par"}],
            "breakdown": {"property": "event.campaign"},
            "measure": "sum",
            "measure_property": "event.price",
            "display": display,
            "granularity": "hour",
        },
        NOW,
        "UTC",
    )
    analysis = event.build(spec)
    written = transpile(analysis.query, dialect, app_id=APP)
    # What the driver sends parses in the warehouse's dialect (placeholders as the driver's).
    sqlglot.parse_one(
        written.sql.replace("%(", "__").replace(")s", "__") if dialect == "athena" else written.sql, read=SQLGLOT_DIALECT[dialect]
    )
    assert set(written.parameter_names) <= set(analysis.params)
