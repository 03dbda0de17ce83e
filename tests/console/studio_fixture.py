"""A small DuckDB warehouse for the dashboards' tests: the preset views the reports read, as
tables with the real views' columns and types (dbt_project/models/marts/_marts.yml), filled with
a few hundred generated events of the tests' project app ``shop_web`` over January 2026, with one
day without events, published as a read snapshot, and a console project pointing at it."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from flask.testing import FlaskClient

from clickstream_console.identity.roles import Role
from clickstream_project.published_warehouse import publish
from tests.console.console_helpers import add_user, console_app, sign_in, write_project

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
        _build_acquisition_views(connection, generator)
        _build_device_views(connection, generator)
        _build_path_views(connection, generator)
        _build_engagement_views(connection, generator)
        _build_retention_views(connection)
        _build_retention_models(connection)
        _build_activity_models(connection)
        # Last: other builders add sessions to the path view.
        connection.execute(f'create table "{APP_ID}".clickstream_path_nodes as {PATH_NODES_FROM_VIEW}')
        connection.execute(f'create table "{APP_ID}".clickstream_page_views_quarter_hourly as {PAGE_VIEWS_FROM_VIEWS}')
    return path


def write_studio_project(directory: Path, **overrides) -> Path:
    """The tests' project with its DuckDB warehouse built here and published, as a build does."""
    database = directory / "studio.duckdb"
    publish(build_studio_warehouse(database))
    return write_project(directory, pipeline={"modeling": {"duckdb_path": str(database)}}, **overrides)


def signed_in_studio(directory: Path, role: Role = Role.ANALYST, **overrides) -> tuple[FlaskClient, Path]:
    """A test client signed in as a user with ``role`` on the studio project built in ``directory``
    (``overrides`` go to the project file), and the project's warehouse file."""
    app = console_app(write_studio_project(directory, **overrides))
    email = f"{role.name.lower()}@example.com"
    add_user(app, email, [role])
    client = app.test_client()
    sign_in(client, email)
    return client, directory / "studio.duckdb"


def report_data(client: FlaskClient, url: str, query: str | dict) -> dict:
    """The JSON of ``url`` + ``/data`` for ``query`` (a query string or a dict); it must be a 200."""
    response = client.get(f"{url}/data?{query}") if isinstance(query, str) else client.get(f"{url}/data", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def sql(database: Path, text: str, params: list | None = None) -> list[tuple]:
    """What the test computes itself, straight on the file, for comparing with the report."""
    with duckdb.connect(str(database), read_only=True) as connection:
        connection.execute(f"set search_path = '{APP_ID}'")
        return connection.execute(text, params or []).fetchall()


# Acquisition: new users from mid-December (a comparison has a previous period) to the end of
# January, none on QUIET_DAY; the event fixture's users u00-u39 are among them.
NEW_USERS = 220
FIRST_VISIT_DAYS = (date(2025, 12, 10), date(2026, 1, 31))
# A country with a quote in its name: filters must treat it as data.
QUOTED_COUNTRY = "Côte d'Ivoire"
CITIES = {"France": ("Paris", "Lyon"), "Germany": ("Berlin",), QUOTED_COUNTRY: ("Abidjan",), None: (None,)}
TRAFFIC = (("google", "cpc", "winter_sale"), ("google", "organic", None), ("newsletter", "email", "it's new"), ("(direct)", None, None))
INSTALL_SOURCES = {"Android": ("Google Play", "Huawei AppGallery"), "iOS": ("App Store",), "Web": (None,)}
_USER_DIM_COLUMNS = (
    "user_pseudo_id varchar, user_id varchar, first_visit_date date, first_visit_install_source varchar, "
    "first_visit_device_language varchar, first_platform varchar, first_visit_country varchar, first_visit_city varchar, "
    "first_traffic_source_source varchar, first_traffic_source_medium varchar, first_traffic_source_name varchar, is_registered varchar"
)


def _user_pseudo_id(number: int) -> str:
    return f"u{number:02d}" if number < 40 else f"n{number:03d}"


def _build_acquisition_views(connection: duckdb.DuckDBPyConnection, generator: random.Random) -> None:
    first_day, last_day = FIRST_VISIT_DAYS
    users, attributes = [], []
    for number in range(NEW_USERS):
        day = first_day + timedelta(days=generator.randrange((last_day - first_day).days + 1))
        if day == QUIET_DAY:
            day += timedelta(days=1)
        platform = generator.choice(PLATFORMS)
        country = generator.choice(sorted(CITIES, key=str))
        source, medium, campaign = generator.choice(TRAFFIC)
        registered = generator.random() < 0.3
        user = _user_pseudo_id(number)
        users.append(
            (
                user,
                f"member-{number}" if registered and generator.random() < 0.2 else None,
                day,
                generator.choice(INSTALL_SOURCES[platform]),
                generator.choice(("en", "fr", "de", None)),
                platform,
                country,
                generator.choice(CITIES[country]),
                source,
                medium,
                campaign,
                "Registered" if registered else "Non-registered",
            )
        )
        for key in generator.sample(("plan", "favourite", "age_group"), generator.randrange(3)):
            value = {"plan": ("free", "pro"), "favourite": ("books", "rock 'n' roll"), "age_group": ("18-24", "25-34")}[key]
            attributes.append((user, f"member-{number}" if registered else None, key, generator.choice(value)))
    connection.execute(f'create table "{APP_ID}".clickstream_user_dim_view ({_USER_DIM_COLUMNS})')
    connection.executemany(f'insert into "{APP_ID}".clickstream_user_dim_view values ({", ".join("?" * 12)})', users)
    connection.execute(
        f'create table "{APP_ID}".clickstream_user_attr_view '
        "(user_pseudo_id varchar, user_id varchar, custom_attr_key varchar, custom_attr_value varchar)"
    )
    connection.executemany(f'insert into "{APP_ID}".clickstream_user_attr_view values (?, ?, ?, ?)', attributes)
    # As the dbt model counts it from the same first visits.
    connection.execute(
        f"""create table "{APP_ID}".clickstream_user_acquisition_view as
        select first_visit_date, first_platform as platform, first_traffic_source_source, first_traffic_source_medium,
            first_traffic_source_name, first_visit_country, count(*) as new_user_count
        from "{APP_ID}".clickstream_user_dim_view
        group by all"""
    )


# Device: one device per user, seen on the days of January the user was active (none on QUIET_DAY).
DEVICE_USERS = 60
QUOTED_MODEL = "Pixel 8 'Pro'"
APP_DEVICES = {
    "Android": (
        ("Samsung", "Galaxy S23", "Samsung", "Android", "14", 1080, 2340),
        ("Google", QUOTED_MODEL, "Google", "Android", "13", None, None),
    ),
    "iOS": (("Apple", "iPhone 15", "Apple", "iOS", "17.2", 1179, 2556),),
}
WEB_BROWSERS = (("Chrome", "120.0", "Windows", "10", "desktop", 1920, 1080), ("Safari", "17.1", "iOS", "17.1", "mobile", 390, 844))
_DEVICE_COLUMNS = (
    "device_id varchar, event_date date, mobile_brand_name varchar, mobile_model_name varchar, manufacturer varchar, "
    "screen_width bigint, screen_height bigint, carrier varchar, network_type varchar, operating_system varchar, "
    "operating_system_version varchar, ua_browser varchar, ua_browser_version varchar, ua_os varchar, ua_os_version varchar, "
    "ua_device varchar, ua_device_category varchar, system_language varchar, time_zone_offset_seconds bigint, "
    "advertising_id varchar, user_pseudo_id varchar, user_id varchar, usage_num bigint"
)


def _build_device_views(connection: duckdb.DuckDBPyConnection, generator: random.Random) -> None:
    platforms = dict(connection.execute(f'select user_pseudo_id, first_platform from "{APP_ID}".clickstream_user_dim_view').fetchall())
    rows = []
    for number in range(DEVICE_USERS):
        user = _user_pseudo_id(number)
        platform = platforms[user]
        if platform == "Web":
            browser, version, os, os_version, category, width, height = generator.choice(WEB_BROWSERS)
            device = (None, None, None, width, height, None, None, None, None, browser, version, os, os_version, "PC", category)
        else:
            brand, model, maker, os, os_version, width, height = generator.choice(APP_DEVICES[platform])
            device = (brand, model, maker, width, height, "Orange", generator.choice(("WIFI", "4G")), os, os_version) + (None,) * 6
        for offset in generator.sample(range(31), generator.randrange(1, 8)):
            day = date(2025, 12, 20) + timedelta(days=offset)
            if day == QUIET_DAY:
                continue
            rows.append((f"dev-{user}", day, *device, "en", 3600, None, user, None, generator.randrange(1, 30)))
    connection.execute(f'create table "{APP_ID}".clickstream_device_view ({_DEVICE_COLUMNS})')
    connection.executemany(f'insert into "{APP_ID}".clickstream_device_view values ({", ".join("?" * 23)})', rows)
    # The event view's flattened device columns the Device report filters its app versions with,
    # from the device row of the event's user and day (none on other days).
    for column in ("operating_system", "ua_device_category", "mobile_brand_name"):
        connection.execute(f'alter table "{APP_ID}".clickstream_ods_event_view add column if not exists device_{column} varchar')
        connection.execute(
            f'update "{APP_ID}".clickstream_ods_event_view as e set device_{column} = d.{column} '
            f'from "{APP_ID}".clickstream_device_view as d where d.user_pseudo_id = e.user_pseudo_id and d.event_date = e.event_date'
        )


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


# clickstream_path_nodes (dbt_project/models/marts/clickstream_path_nodes.sql) from the fixture's
# path view: each session's nodes of each type, a row per node at its first occurrence with the nine
# nodes after and before it, so the Path explorer's numbers from it can be checked against its
# event-level walk (tests/console/test_studio_path_model.py).
_NODE_ORDER = "partition by user_pseudo_id, session_id, node_type order by event_timestamp, event_id"
_NODE_SPAN = "partition by user_pseudo_id, session_id, node_type"
PATH_NODES_FROM_VIEW = f"""
    with nodes as (
        select user_pseudo_id, session_id, platform, event_date, event_timestamp, event_id, 'event' as node_type, event_name as node
        from "{APP_ID}".clickstream_path_view
        union all
        select user_pseudo_id, session_id, platform, event_date, event_timestamp, event_id, 'screen' as node_type, current_screen as node
        from "{APP_ID}".clickstream_path_view
        where current_screen is not null
    ),
    sequenced as (
        select
            user_pseudo_id, session_id, platform, node_type, node,
            row_number() over ({_NODE_ORDER}) as node_position,
            row_number() over (partition by user_pseudo_id, session_id, node_type, node order by event_timestamp, event_id) as occurrence,
            min(event_date) over ({_NODE_SPAN}) as event_date,
            min(event_timestamp) over ({_NODE_SPAN}) // 900000 * 900000 as quarter_hour_timestamp,
            max(event_date) over ({_NODE_SPAN}) as last_event_date,
            max(event_timestamp) over ({_NODE_SPAN}) // 900000 * 900000 as last_quarter_hour_timestamp,
            last_value(node) over ({_NODE_ORDER} rows between unbounded preceding and unbounded following) as last_node,
            lead(node, 1) over ({_NODE_ORDER}) as next_node_1,
            lag(node, 1) over ({_NODE_ORDER}) as previous_node_1,
            lead(node, 2) over ({_NODE_ORDER}) as next_node_2,
            lag(node, 2) over ({_NODE_ORDER}) as previous_node_2,
            lead(node, 3) over ({_NODE_ORDER}) as next_node_3,
            lag(node, 3) over ({_NODE_ORDER}) as previous_node_3,
            lead(node, 4) over ({_NODE_ORDER}) as next_node_4,
            lag(node, 4) over ({_NODE_ORDER}) as previous_node_4,
            lead(node, 5) over ({_NODE_ORDER}) as next_node_5,
            lag(node, 5) over ({_NODE_ORDER}) as previous_node_5,
            lead(node, 6) over ({_NODE_ORDER}) as next_node_6,
            lag(node, 6) over ({_NODE_ORDER}) as previous_node_6,
            lead(node, 7) over ({_NODE_ORDER}) as next_node_7,
            lag(node, 7) over ({_NODE_ORDER}) as previous_node_7,
            lead(node, 8) over ({_NODE_ORDER}) as next_node_8,
            lag(node, 8) over ({_NODE_ORDER}) as previous_node_8,
            lead(node, 9) over ({_NODE_ORDER}) as next_node_9,
            lag(node, 9) over ({_NODE_ORDER}) as previous_node_9
        from nodes
    )
    select * exclude (occurrence) from sequenced where occurrence = 1
"""


# clickstream_page_views_quarter_hourly (dbt_project/models/marts/clickstream_page_views_quarter_hourly.sql)
# from the fixture's path and session views, so the Engagement report's pages from it must equal the
# tests' counts over the views.
PAGE_VIEWS_FROM_VIEWS = f"""
    select p.event_date, p.event_timestamp - p.event_timestamp % 900000 as quarter_hour_timestamp, p.user_pseudo_id, p.session_id,
           p.current_screen, s.platform, s.entry_view, s.exit_view, count(*) as view_events
    from "{APP_ID}".clickstream_path_view as p
    inner join "{APP_ID}".clickstream_session_view as s on s.user_pseudo_id = p.user_pseudo_id and s.session_id = p.session_id
    where p.event_name in ('_screen_view', '_page_view') and p.current_screen is not null
    group by all
"""


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


# Pages and screens the sessions view; one has a quote, which must stay data.
PAGES = ("Home", "Product", "Cart", "Checkout", "Men's shoes", "Search")
_SESSION_COLUMNS = (
    "session_id varchar, user_pseudo_id varchar, platform varchar, session_duration bigint, session_views bigint, "
    "engaged_session integer, bounced_session integer, session_start_timestamp bigint, session_engagement_time bigint, "
    "session_date date, session_date_hour timestamp, entry_view varchar, exit_view varchar"
)
_SESSION_PATH_COLUMNS = (
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
        user, platform, session_id = f"u{generator.randrange(40):02d}", generator.choice(PLATFORMS), f"session-{number:04d}"
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
    # The Path explorer's fixture builds the path view too (call it first): these sessions' events
    # join it, under session ids of their own, so each report's numbers stay its own.
    connection.execute(f'create table if not exists "{APP_ID}".clickstream_path_view ({_SESSION_PATH_COLUMNS})')
    connection.executemany(f'insert into "{APP_ID}".clickstream_session_view values ({", ".join("?" * 13)})', sessions)
    names = ", ".join(column.split()[0] for column in _SESSION_PATH_COLUMNS.split(", "))
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


def _build_retention_models(connection: duckdb.DuckDBPyConnection) -> None:
    """clickstream_user_active_quarter_hours derived from the fixture's events by the model's SQL
    idea (each user's quarter hours with an event), so the report's numbers from it must equal
    the tests' counts over the event view."""
    connection.execute(
        f'create table "{APP_ID}".clickstream_user_active_quarter_hours as '
        "select distinct event_date, event_timestamp - event_timestamp % 900000 as quarter_hour_timestamp, user_pseudo_id "
        f'from "{APP_ID}".clickstream_ods_event_view'
    )


def _build_activity_models(connection: duckdb.DuckDBPyConnection) -> None:
    """clickstream_event_counts_quarter_hourly and clickstream_event_attribute_counts_quarter_hourly
    derived from the fixture's event views by the models' SQL idea (events per user and quarter
    hour with the filtered fields; attribute values per quarter hour), so the Activity report's
    numbers from them must equal the tests' counts over the event views."""
    connection.execute(
        f'create table "{APP_ID}".clickstream_event_counts_quarter_hourly as '
        "select event_date, event_timestamp - event_timestamp % 900000 as quarter_hour_timestamp, user_pseudo_id, event_name, platform, "
        "app_info_version, device_operating_system, device_ua_device_category, device_mobile_brand_name, count(*) as events "
        f'from "{APP_ID}".clickstream_ods_event_view group by all'
    )
    connection.execute(
        f'create table "{APP_ID}".clickstream_event_attribute_counts_quarter_hourly as '
        "select e.event_date, e.event_timestamp - e.event_timestamp % 900000 as quarter_hour_timestamp, e.event_name, e.platform, "
        "e.app_info_version, a.event_parameter_key, a.event_parameter_value, count(*) as events "
        f'from "{APP_ID}".clickstream_ods_event_attributes_view as a '
        f'inner join "{APP_ID}".clickstream_ods_event_view as e on e.event_id = a.event_id and e.event_date = a.event_date group by all'
    )
