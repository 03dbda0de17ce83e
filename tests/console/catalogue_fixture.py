"""A small DuckDB warehouse for the Data Management tests: the event catalogue's views as tables
with the dbt models' columns and types (dbt_project/models/marts/_clickstream_catalogue_*.yml),
filled with hand-written rows of the tests' app ``shop_web`` whose newest event date is 20 January
2026, published as a read snapshot, and a console project pointing at it. The project's other
app, ``shop_android``, has no catalogue (a warehouse built before the catalogue models)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from clickstream_project.published_warehouse import publish
from tests.console.console_helpers import write_project

APP_ID = "shop_web"
NEWEST = date(2026, 1, 20)
# An event name that is also SQL, and one a spreadsheet would run: both are data.
SQL_LIKE_NAME = "it's; drop table x --"
FORMULA_NAME = '=HYPERLINK("http://x.invalid")'

D = date.fromisoformat
SDK = "aws-solution-clickstream-sdk"
# name, first seen, last seen, events and users over the 30 days, platforms, SDK versions over
# the 30 days (null: no event of those days sent one)
EVENTS = [
    ("_page_view", D("2025-12-01"), NEWEST, 120, 30, "Android, Web", f"{SDK} 0.12.4, {SDK} 0.12.5"),
    ("add_to_cart", D("2025-12-05"), D("2026-01-19"), 40, 12, "Web", f"{SDK} 0.12.5"),
    ("purchase", D("2026-01-15"), NEWEST, 5, 4, "Android, iOS", f"{SDK} 0.11.3, {SDK} 0.12.4"),
    (SQL_LIKE_NAME, D("2026-01-10"), D("2026-01-11"), 2, 1, "Web", None),
    # First seen exactly 7 days before the newest date: new by default.
    (FORMULA_NAME, D("2026-01-13"), D("2026-01-13"), 1, 1, "Web", "custom-sdk 2"),
]
# kind, event name, key, types, first seen, last seen, events, users (user attributes), platforms
PROPERTIES = [
    ("event_parameter", "_page_view", "_page_title", "string", D("2025-12-01"), NEWEST, 118, None, "Android, Web"),
    ("event_parameter", "_page_view", "_session_id", "string", D("2025-12-01"), NEWEST, 120, None, "Android, Web"),
    ("event_parameter", "purchase", "value", "double, int", D("2026-01-15"), NEWEST, 5, None, "Android, iOS"),
    ("event_parameter", "add_to_cart", "item", "string", D("2025-12-05"), D("2026-01-19"), 40, None, "Web"),
    ("user_attribute", "", "plan", "string", D("2025-12-01"), NEWEST, 60, 25, "Android, Web"),
    ("user_attribute", "", "age", "int", D("2025-12-03"), D("2026-01-18"), 20, 9, "Web"),
]
# kind, event name, key, value, events over the 30 days, rank
TOP_VALUES = [
    ("event_parameter", "_page_view", "_page_title", "Home", 70, 1),
    ("event_parameter", "_page_view", "_page_title", "Men's shoes", 30, 2),
    ("event_parameter", "_page_view", "_page_title", "Cart", 18, 3),
    ("event_parameter", "purchase", "value", "9.99", 3, 1),
    ("event_parameter", "purchase", "value", "20", 2, 2),
    ("event_parameter", "add_to_cart", "item", "sku1", 40, 1),
    ("user_attribute", "", "plan", "pro", 40, 1),
    ("user_attribute", "", "plan", "free", 20, 2),
    ("user_attribute", "", "age", "30", 20, 1),
]


def build_catalogue_warehouse(path: Path) -> Path:
    with duckdb.connect(str(path)) as connection:
        connection.execute(f'create schema "{APP_ID}"')
        connection.execute(
            f'create table "{APP_ID}".clickstream_catalogue_events (event_name varchar, first_seen_date date, last_seen_date date, '
            "events_30d bigint, users_30d bigint, platforms varchar, sdk_versions varchar, newest_event_date date)"
        )
        connection.execute(
            f'create table "{APP_ID}".clickstream_catalogue_properties (kind varchar, event_name varchar, property_key varchar, '
            "value_types varchar, first_seen_date date, last_seen_date date, events_30d bigint, users_30d bigint, platforms varchar)"
        )
        connection.execute(
            f'create table "{APP_ID}".clickstream_catalogue_top_values (kind varchar, event_name varchar, property_key varchar, '
            "property_value varchar, events_30d bigint, value_rank bigint)"
        )
        connection.executemany(
            f'insert into "{APP_ID}".clickstream_catalogue_events values (?, ?, ?, ?, ?, ?, ?, ?)', [(*e, NEWEST) for e in EVENTS]
        )
        connection.executemany(f'insert into "{APP_ID}".clickstream_catalogue_properties values (?, ?, ?, ?, ?, ?, ?, ?, ?)', PROPERTIES)
        connection.executemany(f'insert into "{APP_ID}".clickstream_catalogue_top_values values (?, ?, ?, ?, ?, ?)', TOP_VALUES)
        # The table the published pointer takes each app's newest event hour from.
        connection.execute(f'create table "{APP_ID}".ods_events as select 1768910400000 as event_timestamp')
    return path


def write_catalogue_project(directory: Path) -> Path:
    """The tests' project with the catalogue warehouse built here and published, as a build does."""
    database = directory / "catalogue.duckdb"
    publish(build_catalogue_warehouse(database))
    return write_project(directory, pipeline={"modeling": {"duckdb_path": str(database)}})


def sql(database: Path, text: str, params: list | None = None) -> list[tuple]:
    """What the tests compute themselves, straight on the file."""
    with duckdb.connect(str(database), read_only=True) as connection:
        connection.execute(f"set search_path = '{APP_ID}'")
        return connection.execute(text, params or []).fetchall()
