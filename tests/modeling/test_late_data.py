"""Events that arrive two days late re-aggregate everything they touch (issue 18, late data).

Five users over the week of Monday 4 March 2024 (UTC). Five arrival batches, one per day, each
holding that day's events a minute after they happened, are built incrementally (``dbt build``
after each). Then a sixth batch arrives with events from two days before (an SDK that was
offline; within the processing job's 72 h freshness window):

- a: two more events of its session sa3 (7 Mar): the session gets longer, a second page, an
  exit page and engagement time;
- b: a whole session on 7 Mar, a day b had no event: b's retention gains day 2, and b's 8 Mar
  changes lifecycle stage from 3-RETURN to 2-ACTIVE;
- d: first seen on 8 Mar, its real first visit on 7 Mar arrives now (other country and
  source), plus an engagement event of its 8 Mar session: d's retention cohort moves from 8 to
  7 Mar (the 8 Mar cohort disappears) and its 8 Mar becomes 2-ACTIVE;
- e: a new Android user whose only events, of 7 Mar, all arrive late.

A second warehouse is built from scratch (``--full-refresh``) over the same Parquet. Every
table and view of the app's schema must hold the same rows in both, and the key numbers are
checked against values worked out by hand.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.modeling.ods_files import write_ods_events
from tests.modeling.test_views_expected import APP, build, page, query, screen, session
from tests.modeling.warehouse_snapshot import schema_snapshot, snapshot_differences

sa1 = session("a", "sa1", "2024-03-04 10:00:00")
sa2 = session("a", "sa2", "2024-03-05 09:00:00")
sa3 = session("a", "sa3", "2024-03-07 10:00:00")
sb1 = session("b", "sb1", "2024-03-05 11:00:00")
sb2 = session("b", "sb2", "2024-03-08 08:00:00")
sb3 = session("b", "sb3", "2024-03-07 15:00:00")  # arrives late
sc1 = session("c", "sc1", "2024-03-06 12:00:00")
sc2 = session("c", "sc2", "2024-03-07 13:00:00")
sd0 = session("d", "sd0", "2024-03-07 18:00:00")  # arrives late
sd1 = session("d", "sd1", "2024-03-08 09:00:00")
se1 = session("e", "se1", "2024-03-07 20:00:00", platform="Android")  # arrives late

ON_TIME_BATCHES = [
    [
        sa1("a01", "2024-03-04 10:00:00", "_first_visit"),
        sa1("a02", "2024-03-04 10:00:00", "_session_start"),
        sa1("a03", "2024-03-04 10:00:05", "_page_view", 5_000, **page("Home")),
    ],
    [
        sa2("a04", "2024-03-05 09:00:00", "_session_start"),
        sa2("a05", "2024-03-05 09:00:20", "_page_view", 20_000, **page("Home")),
        sb1("b01", "2024-03-05 11:00:00", "_first_visit"),
        sb1("b02", "2024-03-05 11:00:00", "_session_start"),
        sb1("b03", "2024-03-05 11:00:03", "_page_view", 3_000, **page("Landing")),
    ],
    [
        sc1("c01", "2024-03-06 12:00:00", "_first_visit"),
        sc1("c02", "2024-03-06 12:00:00", "_session_start"),
        sc1("c03", "2024-03-06 12:00:30", "_page_view", 30_000, **page("Home")),
    ],
    [
        sa3("a06", "2024-03-07 10:00:00", "_session_start"),
        sa3("a07", "2024-03-07 10:00:05", "_page_view", 5_000, **page("Home")),
        sc2("c04", "2024-03-07 13:00:00", "_session_start"),
        sc2("c05", "2024-03-07 13:00:40", "_page_view", 40_000, **page("Pricing")),
    ],
    [
        sb2("b04", "2024-03-08 08:00:00", "_session_start"),
        sb2("b05", "2024-03-08 08:00:15", "_page_view", 15_000, **page("Pricing")),
        sd1("d01", "2024-03-08 09:00:00", "_first_visit", geo={"country": "US"}, traffic_source={"source": "google"}),
        sd1("d02", "2024-03-08 09:00:00", "_session_start"),
        sd1("d03", "2024-03-08 09:00:04", "_page_view", 4_000, **page("Landing")),
    ],
]


def late(factory, event_id: str, time: str, name: str, duration: int = 0, **fields):
    """An event delivered exactly two days after it happened."""
    ingest = datetime.fromisoformat(time) + timedelta(days=2)
    return factory(event_id, time, name, duration, ingest=f"{ingest:%Y-%m-%d %H:%M:%S}", **fields)


LATE_BATCH = [
    # a's session of 7 Mar goes on for six minutes more: a second page and engagement.
    late(sa3, "a08", "2024-03-07 10:05:00", "_page_view", 300_000, **page("Cart")),
    late(sa3, "a09", "2024-03-07 10:06:00", "_user_engagement", 360_000, params={"_engagement_time_msec": 60_000}),
    # b on a day it had no event.
    late(sb3, "b06", "2024-03-07 15:00:00", "_session_start"),
    late(sb3, "b07", "2024-03-07 15:00:02", "_page_view", 2_000, **page("Pricing")),
    # d's real first visit, the day before the one the warehouse knows, and one more event of 8 Mar.
    late(sd0, "d04", "2024-03-07 18:00:00", "_first_visit", geo={"country": "DE"}, traffic_source={"source": "newsletter"}),
    late(sd0, "d05", "2024-03-07 18:00:00", "_session_start"),
    late(sd0, "d06", "2024-03-07 18:00:06", "_page_view", 6_000, **page("Home")),
    late(sd1, "d07", "2024-03-08 09:00:30", "_user_engagement", 30_000, params={"_engagement_time_msec": 25_000}),
    # e exists only in late events.
    late(se1, "e01", "2024-03-07 20:00:00", "_first_open"),
    late(se1, "e02", "2024-03-07 20:00:00", "_session_start"),
    late(se1, "e03", "2024-03-07 20:00:10", "_screen_view", 10_000, **screen("Main")),
]

D = date.fromisoformat


RETENTION_SQL = "select first_date, day_diff, returned_user_count, total_users from {schema}.clickstream_retention_view order by 1, 2"
LIFECYCLE_SQL = "select time_period, this_day_value, user_count from {schema}.clickstream_lifecycle_daily_view order by 1, 2"


class Warehouses(NamedTuple):
    incremental: Path
    full: Path
    # The incremental warehouse's retention and daily lifecycle rows before the late batch.
    retention_before: list[tuple]
    lifecycle_before: list[tuple]


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory) -> Warehouses:
    """One build per arrival batch, then the late batch and one more build; and one
    --full-refresh build in its own database over the same Parquet."""
    incremental_dir = tmp_path_factory.mktemp("incremental")
    ods_root = incremental_dir / "ods"
    for batch in ON_TIME_BATCHES:
        write_ods_events(ods_root, APP, batch)
        build(ods_root, incremental_dir)
    incremental = incremental_dir / "warehouse.duckdb"
    retention_before, lifecycle_before = query(incremental, RETENTION_SQL), query(incremental, LIFECYCLE_SQL)
    write_ods_events(ods_root, APP, LATE_BATCH)
    build(ods_root, incremental_dir)
    full_dir = tmp_path_factory.mktemp("full")
    build(ods_root, full_dir, "--full-refresh")
    return Warehouses(incremental, full_dir / "warehouse.duckdb", retention_before, lifecycle_before)


def database(warehouses: Warehouses, which: str) -> Path:
    return warehouses.incremental if which == "incremental" else warehouses.full


def test_the_late_batch_changes_what_was_modeled(warehouses):
    """Before the late events: d is the 8 Mar cohort, b has no day 2, b's and d's 8 Mar are
    3-RETURN and 1-NEW, a and c churn on 8 Mar (e is not known yet): so the checks below see the
    late events re-aggregated."""
    assert (D("2024-03-08"), 0, 1, 1) in warehouses.retention_before
    assert (D("2024-03-05"), 2, 1, 1) not in warehouses.retention_before
    assert [row for row in warehouses.lifecycle_before if row[0] == D("2024-03-08")] == [
        (D("2024-03-08"), "0-CHURN", -2),
        (D("2024-03-08"), "1-NEW", 1),
        (D("2024-03-08"), "3-RETURN", 1),
    ]


def test_late_batch_events_are_two_days_late():
    """The fixture is what it claims: the late events happened 48 h before they arrived."""
    assert {event["ingest_timestamp"] - event["event_timestamp"] for event in LATE_BATCH} == {48 * 3_600_000}
    assert {event["ingest_timestamp"] - event["event_timestamp"] for batch in ON_TIME_BATCHES for event in batch} == {60_000}


def test_every_relation_equals_a_full_rebuild(warehouses):
    expected, actual = schema_snapshot(warehouses.full, APP), schema_snapshot(warehouses.incremental, APP)
    # Every product object is there (and not trivially empty), views as well as tables.
    for name in ["ods_events", "clickstream_session_view", "clickstream_path_view", "clickstream_retention_view",
                 "clickstream_lifecycle_daily_view", "clickstream_lifecycle_weekly_view", "clickstream_user_dim_view",
                 "clickstream_user_acquisition_view", "clickstream_device_view", "dim_users", "clickstream_catalogue_events",
                 "int_user_days", "int_user_first_active_dates", "int_lifecycle_user_periods_daily"]:  # fmt: skip
        assert expected.get(name), f"{name} is missing or empty in the full build"
    assert len(expected) >= 30
    diff = snapshot_differences(expected, actual)
    assert not diff, f"after the late events, the incremental warehouse differs from a full rebuild:\n{diff}"


@pytest.mark.parametrize("which", ["incremental", "full"])
def test_extended_session(warehouses, which):
    warehouse = database(warehouses, which)
    sessions = query(
        warehouse,
        """select session_id, session_duration, session_views, engaged_session, session_engagement_time, entry_view, exit_view
           from {schema}.clickstream_session_view where session_id in ('sa3', 'sb3', 'sd0', 'sd1', 'se1') order by 1""",
    )
    assert sessions == [
        ("sa3", 360_000, 2, 1, 60_000, "Home", "Cart"),
        ("sb3", 2_000, 1, 0, 0, "Pricing", "Pricing"),
        ("sd0", 6_000, 1, 0, 0, "Home", "Home"),
        ("sd1", 30_000, 1, 1, 25_000, "Landing", "Landing"),
        ("se1", 10_000, 1, 0, 0, "Main", "Main"),
    ]
    path = query(warehouse, "select event_id, event_rank from {schema}.clickstream_path_view where session_id = 'sa3' order by 2, 1")
    assert path == [("a06", 1), ("a07", 2), ("a08", 3), ("a09", 4)]


@pytest.mark.parametrize("which", ["incremental", "full"])
def test_retention_cohorts(warehouses, which):
    """First dates: a 4 Mar, b 5 Mar, c 6 Mar, d and e 7 Mar (d's 8 Mar cohort is gone).
    Active days: a 4, 5, 7; b 5, 7 (late), 8; c 6, 7; d 7 (late), 8; e 7 (late)."""
    warehouse = database(warehouses, which)
    rows = query(warehouse, RETENTION_SQL)
    assert rows == [
        (D("2024-03-04"), 0, 1, 1),
        (D("2024-03-04"), 1, 1, 1),
        (D("2024-03-04"), 3, 1, 1),
        (D("2024-03-05"), 0, 1, 1),
        (D("2024-03-05"), 2, 1, 1),
        (D("2024-03-05"), 3, 1, 1),
        (D("2024-03-06"), 0, 1, 1),
        (D("2024-03-06"), 1, 1, 1),
        (D("2024-03-07"), 0, 2, 2),
        (D("2024-03-07"), 1, 1, 2),
    ]


@pytest.mark.parametrize("which", ["incremental", "full"])
def test_lifecycle_periods(warehouses, which):
    """Days with a session start: a 4, 5, 7; b 5, 7, 8; c 6, 7; d 7, 8; e 7."""
    warehouse = database(warehouses, which)
    daily = query(warehouse, LIFECYCLE_SQL)
    assert daily == [
        (D("2024-03-04"), "1-NEW", 1),  # a
        (D("2024-03-05"), "1-NEW", 1),  # b
        (D("2024-03-05"), "2-ACTIVE", 1),  # a
        (D("2024-03-06"), "0-CHURN", -2),  # a, b
        (D("2024-03-06"), "1-NEW", 1),  # c
        (D("2024-03-07"), "1-NEW", 2),  # d, e
        (D("2024-03-07"), "2-ACTIVE", 1),  # c
        (D("2024-03-07"), "3-RETURN", 2),  # a, b
        (D("2024-03-08"), "0-CHURN", -3),  # a, c, e
        (D("2024-03-08"), "2-ACTIVE", 2),  # b, d (before the late events: b 3-RETURN, d 1-NEW)
        (D("2024-03-09"), "0-CHURN", -2),  # b, d
    ]
    weekly = query(
        warehouse, "select time_period, this_week_value, user_count from {schema}.clickstream_lifecycle_weekly_view order by 1, 2"
    )
    assert weekly == [(D("2024-03-04"), "1-NEW", 5), (D("2024-03-11"), "0-CHURN", -5)]


@pytest.mark.parametrize("which", ["incremental", "full"])
def test_first_visits(warehouses, which):
    warehouse = database(warehouses, which)
    users = query(
        warehouse,
        """select user_pseudo_id, first_visit_date, first_platform, first_visit_country, first_traffic_source_source
           from {schema}.clickstream_user_dim_view order by 1""",
    )
    assert users == [
        ("a", D("2024-03-04"), "Web", None, "(direct)"),
        ("b", D("2024-03-05"), "Web", None, "(direct)"),
        ("c", D("2024-03-06"), "Web", None, "(direct)"),
        ("d", D("2024-03-07"), "Web", "DE", "newsletter"),
        ("e", D("2024-03-07"), "Android", None, "(direct)"),
    ]
    acquisition = query(
        warehouse,
        """select first_visit_date, platform, first_traffic_source_source, new_user_count
           from {schema}.clickstream_user_acquisition_view order by 1, 2, 3""",
    )
    assert acquisition == [
        (D("2024-03-04"), "Web", "(direct)", 1),
        (D("2024-03-05"), "Web", "(direct)", 1),
        (D("2024-03-06"), "Web", "(direct)", 1),
        (D("2024-03-07"), "Android", "(direct)", 1),
        (D("2024-03-07"), "Web", "newsletter", 1),
    ]
