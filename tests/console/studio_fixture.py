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
        _build_engagement_views(connection, generator)
        _build_retention_views(connection)
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


# Pages and screens the sessions view; one has a quote, which must stay data.
PAGES = ("Home", "Product", "Cart", "Checkout", "Men's shoes", "Search")
_SESSION_COLUMNS = (
    "session_id varchar, user_pseudo_id varchar, platform varchar, session_duration bigint, session_views bigint, "
    "engaged_session integer, bounced_session integer, session_start_timestamp bigint, session_engagement_time bigint, "
    "session_date date, session_date_hour timestamp, entry_view varchar, exit_view varchar"
)
_PATH_COLUMNS = (
    "user_pseudo_id varchar, event_date date, event_id varchar, event_name varchar, event_timestamp bigint, platform varchar, "
    "session_id varchar, current_screen varchar, event_rank bigint, previous_event varchar, next_event varchar, "
    "previous_screen varchar, next_screen varchar"
)


def _build_engagement_views(connection: duckdb.DuckDBPyConnection, generator: random.Random) -> None:
    """Sessions and their events as the session and path views have them: a session starts, views
    0 to 5 pages or screens 20 s apart, each followed by a _user_engagement; engaged as the model
    says (longer than 10 s or at least 2 views). Some start late in the day and end the next."""
    sessions, path = [], []
    for number in range(200):
        day = FIRST_DAY + timedelta(days=generator.randrange(DAYS))
        if day == QUIET_DAY:
            continue
        user, platform, session_id = f"u{generator.randrange(40):02d}", generator.choice(PLATFORMS), f"s{number:04d}"
        start = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=generator.randrange(86_400))
        view_event = "_page_view" if platform == "Web" else "_screen_view"
        events = [("_session_start", start, None)]
        engagement_ms = 0
        for step, page in enumerate(generator.choice(PAGES) for _ in range(generator.choice((0, 1, 1, 2, 3, 5)))):
            seen = start + timedelta(seconds=20 * step + 1)
            spent = generator.randrange(500, 15_000)
            engagement_ms += spent
            events += [(view_event, seen, page), ("_user_engagement", seen + timedelta(milliseconds=spent), None)]
        views = [screen for _, _, screen in events if screen]
        start_ms = int(start.timestamp() * 1000)
        duration = int(events[-1][1].timestamp() * 1000) - start_ms
        engaged = 1 if duration > 10_000 or len(views) >= 2 else 0
        sessions.append(
            (
                session_id,
                user,
                platform,
                duration,
                len(views),
                engaged,
                1 - engaged,
                start_ms,
                engagement_ms,
                day,
                start.replace(minute=0, second=0, tzinfo=None),
                views[0] if views else None,
                views[-1] if views else None,
            )
        )
        for rank, (name, moment, screen) in enumerate(events):
            before, after = events[rank - 1] if rank else None, events[rank + 1] if rank + 1 < len(events) else None
            path.append(
                (
                    user,
                    moment.date(),
                    f"{session_id}-{rank}",
                    name,
                    int(moment.timestamp() * 1000),
                    platform,
                    session_id,
                    screen,
                    rank + 1,
                    before and before[0],
                    after and after[0],
                    before and before[2],
                    after and after[2],
                )
            )
    connection.execute(f'create table "{APP_ID}".clickstream_session_view ({_SESSION_COLUMNS})')
    # The Path explorer reads the path view too; its table may be built already.
    connection.execute(f'create table if not exists "{APP_ID}".clickstream_path_view ({_PATH_COLUMNS})')
    connection.executemany(f'insert into "{APP_ID}".clickstream_session_view values ({", ".join("?" * 13)})', sessions)
    names = ", ".join(column.split()[0] for column in _PATH_COLUMNS.split(", "))
    connection.executemany(f'insert into "{APP_ID}".clickstream_path_view ({names}) values ({", ".join("?" * 13)})', path)


def _build_retention_views(connection: duckdb.DuckDBPyConnection) -> None:
    """The retention and lifecycle views computed here, in Python, from the fixture's events as the
    models define them: retention from days with any event (day 0 is the whole cohort, up to day
    42), lifecycle from days with a _session_start, churn counted negative in the period after a
    user's last active one before a gap."""
    rows = connection.execute(f'select user_pseudo_id, event_date, event_name from "{APP_ID}".clickstream_ods_event_view').fetchall()
    active_days: dict[str, set[date]] = {}
    session_days: dict[str, set[date]] = {}
    for user, day, name in rows:
        active_days.setdefault(user, set()).add(day)
        if name == "_session_start":
            session_days.setdefault(user, set()).add(day)
    returned: dict[tuple[date, int], int] = {}
    cohort_sizes: dict[date, int] = {}
    for days in active_days.values():
        first = min(days)
        cohort_sizes[first] = cohort_sizes.get(first, 0) + 1
        for day in days:
            if (day - first).days <= 42:
                returned[(first, (day - first).days)] = returned.get((first, (day - first).days), 0) + 1
    retention = [(first, diff, count, cohort_sizes[first]) for (first, diff), count in sorted(returned.items())]
    connection.execute(
        f'create table "{APP_ID}".clickstream_retention_view (first_date date, day_diff bigint, returned_user_count bigint, total_users bigint)'
    )
    connection.executemany(f'insert into "{APP_ID}".clickstream_retention_view values (?, ?, ?, ?)', retention)
    for view, stage_column, length, period_of in (
        ("clickstream_lifecycle_daily_view", "this_day_value", 1, lambda day: day),
        ("clickstream_lifecycle_weekly_view", "this_week_value", 7, lambda day: day - timedelta(days=day.weekday())),
    ):
        counts: dict[tuple[date, str], int] = {}
        for days in session_days.values():
            periods = sorted({period_of(day) for day in days})
            for index, period in enumerate(periods):
                gap_before = (period - periods[index - 1]).days if index else None
                stage = "1-NEW" if gap_before is None else "2-ACTIVE" if gap_before == length else "3-RETURN"
                counts[(period, stage)] = counts.get((period, stage), 0) + 1
                if index + 1 == len(periods) or (periods[index + 1] - period).days > length:
                    churn = (period + timedelta(days=length), "0-CHURN")
                    counts[churn] = counts.get(churn, 0) - 1
        connection.execute(f'create table "{APP_ID}".{view} (time_period date, {stage_column} varchar, user_count bigint)')
        connection.executemany(f'insert into "{APP_ID}".{view} values (?, ?, ?)', [(*key, count) for key, count in sorted(counts.items())])
