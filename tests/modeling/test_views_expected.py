"""Every preset view on DuckDB, compared with rows worked out by hand.

Four users over two weeks around a month boundary (dates are 2023, Monday 27 November first):

- u1 (web): session s1 starts 20 s before midnight on 27 Nov and ends after it; s2 starts
  exactly 30 minutes after s1's last event, and its two events are exactly 30 minutes apart
  (the SDK kept one session: sessions follow _session_id); u1 returns after two weeks (s3).
- u2 (web, from a Google campaign): bounces on 28 Nov (s4, its page view delivered twice),
  signs in and sets properties, is engaged on 29 Nov (s5), then churns.
- u3 (Android): 30 Nov, 1 Dec and 3 Dec. In a later run three of its events arrive late (two
  from 30 Nov, among them an older _profile_set that must not overwrite newer properties),
  plus a re-delivery of an event already loaded, plus new events on 3 Dec: the late run
  re-reads partitions across the month boundary.
- u4 (web): one bounced visit on 27 Nov.

The same Parquet is modeled twice: in five runs, one per arrival batch (dbt build after each),
and in one full build. Both must give exactly the expected rows.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from tests.modeling.dbt_runner import dbt
from tests.modeling.ods_files import ods_event, write_ods_events

APP = "shop_web"


def at(text: str) -> int:
    """Epoch ms of a UTC time written 'YYYY-MM-DD HH:MM:SS'."""
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp() * 1000)


def session(user: str, session_id: str, start: str, platform: str = "Web"):
    """A factory of the events of one session: each carries the session's id and start."""

    def event(event_id: str, time: str, name: str, duration: int = 0, ingest: str | None = None, **fields):
        return ods_event(
            event_id, user, at(time), name, app_id=APP, session=session_id, session_start=at(start),
            duration=duration, platform=platform, ingest=at(ingest) if ingest else None, **fields,
        )  # fmt: skip

    return event


def page(title: str) -> dict:
    return {"params": {"_page_title": title}}


def screen(name: str) -> dict:
    return {"params": {"_screen_name": name}}


s1 = session("u1", "s1", "2023-11-27 23:59:40")
s2 = session("u1", "s2", "2023-11-28 00:30:10")
s3 = session("u1", "s3", "2023-12-12 09:00:00")
s4 = session("u2", "s4", "2023-11-28 10:00:00")
s5 = session("u2", "s5", "2023-11-29 12:00:00")
s6 = session("u3", "s6", "2023-11-30 23:50:00", platform="Android")
s7 = session("u3", "s7", "2023-12-01 08:00:00", platform="Android")
s8 = session("u3", "s8", "2023-12-03 09:59:00", platform="Android")
s9 = session("u4", "s9", "2023-11-27 15:00:00")
LATE = "2023-12-03 10:00:00"  # arrival of run 4

RUNS = [
    # Run 1: u1's first two sessions and u4.
    [
        s1("e101", "2023-11-27 23:59:40", "_first_visit", geo={"country": "DE"}, traffic_source={"source": ""}),
        s1("e102", "2023-11-27 23:59:40", "_session_start"),
        s1("e103", "2023-11-27 23:59:45", "_page_view", 5_000, **page("Home")),
        s1("e104", "2023-11-28 00:00:10", "_page_view", 30_000, **page("Cart")),
        s2("e105", "2023-11-28 00:30:10", "_session_start"),
        s2("e106", "2023-11-28 01:00:10", "_page_view", 1_800_000, **page("Home")),
        s9("e401", "2023-11-27 15:00:00", "_first_visit", geo={"country": "DE"}),
        s9("e402", "2023-11-27 15:00:00", "_session_start"),
        s9("e403", "2023-11-27 15:00:01", "_page_view", 1_000, **page("Home")),
    ],
    # Run 2: u2, over more than a day of arrivals; its landing page view arrives twice.
    [
        s4(
            "e201",
            "2023-11-28 10:00:00",
            "_first_visit",
            geo={"country": "US"},
            traffic_source={"source": "google", "medium": "cpc", "name": "black_friday"},
        ),
        s4("e202", "2023-11-28 10:00:00", "_session_start"),
        s4("e203", "2023-11-28 10:00:02", "_page_view", 2_000, **page("Landing")),
        s4("e203", "2023-11-28 10:00:02", "_page_view", 2_000, ingest="2023-11-29 13:00:00", **page("Landing")),
        s4("e204", "2023-11-28 10:00:03", "_profile_set", 3_000, user_id="U2", user_properties={"plan": "pro", "age": 30}),
        s5("e205", "2023-11-29 12:00:00", "_session_start", user_id="U2"),
        s5("e206", "2023-11-29 12:00:01", "_page_view", 1_000, user_id="U2", **page("Pricing")),
        s5("e207", "2023-11-29 12:00:12", "_user_engagement", 12_000, user_id="U2", params={"_engagement_time_msec": 4_000}),
    ],
    # Run 3: u3 on 30 Nov and 1 Dec.
    [
        s6("e301", "2023-11-30 23:50:00", "_first_open", geo={"country": "FR"}),
        s6("e302", "2023-11-30 23:50:00", "_session_start"),
        s6("e303", "2023-11-30 23:50:10", "_screen_view", 10_000, **screen("Main")),
        s6("e304", "2023-11-30 23:50:20", "_profile_set", 20_000, user_properties={"level": 3}),
        s7("e305", "2023-12-01 08:00:00", "_session_start"),
        s7("e306", "2023-12-01 08:00:30", "_screen_view", 30_000, **screen("Main")),
        s7("e307", "2023-12-01 08:00:40", "_profile_set", 40_000, user_properties={"level": 4}),
    ],
    # Run 4: late events of 30 Nov, a re-delivered event of 1 Dec, new events of 3 Dec.
    [
        s6("e308", "2023-11-30 23:55:00", "_screen_view", 300_000, ingest=LATE, **screen("Settings")),
        s6("e309", "2023-11-30 23:59:00", "_profile_set", 540_000, ingest=LATE, user_properties={"level": 2}),
        s7("e306", "2023-12-01 08:00:30", "_screen_view", 30_000, ingest=LATE, **screen("Main")),
        s8("e310", "2023-12-03 09:59:00", "_session_start", ingest=LATE),
        s8("e311", "2023-12-03 09:59:30", "_screen_view", 30_000, ingest=LATE, **screen("Main")),
    ],
    # Run 5: u1 comes back two weeks later.
    [
        s3("e107", "2023-12-12 09:00:00", "_session_start"),
        s3("e108", "2023-12-12 09:00:05", "_page_view", 5_000, **page("Home")),
    ],
]
ALL_EVENT_IDS = sorted({event["event_id"] for run in RUNS for event in run})

D = date.fromisoformat
# clickstream_path_nodes: a session's first and last node's UTC dates and quarter hours.
S1_SPAN = (D("2023-11-27"), D("2023-11-28"), at("2023-11-27 23:45:00"), at("2023-11-28 00:00:00"))
S6_SPAN = (D("2023-11-30"), D("2023-11-30"), at("2023-11-30 23:45:00"), at("2023-11-30 23:45:00"))
EXPECTED = {
    "clickstream_session_view": (
        """select session_id, user_pseudo_id, platform, session_duration, session_views, engaged_session,
                  bounced_session, session_start_timestamp, session_engagement_time, session_date,
                  strftime(session_date_hour, '%H:%M'), entry_view, exit_view
           from {schema}.clickstream_session_view order by session_id""",
        [
            ("s1", "u1", "Web", 30_000, 2, 1, 0, at("2023-11-27 23:59:40"), 0, D("2023-11-27"), "23:00", "Home", "Cart"),
            ("s2", "u1", "Web", 1_800_000, 1, 1, 0, at("2023-11-28 00:30:10"), 0, D("2023-11-28"), "00:00", "Home", "Home"),
            ("s3", "u1", "Web", 5_000, 1, 0, 1, at("2023-12-12 09:00:00"), 0, D("2023-12-12"), "09:00", "Home", "Home"),
            ("s4", "u2", "Web", 3_000, 1, 0, 1, at("2023-11-28 10:00:00"), 0, D("2023-11-28"), "10:00", "Landing", "Landing"),
            ("s5", "u2", "Web", 12_000, 1, 1, 0, at("2023-11-29 12:00:00"), 4_000, D("2023-11-29"), "12:00", "Pricing", "Pricing"),
            ("s6", "u3", "Android", 540_000, 2, 1, 0, at("2023-11-30 23:50:00"), 0, D("2023-11-30"), "23:00", "Main", "Settings"),
            ("s7", "u3", "Android", 40_000, 1, 1, 0, at("2023-12-01 08:00:00"), 0, D("2023-12-01"), "08:00", "Main", "Main"),
            ("s8", "u3", "Android", 30_000, 1, 1, 0, at("2023-12-03 09:59:00"), 0, D("2023-12-03"), "09:00", "Main", "Main"),
            ("s9", "u4", "Web", 1_000, 1, 0, 1, at("2023-11-27 15:00:00"), 0, D("2023-11-27"), "15:00", "Home", "Home"),
        ],
    ),
    # s1 over midnight; s6's second screen and last event arrive late (run 4): its rows are rebuilt.
    "clickstream_path_nodes": (
        """select session_id, node_type, node, node_position, last_node, next_node_1, next_node_2, previous_node_1, previous_node_2,
                  event_date, last_event_date, quarter_hour_timestamp, last_quarter_hour_timestamp
           from {schema}.clickstream_path_nodes where session_id in ('s1', 's6') order by session_id, node_type, node_position""",
        [
            ("s1", "event", "_first_visit", 1, "_page_view", "_session_start", "_page_view", None, None, *S1_SPAN),
            ("s1", "event", "_session_start", 2, "_page_view", "_page_view", "_page_view", "_first_visit", None, *S1_SPAN),
            ("s1", "event", "_page_view", 3, "_page_view", "_page_view", None, "_session_start", "_first_visit", *S1_SPAN),
            ("s1", "screen", "Home", 1, "Cart", "Cart", None, None, None, *S1_SPAN),
            ("s1", "screen", "Cart", 2, "Cart", None, None, "Home", None, *S1_SPAN),
            ("s6", "event", "_first_open", 1, "_profile_set", "_session_start", "_screen_view", None, None, *S6_SPAN),
            ("s6", "event", "_session_start", 2, "_profile_set", "_screen_view", "_profile_set", "_first_open", None, *S6_SPAN),
            ("s6", "event", "_screen_view", 3, "_profile_set", "_profile_set", "_screen_view", "_session_start", "_first_open", *S6_SPAN),
            ("s6", "event", "_profile_set", 4, "_profile_set", "_screen_view", "_profile_set", "_screen_view", "_session_start", *S6_SPAN),
            ("s6", "screen", "Main", 1, "Settings", "Settings", None, None, None, *S6_SPAN),
            ("s6", "screen", "Settings", 2, "Settings", None, None, "Main", None, *S6_SPAN),
        ],
    ),
    # s1's pages either side of midnight; s6's late Settings view (run 4) makes it the exit view of
    # the session's earlier Main row too; e203 delivered twice and e306 re-delivered count once.
    "clickstream_page_views_quarter_hourly": (
        """select session_id, event_date, quarter_hour_timestamp, user_pseudo_id, current_screen, platform, entry_view, exit_view, view_events
           from {schema}.clickstream_page_views_quarter_hourly order by session_id, quarter_hour_timestamp, current_screen""",
        [
            ("s1", D("2023-11-27"), at("2023-11-27 23:45:00"), "u1", "Home", "Web", "Home", "Cart", 1),
            ("s1", D("2023-11-28"), at("2023-11-28 00:00:00"), "u1", "Cart", "Web", "Home", "Cart", 1),
            ("s2", D("2023-11-28"), at("2023-11-28 01:00:00"), "u1", "Home", "Web", "Home", "Home", 1),
            ("s3", D("2023-12-12"), at("2023-12-12 09:00:00"), "u1", "Home", "Web", "Home", "Home", 1),
            ("s4", D("2023-11-28"), at("2023-11-28 10:00:00"), "u2", "Landing", "Web", "Landing", "Landing", 1),
            ("s5", D("2023-11-29"), at("2023-11-29 12:00:00"), "u2", "Pricing", "Web", "Pricing", "Pricing", 1),
            ("s6", D("2023-11-30"), at("2023-11-30 23:45:00"), "u3", "Main", "Android", "Main", "Settings", 1),
            ("s6", D("2023-11-30"), at("2023-11-30 23:45:00"), "u3", "Settings", "Android", "Main", "Settings", 1),
            ("s7", D("2023-12-01"), at("2023-12-01 08:00:00"), "u3", "Main", "Android", "Main", "Main", 1),
            ("s8", D("2023-12-03"), at("2023-12-03 09:45:00"), "u3", "Main", "Android", "Main", "Main", 1),
            ("s9", D("2023-11-27"), at("2023-11-27 15:00:00"), "u4", "Home", "Web", "Home", "Home", 1),
        ],
    ),
    "clickstream_path_view": (
        """select session_id, event_id, event_name, event_rank, previous_event, next_event,
                  current_screen, previous_screen, next_screen
           from {schema}.clickstream_path_view order by session_id, event_timestamp, event_id""",
        [
            ("s1", "e101", "_first_visit", 1, None, "_session_start", None, None, None),
            ("s1", "e102", "_session_start", 1, "_first_visit", "_page_view", None, None, "Home"),
            ("s1", "e103", "_page_view", 2, "_session_start", "_page_view", "Home", None, "Cart"),
            ("s1", "e104", "_page_view", 3, "_page_view", None, "Cart", "Home", None),
            ("s2", "e105", "_session_start", 1, None, "_page_view", None, None, "Home"),
            ("s2", "e106", "_page_view", 2, "_session_start", None, "Home", None, None),
            ("s3", "e107", "_session_start", 1, None, "_page_view", None, None, "Home"),
            ("s3", "e108", "_page_view", 2, "_session_start", None, "Home", None, None),
            ("s4", "e201", "_first_visit", 1, None, "_session_start", None, None, None),
            ("s4", "e202", "_session_start", 1, "_first_visit", "_page_view", None, None, "Landing"),
            ("s4", "e203", "_page_view", 2, "_session_start", "_profile_set", "Landing", None, None),
            ("s4", "e204", "_profile_set", 3, "_page_view", None, None, "Landing", None),
            ("s5", "e205", "_session_start", 1, None, "_page_view", None, None, "Pricing"),
            ("s5", "e206", "_page_view", 2, "_session_start", "_user_engagement", "Pricing", None, None),
            ("s5", "e207", "_user_engagement", 3, "_page_view", None, None, "Pricing", None),
            ("s6", "e301", "_first_open", 1, None, "_session_start", None, None, None),
            ("s6", "e302", "_session_start", 1, "_first_open", "_screen_view", None, None, "Main"),
            ("s6", "e303", "_screen_view", 2, "_session_start", "_profile_set", "Main", None, None),
            ("s6", "e304", "_profile_set", 3, "_screen_view", "_screen_view", None, "Main", "Settings"),
            ("s6", "e308", "_screen_view", 4, "_profile_set", "_profile_set", "Settings", None, None),
            ("s6", "e309", "_profile_set", 5, "_screen_view", None, None, "Settings", None),
            ("s7", "e305", "_session_start", 1, None, "_screen_view", None, None, "Main"),
            ("s7", "e306", "_screen_view", 2, "_session_start", "_profile_set", "Main", None, None),
            ("s7", "e307", "_profile_set", 3, "_screen_view", None, None, "Main", None),
            ("s8", "e310", "_session_start", 1, None, "_screen_view", None, None, "Main"),
            ("s8", "e311", "_screen_view", 2, "_session_start", None, "Main", None, None),
            ("s9", "e401", "_first_visit", 1, None, "_session_start", None, None, None),
            ("s9", "e402", "_session_start", 1, "_first_visit", "_page_view", None, None, "Home"),
            ("s9", "e403", "_page_view", 2, "_session_start", None, "Home", None, None),
        ],
    ),
    "clickstream_retention_view": (
        "select first_date, day_diff, returned_user_count, total_users from {schema}.clickstream_retention_view order by 1, 2",
        [
            (D("2023-11-27"), 0, 2, 2),
            (D("2023-11-27"), 1, 1, 2),
            (D("2023-11-27"), 15, 1, 2),
            (D("2023-11-28"), 0, 1, 1),
            (D("2023-11-28"), 1, 1, 1),
            (D("2023-11-30"), 0, 1, 1),
            (D("2023-11-30"), 1, 1, 1),
            (D("2023-11-30"), 3, 1, 1),
        ],
    ),
    "clickstream_lifecycle_daily_view": (
        "select time_period, this_day_value, user_count from {schema}.clickstream_lifecycle_daily_view order by 1, 2",
        [
            (D("2023-11-27"), "1-NEW", 2),
            (D("2023-11-28"), "0-CHURN", -1),  # u4
            (D("2023-11-28"), "1-NEW", 1),  # u2
            (D("2023-11-28"), "2-ACTIVE", 1),  # u1
            (D("2023-11-29"), "0-CHURN", -1),  # u1, back on 12 Dec
            (D("2023-11-29"), "2-ACTIVE", 1),  # u2
            (D("2023-11-30"), "0-CHURN", -1),  # u2
            (D("2023-11-30"), "1-NEW", 1),  # u3
            (D("2023-12-01"), "2-ACTIVE", 1),
            (D("2023-12-02"), "0-CHURN", -1),
            (D("2023-12-03"), "3-RETURN", 1),
            (D("2023-12-04"), "0-CHURN", -1),
            (D("2023-12-12"), "3-RETURN", 1),
            (D("2023-12-13"), "0-CHURN", -1),
        ],
    ),
    "clickstream_lifecycle_weekly_view": (
        "select time_period, this_week_value, user_count from {schema}.clickstream_lifecycle_weekly_view order by 1, 2",
        [
            (D("2023-11-27"), "1-NEW", 4),
            (D("2023-12-04"), "0-CHURN", -4),
            (D("2023-12-11"), "3-RETURN", 1),
            (D("2023-12-18"), "0-CHURN", -1),
        ],
    ),
    "clickstream_user_dim_view": (
        """select user_pseudo_id, user_id, first_visit_date, first_platform, first_visit_country,
                  first_traffic_source_source, first_traffic_source_medium, first_traffic_source_name, is_registered
           from {schema}.clickstream_user_dim_view order by 1""",
        [
            ("u1", None, D("2023-11-27"), "Web", "DE", "(direct)", None, None, "Non-registered"),
            ("u2", None, D("2023-11-28"), "Web", "US", "google", "cpc", "black_friday", "Registered"),
            ("u3", None, D("2023-11-30"), "Android", "FR", "(direct)", None, None, "Non-registered"),
            ("u4", None, D("2023-11-27"), "Web", "DE", "(direct)", None, None, "Non-registered"),
        ],
    ),
    "clickstream_user_acquisition_view": (
        """select first_visit_date, platform, first_traffic_source_source, first_traffic_source_medium,
                  first_traffic_source_name, first_visit_country, new_user_count
           from {schema}.clickstream_user_acquisition_view order by 1""",
        [
            (D("2023-11-27"), "Web", "(direct)", None, None, "DE", 2),
            (D("2023-11-28"), "Web", "google", "cpc", "black_friday", "US", 1),
            (D("2023-11-30"), "Android", "(direct)", None, None, "FR", 1),
        ],
    ),
    "dim_users": (
        "select user_pseudo_id, user_id, user_id_timestamp, user_properties_timestamp from {schema}.dim_users order by 1",
        [
            ("u1", None, None, None),
            ("u2", "U2", at("2023-11-29 12:00:12"), at("2023-11-28 10:00:03")),
            ("u3", None, None, at("2023-12-01 08:00:40")),  # the late level=2 is older
            ("u4", None, None, None),
        ],
    ),
    "clickstream_user_attr_view": (
        "select user_pseudo_id, user_id, custom_attr_key, custom_attr_value from {schema}.clickstream_user_attr_view order by 1, 3",
        [("u2", "U2", "age", "30"), ("u2", "U2", "plan", "pro"), ("u3", None, "level", "4")],
    ),
    "clickstream_device_view": (
        "select event_date, user_pseudo_id, user_id, device_id, operating_system, usage_num from {schema}.clickstream_device_view order by 1, 2, 3",
        [
            (D("2023-11-27"), "u1", None, "device-u1", "Web", 3),
            (D("2023-11-27"), "u4", None, "device-u4", "Web", 3),
            (D("2023-11-28"), "u1", None, "device-u1", "Web", 3),
            (D("2023-11-28"), "u2", "U2", "device-u2", "Web", 1),
            (D("2023-11-28"), "u2", None, "device-u2", "Web", 3),
            (D("2023-11-29"), "u2", "U2", "device-u2", "Web", 3),
            (D("2023-11-30"), "u3", None, "device-u3", "Android", 6),
            (D("2023-12-01"), "u3", None, "device-u3", "Android", 3),
            (D("2023-12-03"), "u3", None, "device-u3", "Android", 2),
            (D("2023-12-12"), "u1", None, "device-u1", "Web", 2),
        ],
    ),
    # Each user's quarter hours with an event: u3's late events of 30 Nov fall in a quarter it had.
    "clickstream_user_active_quarter_hours": (
        "select event_date, user_pseudo_id, quarter_hour_timestamp from {schema}.clickstream_user_active_quarter_hours order by 1, 2, 3",
        [
            (D("2023-11-27"), "u1", at("2023-11-27 23:45:00")),
            (D("2023-11-27"), "u4", at("2023-11-27 15:00:00")),
            (D("2023-11-28"), "u1", at("2023-11-28 00:00:00")),
            (D("2023-11-28"), "u1", at("2023-11-28 00:30:00")),
            (D("2023-11-28"), "u1", at("2023-11-28 01:00:00")),
            (D("2023-11-28"), "u2", at("2023-11-28 10:00:00")),
            (D("2023-11-29"), "u2", at("2023-11-29 12:00:00")),
            (D("2023-11-30"), "u3", at("2023-11-30 23:45:00")),
            (D("2023-12-01"), "u3", at("2023-12-01 08:00:00")),
            (D("2023-12-03"), "u3", at("2023-12-03 09:45:00")),
            (D("2023-12-12"), "u1", at("2023-12-12 09:00:00")),
        ],
    ),
    # u3's events per quarter hour and name: the late events of 30 Nov join the quarter hour they
    # belong to, the re-delivered e306 counts once.
    "clickstream_event_counts_quarter_hourly": (
        """select event_date, quarter_hour_timestamp, user_pseudo_id, event_name, platform, events
           from {schema}.clickstream_event_counts_quarter_hourly where user_pseudo_id = 'u3' order by 1, 2, 4""",
        [
            (D("2023-11-30"), at("2023-11-30 23:45:00"), "u3", "_first_open", "Android", 1),
            (D("2023-11-30"), at("2023-11-30 23:45:00"), "u3", "_profile_set", "Android", 2),
            (D("2023-11-30"), at("2023-11-30 23:45:00"), "u3", "_screen_view", "Android", 2),
            (D("2023-11-30"), at("2023-11-30 23:45:00"), "u3", "_session_start", "Android", 1),
            (D("2023-12-01"), at("2023-12-01 08:00:00"), "u3", "_profile_set", "Android", 1),
            (D("2023-12-01"), at("2023-12-01 08:00:00"), "u3", "_screen_view", "Android", 1),
            (D("2023-12-01"), at("2023-12-01 08:00:00"), "u3", "_session_start", "Android", 1),
            (D("2023-12-03"), at("2023-12-03 09:45:00"), "u3", "_screen_view", "Android", 1),
            (D("2023-12-03"), at("2023-12-03 09:45:00"), "u3", "_session_start", "Android", 1),
        ],
    ),
    # The page titles and screen names per quarter hour: e203 delivered twice and e306 re-delivered count once.
    "clickstream_event_attribute_counts_quarter_hourly": (
        """select event_date, quarter_hour_timestamp, event_name, platform, event_parameter_key, event_parameter_value, events
           from {schema}.clickstream_event_attribute_counts_quarter_hourly
           where event_parameter_key in ('_page_title', '_screen_name') order by 1, 2, 6""",
        [
            (D("2023-11-27"), at("2023-11-27 15:00:00"), "_page_view", "Web", "_page_title", "Home", 1),
            (D("2023-11-27"), at("2023-11-27 23:45:00"), "_page_view", "Web", "_page_title", "Home", 1),
            (D("2023-11-28"), at("2023-11-28 00:00:00"), "_page_view", "Web", "_page_title", "Cart", 1),
            (D("2023-11-28"), at("2023-11-28 01:00:00"), "_page_view", "Web", "_page_title", "Home", 1),
            (D("2023-11-28"), at("2023-11-28 10:00:00"), "_page_view", "Web", "_page_title", "Landing", 1),
            (D("2023-11-29"), at("2023-11-29 12:00:00"), "_page_view", "Web", "_page_title", "Pricing", 1),
            (D("2023-11-30"), at("2023-11-30 23:45:00"), "_screen_view", "Android", "_screen_name", "Main", 1),
            (D("2023-11-30"), at("2023-11-30 23:45:00"), "_screen_view", "Android", "_screen_name", "Settings", 1),
            (D("2023-12-01"), at("2023-12-01 08:00:00"), "_screen_view", "Android", "_screen_name", "Main", 1),
            (D("2023-12-03"), at("2023-12-03 09:45:00"), "_screen_view", "Android", "_screen_name", "Main", 1),
            (D("2023-12-12"), at("2023-12-12 09:00:00"), "_page_view", "Web", "_page_title", "Home", 1),
        ],
    ),
    "clickstream_ods_event_attributes_view": (
        """select event_id, event_name, event_date, event_parameter_key, event_parameter_value
           from {schema}.clickstream_ods_event_attributes_view where event_id in ('e203', 'e207') order by 1, 4""",
        [
            ("e203", "_page_view", D("2023-11-28"), "_page_title", "Landing"),
            ("e203", "_page_view", D("2023-11-28"), "_session_duration", "2000"),
            ("e203", "_page_view", D("2023-11-28"), "_session_id", "s4"),
            ("e203", "_page_view", D("2023-11-28"), "_session_start_timestamp", str(at("2023-11-28 10:00:00"))),
            ("e207", "_user_engagement", D("2023-11-29"), "_engagement_time_msec", "4000"),
            ("e207", "_user_engagement", D("2023-11-29"), "_session_duration", "12000"),
            ("e207", "_user_engagement", D("2023-11-29"), "_session_id", "s5"),
            ("e207", "_user_engagement", D("2023-11-29"), "_session_start_timestamp", str(at("2023-11-29 12:00:00"))),
        ],
    ),
    "clickstream_ods_event_view": (
        """select event_id, platform, device_operating_system, geo_country, traffic_source_source,
                  traffic_source_medium, traffic_source_name, app_info_app_id
           from {schema}.clickstream_ods_event_view where event_name in ('_first_visit', '_first_open') order by 1""",
        [
            ("e101", "Web", "Web", "DE", "", None, None, APP),
            ("e201", "Web", "Web", "US", "google", "cpc", "black_friday", APP),
            ("e301", "Android", "Android", "FR", None, None, None, APP),
            ("e401", "Web", "Web", "DE", None, None, None, APP),
        ],
    ),
}


def build(ods_root: Path, work_dir: Path, *extra: str, **variables) -> None:
    dbt(
        ["build", *extra],
        work_dir,
        {"app_id": APP, "ods_root": str(ods_root), **variables},
        env={"CLICKSTREAM_DUCKDB_PATH": str(work_dir / "warehouse.duckdb")},
    )


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql.format(schema=APP)).fetchall()


@pytest.fixture(scope="module")
def incremental_warehouse(tmp_path_factory) -> Path:
    """Five runs, one per arrival batch, each followed by `dbt build`."""
    work_dir = tmp_path_factory.mktemp("incremental")
    for run in RUNS:
        write_ods_events(work_dir / "ods", APP, run)
        build(work_dir / "ods", work_dir)
    return work_dir / "warehouse.duckdb"


@pytest.fixture(scope="module")
def full_warehouse(incremental_warehouse, tmp_path_factory) -> Path:
    """One build over the same Parquet files."""
    work_dir = tmp_path_factory.mktemp("full")
    shutil.copytree(incremental_warehouse.parent / "ods", work_dir / "ods")
    build(work_dir / "ods", work_dir)
    return work_dir / "warehouse.duckdb"


@pytest.mark.parametrize("view", sorted(EXPECTED))
def test_incremental_runs_give_the_expected_rows(incremental_warehouse, view):
    sql, expected = EXPECTED[view]
    assert query(incremental_warehouse, sql) == expected


@pytest.mark.parametrize("view", sorted(EXPECTED))
def test_full_build_gives_the_expected_rows(full_warehouse, view):
    sql, expected = EXPECTED[view]
    assert query(full_warehouse, sql) == expected


@pytest.mark.parametrize("warehouse", ["incremental_warehouse", "full_warehouse"])
def test_ods_events_holds_each_event_once_in_contract_order(request, warehouse):
    database = request.getfixturevalue(warehouse)
    ids = [row[0] for row in query(database, "select event_id from {schema}.ods_events order by event_id")]
    columns = [row[0] for row in query(database, "describe {schema}.ods_events")]
    assert ids == ALL_EVENT_IDS
    assert columns[:3] == ["app_info", "device", "ecommerce"] and columns[-1] == "user_pseudo_id" and len(columns) == 25
