"""Explore's retention analysis (clickstream_console/explore/retention.py) on the hand-made events
of explore_paths_fixture (its docstring lists users r1..r8, their sign_up start events and open_app
return events): every expected number is worked out by hand in a comment."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlglot

from clickstream_console.explore import retention
from clickstream_console.explore.filters import BadSpec
from clickstream_console.warehouse.dialects import SQLGLOT_DIALECT, transpile
from tests.console.explore_paths_fixture import APP, create_warehouse, run

NOW = datetime(2026, 1, 25, 12, tzinfo=UTC)
DAYS = {"start": "2026-01-05", "end": "2026-01-18", "tz": "UTC"}
EVENTS = {"start_event": {"event": "sign_up"}, "return_event": {"event": "open_app"}}
JAN_5, JAN_6, JAN_7 = date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    return create_warehouse(tmp_path_factory.mktemp("explore_retention") / "w.duckdb")


def analysed(warehouse, **options) -> tuple[list[tuple], list[tuple]]:
    """The cohort table's rows and the curve's."""
    analysis = retention.build(retention.parse(EVENTS | options, NOW, "UTC"))
    curve, _drawing = analysis.extra["curve"]
    return run(warehouse, analysis.query, analysis.params), run(warehouse, curve, analysis.params)


def retained(rows: list[tuple]) -> dict[tuple, int]:
    """(cohort, k) -> retained users of the table's rows."""
    return {(cohort, k): users for cohort, _label, _size, k, users, _rate, _partial in rows}


# Day cohorts of 5-18 Jan (first sign_up in the range, by time):
#   5 Jan: r1 and r2 (r2 has no user_id; its sign_up at 23:59:59.999 is after its open_app at 23:00)
#   6 Jan: r3 (two sign_ups in one millisecond) and r7 (its 4 Jan sign_up is before the range)
#   7 Jan: r4 (its sign_up of 9 Jan has the smaller event id: time decides)
#   18 Jan: r5 (23:30, the range's last hour; its open_app after midnight is outside the range)
# Returns after the cohort's day: r1 on days 1, 3 (and 9); r2 on day 2; r3 on day 3 (its open_app in
# the sign_up's millisecond is day 0, no return); r7 on day 1; r4 on day 1 (20 Jan is outside).
def test_day_cohorts_counted_on_the_period(warehouse):
    table, curve = analysed(warehouse, **DAYS, period="day", periods=3)
    assert table == [
        (JAN_5, None, 2, 0, 2, 100.0, False),
        (JAN_5, None, 2, 1, 1, 50.0, False),
        (JAN_5, None, 2, 2, 1, 50.0, False),
        (JAN_5, None, 2, 3, 1, 50.0, False),
        (JAN_6, None, 2, 0, 2, 100.0, False),
        (JAN_6, None, 2, 1, 1, 50.0, False),
        (JAN_6, None, 2, 2, 0, 0.0, False),
        (JAN_6, None, 2, 3, 1, 50.0, False),
        (JAN_7, None, 1, 0, 1, 100.0, False),
        (JAN_7, None, 1, 1, 1, 100.0, False),
        (JAN_7, None, 1, 2, 0, 0.0, False),
        (JAN_7, None, 1, 3, 0, 0.0, False),
        # The 18 Jan cohort has reached its day 0 only.
        (date(2026, 1, 18), None, 1, 0, 1, 100.0, False),
    ]
    # Day 0: all 6 users; days 1-3 over the 5 users of the cohorts that reached them: 3, 1 and 2 returned.
    assert curve == [
        (None, 0, 6, 6, 100.0, False),
        (None, 1, 5, 3, 60.0, False),
        (None, 2, 5, 1, 20.0, False),
        (None, 3, 5, 2, 40.0, False),
    ]


def test_on_or_after_counts_a_later_return_in_every_period_before_it(warehouse):
    table, _curve = analysed(warehouse, **DAYS, period="day", periods=3, counting="on_or_after")
    # 5 Jan: r1 (last return day 9) counts on days 1-3, r2 (day 2) on 1-2. 6 Jan: r3 (day 3) on 1-3,
    # r7 (day 1) on 1. 7 Jan: r4 (day 1) on 1.
    assert retained(table) == {
        (JAN_5, 0): 2, (JAN_5, 1): 2, (JAN_5, 2): 2, (JAN_5, 3): 1,
        (JAN_6, 0): 2, (JAN_6, 1): 2, (JAN_6, 2): 1, (JAN_6, 3): 1,
        (JAN_7, 0): 1, (JAN_7, 1): 1, (JAN_7, 2): 0, (JAN_7, 3): 0,
        (date(2026, 1, 18), 0): 1,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("counting", "retained_by_k"),
    [
        # Week of 5 Jan (r1, r2, r3, r4, r7): r1 returns in week 1 (14 Jan), r4 in week 2 (20 Jan).
        ("on", (1, 1)),
        # r4's week-2 return counts in week 1 too.
        ("on_or_after", (2, 1)),
    ],
)
def test_week_cohorts_start_on_monday_and_the_last_week_is_partial(warehouse, counting, retained_by_k):
    table, curve = analysed(warehouse, start="2026-01-05", end="2026-01-21", tz="UTC", period="week", periods=2, counting=counting)
    week_1, week_2 = retained_by_k
    assert table == [
        (JAN_5, None, 5, 0, 5, 100.0, False),
        (JAN_5, None, 5, 1, week_1, week_1 * 20.0, False),
        # The week of 19 Jan goes on after the range's Wednesday 21 Jan.
        (JAN_5, None, 5, 2, week_2, week_2 * 20.0, True),
        # r5 (Sunday 18 Jan, 23:30) is the week of 12 Jan; it returns on Monday 19 Jan, 00:10.
        (date(2026, 1, 12), None, 1, 0, 1, 100.0, False),
        (date(2026, 1, 12), None, 1, 1, 1, 100.0, True),
    ]
    if counting == "on":
        # Week 1: both cohorts (6 users), r1 and r5 returned; week 2: the first cohort only.
        assert curve == [(None, 0, 6, 6, 100.0, False), (None, 1, 6, 2, 33.33, True), (None, 2, 5, 1, 20.0, True)]


def test_month_cohorts(warehouse):
    table, _curve = analysed(warehouse, start="2025-12-01", end="2026-01-21", tz="UTC", period="month", periods=2)
    assert table == [
        # r8 signed up on 15 Dec and returned on 10 Jan: month 1, which goes on after 21 Jan.
        (date(2025, 12, 1), None, 1, 0, 1, 100.0, False),
        (date(2025, 12, 1), None, 1, 1, 1, 100.0, True),
        # January: r1, r2, r3, r4, r5 and r7 (4 Jan is in this range); the month itself is not over.
        (date(2026, 1, 1), None, 6, 0, 6, 100.0, True),
    ]


def test_breakdown_on_the_first_start_event(warehouse):
    table, curve = analysed(warehouse, **DAYS, period="day", periods=1, breakdown={"property": "event.plan", "top": 2})
    # First sign_ups' plans: r1 pro, r2 free, r3 pro (r3a, the smaller id of the same millisecond),
    # r4 free (by time), r7 free (its first in the range), r5 none. Top 2 by users: free (3), pro (2);
    # r5's "(none)" is "(other)".
    assert table == [
        (JAN_5, "free", 1, 0, 1, 100.0, False),
        (JAN_5, "free", 1, 1, 0, 0.0, False),
        (JAN_5, "pro", 1, 0, 1, 100.0, False),
        (JAN_5, "pro", 1, 1, 1, 100.0, False),
        (JAN_6, "free", 1, 0, 1, 100.0, False),
        (JAN_6, "free", 1, 1, 1, 100.0, False),
        (JAN_6, "pro", 1, 0, 1, 100.0, False),
        (JAN_6, "pro", 1, 1, 0, 0.0, False),
        (JAN_7, "free", 1, 0, 1, 100.0, False),
        (JAN_7, "free", 1, 1, 1, 100.0, False),
        (date(2026, 1, 18), "(other)", 1, 0, 1, 100.0, False),
    ]
    assert curve == [
        ("(other)", 0, 1, 1, 100.0, False),
        ("free", 0, 3, 3, 100.0, False),
        ("free", 1, 3, 2, 66.67, False),
        ("pro", 0, 2, 2, 100.0, False),
        ("pro", 1, 2, 1, 50.0, False),
    ]


def test_breakdown_on_a_column(warehouse):
    table, _curve = analysed(warehouse, **DAYS, period="day", periods=1, breakdown={"property": "platform", "top": 1})
    # First sign_ups: Web r1, r3, r5 (the top one); iOS r2, r7 and Android r4 are "(other)".
    assert [(cohort, label, k, users) for cohort, label, _size, k, users, _rate, _partial in table] == [
        (JAN_5, "(other)", 0, 1),
        (JAN_5, "(other)", 1, 0),
        (JAN_5, "Web", 0, 1),
        (JAN_5, "Web", 1, 1),
        (JAN_6, "(other)", 0, 1),
        (JAN_6, "(other)", 1, 1),
        (JAN_6, "Web", 0, 1),
        (JAN_6, "Web", 1, 0),
        (JAN_7, "(other)", 0, 1),
        (JAN_7, "(other)", 1, 1),
        (date(2026, 1, 18), "Web", 0, 1),
    ]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        # Pro sign_ups only: r1 (5 Jan), r3 (6 Jan), r2 (its second, 7 Jan), r4 (9 Jan); r7's is on 4 Jan.
        # r1 returns on days 1 and 3, r3 on day 3; r2 and r4 not after their cohort day.
        (
            {"start_event": {"event": "sign_up", "filters": [{"property": "event.plan", "operator": "eq", "value": "pro"}]}},
            {
                (JAN_5, 0): 1, (JAN_5, 1): 1, (JAN_5, 2): 0, (JAN_5, 3): 1,
                (JAN_6, 0): 1, (JAN_6, 1): 0, (JAN_6, 2): 0, (JAN_6, 3): 1,
                (JAN_7, 0): 1, (JAN_7, 1): 0, (JAN_7, 2): 0, (JAN_7, 3): 0,
                (date(2026, 1, 9), 0): 1, (date(2026, 1, 9), 1): 0, (date(2026, 1, 9), 2): 0, (date(2026, 1, 9), 3): 0,
            },
        ),
        # Returns of gold users only (r1).
        (
            {"return_event": {"event": "open_app", "filters": [{"property": "user.tier", "operator": "eq", "value": "gold"}]}},
            {
                (JAN_5, 0): 2, (JAN_5, 1): 1, (JAN_5, 2): 0, (JAN_5, 3): 1,
                (JAN_6, 0): 2, (JAN_6, 1): 0, (JAN_6, 2): 0, (JAN_6, 3): 0,
                (JAN_7, 0): 1, (JAN_7, 1): 0, (JAN_7, 2): 0, (JAN_7, 3): 0,
                (date(2026, 1, 18), 0): 1,
            },
        ),
        # Global filters select both kinds of events: without iOS, r2 and r7 are gone.
        (
            {"filters": [{"property": "platform", "operator": "neq", "value": "iOS"}]},
            {
                (JAN_5, 0): 1, (JAN_5, 1): 1, (JAN_5, 2): 0, (JAN_5, 3): 1,
                (JAN_6, 0): 1, (JAN_6, 1): 0, (JAN_6, 2): 0, (JAN_6, 3): 1,
                (JAN_7, 0): 1, (JAN_7, 1): 1, (JAN_7, 2): 0, (JAN_7, 3): 0,
                (date(2026, 1, 18), 0): 1,
            },
        ),
    ],
)  # fmt: skip
def test_event_and_global_filters(warehouse, options, expected):
    table, _curve = analysed(warehouse, **DAYS, period="day", periods=3, **options)
    assert retained(table) == expected


def test_a_saved_retention_reopens_the_same():
    spec = retention.parse(
        EVENTS | DAYS | {"period": "month", "periods": 12, "counting": "on_or_after", "breakdown": {"property": "platform", "top": 3}},
        NOW,
        "UTC",
    )
    assert retention.parse(spec.to_json(), NOW, "UTC") == spec


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"period": "year"}, "period"),
        ({"period": "day", "periods": 0}, "periods"),
        ({"period": "day", "periods": 91}, "periods"),
        ({"period": "week", "periods": 27}, "periods"),
        ({"period": "month", "periods": 13}, "periods"),
        ({"periods": "5"}, "periods"),
        ({"periods": True}, "periods"),
        ({"counting": "after"}, "counting"),
        ({"start_event": None}, "start_event"),
        (
            {"start_event": {"event": "sign_up", "filters": [{"property": "nope", "operator": "eq", "value": "x"}]}},
            "start_event.filters[0].property",
        ),
        ({"return_event": {"event": ""}}, "return_event.event"),
        ({"return_event": {"event": "open_app", "when": "later"}}, "return_event"),
        ({"breakdown": {"property": "platform", "top": 0}}, "breakdown.top"),
        ({"colour": "red"}, "colour"),
        ({"granularity": "minute"}, "granularity"),
    ],
)
def test_bad_retentions_name_the_field(data, field):
    with pytest.raises(BadSpec) as caught:
        retention.parse(EVENTS | data, NOW, "UTC")
    assert caught.value.field == field


@pytest.mark.parametrize("dialect", ["redshift", "athena"])
@pytest.mark.parametrize(("period", "counting"), [("day", "on"), ("week", "on_or_after"), ("month", "on")])
def test_the_retention_sql_is_written_for_the_cloud_warehouses(dialect, period, counting):
    spec = retention.parse(
        {
            **DAYS,
            "start_event": {"event": "sign_up", "filters": [{"property": "event.plan", "operator": "in", "values": ["pro", "free"]}]},
            "return_event": {"event": "open_app", "filters": [{"property": "user.tier", "operator": "is_set"}]},
            "filters": [{"property": "geo_country", "operator": "contains", "value": "fr"}],
            "breakdown": {"property": "event.plan", "top": 5},
            "period": period,
            "counting": counting,
        },
        NOW,
        "UTC",
    )
    analysis = retention.build(spec)
    for query, _drawing in [(analysis.query, analysis.drawing), *analysis.extra.values()]:
        written = transpile(query, dialect, app_id=APP)
        # What the driver sends parses in the warehouse's dialect (placeholders as the driver's).
        sqlglot.parse_one(
            written.sql.replace("%(", "__").replace(")s", "__") if dialect == "athena" else written.sql, read=SQLGLOT_DIALECT[dialect]
        )
        assert set(written.parameter_names) <= set(analysis.params)
