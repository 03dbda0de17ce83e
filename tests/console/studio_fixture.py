"""A small DuckDB warehouse for the dashboards' tests: the preset views the reports read, as
tables with the real views' columns and types (dbt_project/models/marts/_marts.yml), filled with
a few hundred generated events of the tests' project app ``shop_web`` over January 2026, with one
day without events, published as a read snapshot, and a console project pointing at it."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from clickstream_project.published_warehouse import publish
from tests.console.console_helpers import write_project

APP_ID = "shop_web"
FIRST_DAY = date(2026, 1, 1)
DAYS = 20
# No event on this day: the daily series shows it as 0.
QUIET_DAY = date(2026, 1, 10)
# An event name that is also SQL: filters must treat it as data.
SQL_LIKE_NAME = "it's; drop table x --"
# An event name a spreadsheet would run as a formula: the CSV export must keep it text.
FORMULA_NAME = '=HYPERLINK("http://x.invalid")'
EVENT_NAMES = (
    "_page_view",
    "_page_view",
    "_page_view",
    "add_to_cart",
    "add_to_cart",
    "purchase",
    "_session_start",
    SQL_LIKE_NAME,
    FORMULA_NAME,
)
PLATFORMS = ("Web", "Android", "iOS")
VERSIONS = ("1.0.0", "1.1.0")
ATTRIBUTES = {
    "_page_title": ("Home", "Cart", "Checkout", "Product", "Search", "About", "Help"),
    "category": ("books", "games", "music"),
    "price": ("9.99", "19.99", "4.5"),
}

_EVENT_COLUMNS = (
    "event_id varchar, event_name varchar, event_date date, event_timestamp bigint, platform varchar, "
    "user_pseudo_id varchar, user_id varchar, app_info_version varchar"
)
_ATTRIBUTE_COLUMNS = "event_id varchar, event_name varchar, event_date date, event_parameter_key varchar, event_parameter_value varchar"


def build_studio_warehouse(path: Path) -> Path:
    generator = random.Random(14)
    events, attributes = [], []
    for number in range(600):
        day = FIRST_DAY + timedelta(days=generator.randrange(DAYS))
        if day == QUIET_DAY:
            continue
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=generator.randrange(86_400))
        event_id = f"e{number:04d}"
        name = generator.choice(EVENT_NAMES)
        user = f"u{generator.randrange(40):02d}"
        events.append(
            (event_id, name, day, int(moment.timestamp() * 1000), generator.choice(PLATFORMS), user, None, generator.choice(VERSIONS))
        )
        for key in generator.sample(sorted(ATTRIBUTES), generator.randrange(1, 4)):
            attributes.append((event_id, name, day, key, generator.choice(ATTRIBUTES[key])))
    with duckdb.connect(str(path)) as connection:
        connection.execute(f'create schema "{APP_ID}"')
        connection.execute(f'create table "{APP_ID}".clickstream_ods_event_view ({_EVENT_COLUMNS})')
        connection.execute(f'create table "{APP_ID}".clickstream_ods_event_attributes_view ({_ATTRIBUTE_COLUMNS})')
        connection.executemany(f'insert into "{APP_ID}".clickstream_ods_event_view values (?, ?, ?, ?, ?, ?, ?, ?)', events)
        connection.executemany(f'insert into "{APP_ID}".clickstream_ods_event_attributes_view values (?, ?, ?, ?, ?)', attributes)
        # The table the published pointer takes each app's newest event hour from.
        connection.execute(f'create table "{APP_ID}".ods_events as select event_timestamp from "{APP_ID}".clickstream_ods_event_view')
    return path


def write_studio_project(directory: Path, **overrides) -> Path:
    """The tests' project with its DuckDB warehouse built here and published, as a build does."""
    database = directory / "studio.duckdb"
    publish(build_studio_warehouse(database))
    return write_project(directory, pipeline={"modeling": {"duckdb_path": str(database)}}, **overrides)


def sql(database: Path, text: str, params: list | None = None) -> list[tuple]:
    """What the test computes itself, straight on the file, for comparing with the report."""
    with duckdb.connect(str(database), read_only=True) as connection:
        connection.execute(f"set search_path = '{APP_ID}'")
        return connection.execute(text, params or []).fetchall()
