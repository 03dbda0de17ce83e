"""Small fixed data for the path and retention analyses' tests (tests/console/test_explore_path.py,
test_explore_retention.py): a DuckDB file with the event-level views they read, few enough events
that every expected number is worked out by hand in the tests.

Path events (2026-01-05, a Monday, UTC; listed here in no particular order, as events arrive):

    u1 (user_id id-1, Web)  s1: 00:00 _session_start, 00:01 Home, 00:02 Home, 00:03 Product, 00:04 add_to_cart, 00:05 Cart
                            s2: 00:50 _session_start, 00:51 Home            (46 minutes after s1's Cart)
    u2 (id-2, Web, gold)    s3: 00:10 _session_start, 00:11:00.000 Home and Product in the same millisecond
                                (event ids c2 < c3), 00:41 Cart (exactly 30 minutes later), 01:12 Home (31 later)
    u3 (no user_id, iOS)    s4: 00:20 _session_start, 00:21 Search, 00:22 Product
    u4 (id-4, Android)      s5: 2026-01-04 23:50 Cart (outside a UTC range from 5 Jan), 00:30 _session_start,
                                00:31 search (event attribute term=shoes), 00:32 Product
    u5 (id-5, Web)          s6: 2026-01-06 23:30 _session_start (the range's last hour), 2026-01-07 00:10 Home

"Home", "Product" ... are _screen_view events with that current_screen.

Retention events (sign_up with event attribute plan, open_app; UTC):

    r1 (id-r1, Web, gold)   sign_up 01-05 10:00 plan=pro;  open_app 01-06 09:00, 01-08 12:00, 01-14 09:00
    r2 (no user_id, iOS)    sign_up 01-05 23:59:59.999 free, 01-07 10:00 pro;  open_app 01-05 23:00, 01-07 08:00
    r3 (id-r3, Web, silver) sign_up 01-06 08:00 twice in the same millisecond (r3a plan=pro, r3b free);
                            open_app 01-06 08:00 (the same millisecond), 01-09 10:00
    r4 (id-r4, Android)     sign_up 01-07 10:00 free (id r4z), 01-09 10:00 pro (id r4a: ids disagree with time);
                            open_app 01-08 10:00, 01-20 10:00
    r5 (id-r5, Web)         sign_up 01-18 23:30 (no plan);  open_app 01-19 00:10
    r6 (id-r6, Web)         open_app 01-06 10:00 only
    r7 (id-r7, iOS)         sign_up 01-04 10:00 pro, 01-06 10:00 free;  open_app 01-07 10:00
    r8 (id-r8, Web)         sign_up 2025-12-15 10:00 free;  open_app 2026-01-10 10:00
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from clickstream_console.warehouse.dialects import transpile
from clickstream_console.warehouse.query import ReportQuery

APP = "explore_app"
SCREEN_VIEW = "_screen_view"

# (event_id, user, user_id, platform, session, UTC time, event name or screen, attributes)
_PATH_EVENTS = [
    ("d3", "u3", None, "iOS", "s4", (1, 5, 0, 22), "Product", {}),
    ("a1", "u1", "id-1", "Web", "s1", (1, 5, 0, 0), "_session_start", {}),
    ("a2", "u1", "id-1", "Web", "s1", (1, 5, 0, 1), "Home", {}),
    ("a3", "u1", "id-1", "Web", "s1", (1, 5, 0, 2), "Home", {}),
    ("a4", "u1", "id-1", "Web", "s1", (1, 5, 0, 3), "Product", {}),
    ("a6", "u1", "id-1", "Web", "s1", (1, 5, 0, 5), "Cart", {}),
    ("a5", "u1", "id-1", "Web", "s1", (1, 5, 0, 4), "add_to_cart", {}),
    ("b1", "u1", "id-1", "Web", "s2", (1, 5, 0, 50), "_session_start", {}),
    ("b2", "u1", "id-1", "Web", "s2", (1, 5, 0, 51), "Home", {}),
    ("c5", "u2", "id-2", "Web", "s3", (1, 5, 1, 12), "Home", {}),
    ("c1", "u2", "id-2", "Web", "s3", (1, 5, 0, 10), "_session_start", {}),
    ("c3", "u2", "id-2", "Web", "s3", (1, 5, 0, 11), "Product", {}),
    ("c2", "u2", "id-2", "Web", "s3", (1, 5, 0, 11), "Home", {}),
    ("c4", "u2", "id-2", "Web", "s3", (1, 5, 0, 41), "Cart", {}),
    ("d1", "u3", None, "iOS", "s4", (1, 5, 0, 20), "_session_start", {}),
    ("d2", "u3", None, "iOS", "s4", (1, 5, 0, 21), "Search", {}),
    ("f0", "u4", "id-4", "Android", "s5", (1, 4, 23, 50), "Cart", {}),
    ("f1", "u4", "id-4", "Android", "s5", (1, 5, 0, 30), "_session_start", {}),
    ("f2", "u4", "id-4", "Android", "s5", (1, 5, 0, 31), "search", {"term": "shoes"}),
    ("f3", "u4", "id-4", "Android", "s5", (1, 5, 0, 32), "Product", {}),
    ("g1", "u5", "id-5", "Web", "s6", (1, 6, 23, 30), "_session_start", {}),
    ("g2", "u5", "id-5", "Web", "s6", (1, 7, 0, 10), "Home", {}),
]
_SCREENS = {"Home", "Product", "Cart", "Search"}

# (event_id, user, user_id, platform, (year, month, day, hour, minute, second, ms), event, attributes)
_RETENTION_EVENTS = [
    ("r1s", "r1", "id-r1", "Web", (2026, 1, 5, 10, 0, 0, 0), "sign_up", {"plan": "pro"}),
    ("r1o1", "r1", "id-r1", "Web", (2026, 1, 6, 9, 0, 0, 0), "open_app", {}),
    ("r1o2", "r1", "id-r1", "Web", (2026, 1, 8, 12, 0, 0, 0), "open_app", {}),
    ("r1o3", "r1", "id-r1", "Web", (2026, 1, 14, 9, 0, 0, 0), "open_app", {}),
    ("r2s2", "r2", None, "iOS", (2026, 1, 7, 10, 0, 0, 0), "sign_up", {"plan": "pro"}),
    ("r2s1", "r2", None, "iOS", (2026, 1, 5, 23, 59, 59, 999), "sign_up", {"plan": "free"}),
    ("r2o1", "r2", None, "iOS", (2026, 1, 5, 23, 0, 0, 0), "open_app", {}),
    ("r2o2", "r2", None, "iOS", (2026, 1, 7, 8, 0, 0, 0), "open_app", {}),
    ("r3b", "r3", "id-r3", "Web", (2026, 1, 6, 8, 0, 0, 0), "sign_up", {"plan": "free"}),
    ("r3a", "r3", "id-r3", "Web", (2026, 1, 6, 8, 0, 0, 0), "sign_up", {"plan": "pro"}),
    ("r3o1", "r3", "id-r3", "Web", (2026, 1, 6, 8, 0, 0, 0), "open_app", {}),
    ("r3o2", "r3", "id-r3", "Web", (2026, 1, 9, 10, 0, 0, 0), "open_app", {}),
    ("r4a", "r4", "id-r4", "Android", (2026, 1, 9, 10, 0, 0, 0), "sign_up", {"plan": "pro"}),
    ("r4z", "r4", "id-r4", "Android", (2026, 1, 7, 10, 0, 0, 0), "sign_up", {"plan": "free"}),
    ("r4o1", "r4", "id-r4", "Android", (2026, 1, 8, 10, 0, 0, 0), "open_app", {}),
    ("r4o2", "r4", "id-r4", "Android", (2026, 1, 20, 10, 0, 0, 0), "open_app", {}),
    ("r5s", "r5", "id-r5", "Web", (2026, 1, 18, 23, 30, 0, 0), "sign_up", {}),
    ("r5o", "r5", "id-r5", "Web", (2026, 1, 19, 0, 10, 0, 0), "open_app", {}),
    ("r6o", "r6", "id-r6", "Web", (2026, 1, 6, 10, 0, 0, 0), "open_app", {}),
    ("r7s1", "r7", "id-r7", "iOS", (2026, 1, 4, 10, 0, 0, 0), "sign_up", {"plan": "pro"}),
    ("r7s2", "r7", "id-r7", "iOS", (2026, 1, 6, 10, 0, 0, 0), "sign_up", {"plan": "free"}),
    ("r7o", "r7", "id-r7", "iOS", (2026, 1, 7, 10, 0, 0, 0), "open_app", {}),
    ("r8s", "r8", "id-r8", "Web", (2025, 12, 15, 10, 0, 0, 0), "sign_up", {"plan": "free"}),
    ("r8o", "r8", "id-r8", "Web", (2026, 1, 10, 10, 0, 0, 0), "open_app", {}),
]
# (user, key, value): current user attributes.
_USER_ATTRIBUTES = [("u2", "tier", "gold"), ("r1", "tier", "gold"), ("r3", "tier", "silver")]


def _rows() -> list[tuple]:
    """(event_id, user, user_id, platform, session or None, datetime, event_name, current_screen, attributes)."""
    rows = []
    for event_id, user, user_id, platform, session, (month, day, hour, minute), name, attributes in _PATH_EVENTS:
        when = datetime(2026, month, day, hour, minute, tzinfo=UTC)
        screen = name if name in _SCREENS else None
        rows.append((event_id, user, user_id, platform, session, when, SCREEN_VIEW if screen else name, screen, attributes))
    for event_id, user, user_id, platform, (year, month, day, hour, minute, second, ms), name, attributes in _RETENTION_EVENTS:
        when = datetime(year, month, day, hour, minute, second, ms * 1000, tzinfo=UTC)
        rows.append((event_id, user, user_id, platform, None, when, name, None, attributes))
    return rows


def create_warehouse(path: Path) -> Path:
    """The views at ``path`` (schema APP): clickstream_ods_event_view, clickstream_path_view (the
    path events, which all have a session), clickstream_ods_event_attributes_view and
    clickstream_user_attr_view, with the columns the analyses read."""
    with duckdb.connect(str(path)) as connection:
        connection.execute(f'create schema "{APP}"')
        connection.execute(
            f'create table "{APP}".clickstream_ods_event_view (event_id varchar, event_name varchar, event_date date, '
            "event_timestamp bigint, user_pseudo_id varchar, user_id varchar, platform varchar, geo_country varchar)"
        )
        connection.execute(
            f'create table "{APP}".clickstream_path_view (user_pseudo_id varchar, event_date date, event_id varchar, '
            "event_name varchar, event_timestamp bigint, platform varchar, session_id varchar, current_screen varchar)"
        )
        connection.execute(
            f'create table "{APP}".clickstream_ods_event_attributes_view (event_id varchar, event_name varchar, event_date date, '
            "event_parameter_key varchar, event_parameter_value varchar)"
        )
        connection.execute(
            f'create table "{APP}".clickstream_user_attr_view (user_pseudo_id varchar, user_id varchar, '
            "custom_attr_key varchar, custom_attr_value varchar)"
        )
        for event_id, user, user_id, platform, session, when, name, screen, attributes in _rows():
            timestamp, day = int(when.timestamp() * 1000), when.date()
            connection.execute(
                f'insert into "{APP}".clickstream_ods_event_view values (?, ?, ?, ?, ?, ?, ?, ?)',
                (event_id, name, day, timestamp, user, user_id, platform, None),
            )
            if session:
                connection.execute(
                    f'insert into "{APP}".clickstream_path_view values (?, ?, ?, ?, ?, ?, ?, ?)',
                    (user, day, event_id, name, timestamp, platform, session, screen),
                )
            for key, value in attributes.items():
                connection.execute(
                    f'insert into "{APP}".clickstream_ods_event_attributes_view values (?, ?, ?, ?, ?)', (event_id, name, day, key, value)
                )
        connection.executemany(f'insert into "{APP}".clickstream_user_attr_view values (?, null, ?, ?)', _USER_ATTRIBUTES)
    return path


def run(warehouse: Path, query: ReportQuery, params: dict) -> list[tuple]:
    """``query`` through the query layer for DuckDB, as the Explore pages run it."""
    written = transpile(query, "duckdb", app_id=APP)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(written.sql, written.bind(params)).fetchall()
