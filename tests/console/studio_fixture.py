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
        _build_path_views(connection, generator)
    return path


def write_studio_project(directory: Path) -> Path:
    """The tests' project with its DuckDB warehouse built here and published, as a build does."""
    database = directory / "studio.duckdb"
    publish(build_studio_warehouse(database))
    return write_project(directory, pipeline={"modeling": {"duckdb_path": str(database)}})


def sql(database: Path, text: str, params: list | None = None) -> list[tuple]:
    """What the test computes itself, straight on the file, for comparing with the report."""
    with duckdb.connect(str(database), read_only=True) as connection:
        connection.execute(f"set search_path = '{APP_ID}'")
        return connection.execute(text, params or []).fetchall()


# Path explorer: screens a session walks through (the next screen drawn from each one's list),
# with more search pages than a step shows, so some steps group the rest as "(other)".
PATH_SCREENS = {
    "Home": ("Product", "Product", "Search", "Kid's corner", "Home"),
    "Product": ("Cart", "Product", "Home", "Search"),
    "Search": ("Product", "Search", "Home"),
    "Kid's corner": ("Product", "Home"),
    "Cart": ("Checkout", "Product", "Home"),
    "Checkout": ("Home",),
}
SEARCH_PAGES = 14
_PATH_COLUMNS = (
    "user_pseudo_id varchar, event_date date, event_id varchar, event_name varchar, event_timestamp bigint, platform varchar, "
    "session_id varchar, current_screen varchar"
)


def _build_path_views(connection: duckdb.DuckDBPyConnection, generator: random.Random) -> None:
    """``clickstream_path_view``: sessions of 1 to 12 events (a session start, page views, carts and
    purchases, some in the same millisecond), one session over the midnight into 2026-01-05 and
    none on the quiet day; ranks and previous/next columns computed as the dbt model does."""
    rows = []
    starts = [datetime(2026, 1, 4, 23, 58, tzinfo=UTC)]
    while len(starts) < 160:
        day = FIRST_DAY + timedelta(days=generator.randrange(DAYS))
        if day != QUIET_DAY and day + timedelta(days=1) != QUIET_DAY:
            starts.append(datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=generator.randrange(80_000)))
    for number, moment in enumerate(starts):
        session, user, platform = f"s{number:03d}", f"u{generator.randrange(40):02d}", generator.choice(PLATFORMS)
        events = [("_session_start", None)]
        screen = generator.choice(("Home", "Home", "Search", "Product"))
        for _ in range(generator.randrange(12)):
            if generator.random() < 0.2:
                events.append((generator.choice(("add_to_cart", "purchase", "_user_engagement")), None))
                continue
            shown = f"Search: query {generator.randrange(SEARCH_PAGES)}" if screen == "Search" else screen
            events.append(("_page_view", shown))
            screen = generator.choice(PATH_SCREENS[screen])
        for index, (name, shown) in enumerate(events):
            # Now and then two events in the same millisecond (they share an event_rank).
            if index and generator.random() > 0.1:
                moment += timedelta(seconds=generator.randrange(5, 90))
            rows.append((user, moment.date(), f"p{number:03d}-{index:02d}", name, int(moment.timestamp() * 1000), platform, session, shown))
    connection.execute(f"create temporary table path_events ({_PATH_COLUMNS})")
    connection.executemany("insert into path_events values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    connection.execute(
        f"""
        create table "{APP_ID}".clickstream_path_view as
        select
            *,
            dense_rank() over (partition by user_pseudo_id, session_id order by event_timestamp) as event_rank,
            lag(event_name) over (partition by user_pseudo_id, session_id order by event_timestamp, event_id) as previous_event,
            lead(event_name) over (partition by user_pseudo_id, session_id order by event_timestamp, event_id) as next_event,
            lag(current_screen) over (partition by user_pseudo_id, session_id order by event_timestamp, event_id) as previous_screen,
            lead(current_screen) over (partition by user_pseudo_id, session_id order by event_timestamp, event_id) as next_screen
        from path_events
        """
    )
