"""Synthetic ``ods_events`` for the benchmarks, written with DuckDB (no Spark), in the exact
types of the contract's schema and the processing job's file layout, and modeled with the
project's own dbt project on DuckDB.

The traffic looks like an app's: sessions of a few page or screen views (with page titles and
screen names that follow a path), searches, carts and purchases, ``_scroll`` and
``_user_engagement``; users on Web, Android and iOS with a stable country, language, device and
browser, an app version that upgrades as releases come out, a traffic source per session, and
a first visit (``_first_visit`` on the web, ``_first_open`` in apps) on their first session.
Each day brings a cohort of new users; a session belongs to a user of a cohort that many days
old with a probability falling with the age, so users come back over days and retention,
lifecycle and paths have something to show. Traffic follows the time of day. Everything is a
hash of the hour and session numbers: the same arguments give the same events.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from clickstream_tools.generator.profiles import SDK_NAME, SDK_VERSIONS

REPO_ROOT = Path(__file__).resolve().parents[1]
# SDK retries delivered twice in the same hour.
DUPLICATE_SHARE = 0.001
# Share of a day's sessions from users whose cohort is that day (new users), and the size of a
# day's cohort relative to the day's sessions: about 1.3 sessions per new user on its first day.
NEW_USER_SESSION_SHARE = 0.45
COHORT_SHARE = 0.35
# Mean age in days of the cohort a returning session comes from.
RETURN_DAYS = 5
# Views and other events between _session_start and the closing _scroll/_user_engagement:
# 1 + an exponential of this mean.
MEAN_EXTRA_STEPS = 4
# Events of a session, on average: _session_start, the steps, _scroll and _user_engagement.
EVENTS_PER_SESSION = 1 + 1 + MEAN_EXTRA_STEPS + 2
STEP_SECONDS = 25
PAGES = ("Home", "Products", "Product detail", "Search results", "Cart", "Checkout", "Order confirmed", "Account", "Help", "Blog")
SCREENS = ("HomeScreen", "ProductList", "ProductDetail", "SearchScreen", "CartScreen", "CheckoutScreen", "OrderScreen", "ProfileScreen")
# (event name, weight out of 20) of the steps that are not views.
ACTIONS = ("search", "search", "add_to_cart", "add_to_cart", "purchase")
COUNTRIES = (  # country, continent, locale; repeated entries weigh more
    ("US", "Americas", "en_US"), ("US", "Americas", "en_US"), ("US", "Americas", "en_US"), ("US", "Americas", "en_US"),
    ("DE", "Europe", "de_DE"), ("DE", "Europe", "de_DE"), ("GB", "Europe", "en_GB"), ("GB", "Europe", "en_GB"),
    ("FR", "Europe", "fr_FR"), ("IN", "Asia", "en_IN"), ("IN", "Asia", "en_IN"), ("BR", "Americas", "pt_BR"),
    ("JP", "Asia", "ja_JP"), ("CA", "Americas", "en_CA"), ("ES", "Europe", "es_ES"), ("IT", "Europe", "it_IT"),
)  # fmt: skip
TRAFFIC = (  # source, medium, campaign
    (None, None, None), (None, None, None), (None, None, None), ("google", "organic", None), ("google", "organic", None),
    ("google", "cpc", "winter_sale"), ("facebook", "social", None), ("newsletter", "email", "weekly"),
    ("bing", "organic", None), ("partner.example", "referral", None),
)  # fmt: skip
ANDROID_DEVICES = (("Samsung", "Galaxy S23", 1080, 2340), ("Samsung", "Galaxy A54", 1080, 2340), ("Google", "Pixel 8", 1080, 2400),
                   ("Xiaomi", "Redmi Note 12", 1080, 2400), ("OnePlus", "OnePlus 11", 1440, 3216))  # fmt: skip
IOS_DEVICES = (("Apple", "iPhone 15", 1179, 2556), ("Apple", "iPhone 14", 1170, 2532), ("Apple", "iPhone 13", 1170, 2532),
               ("Apple", "iPad Air", 1640, 2360))  # fmt: skip
BROWSERS = (("Chrome", "Windows", "desktop"), ("Chrome", "Windows", "desktop"), ("Chrome", "macOS", "desktop"),
            ("Safari", "macOS", "desktop"), ("Safari", "iOS", "mobile"), ("Chrome", "Android", "mobile"),
            ("Firefox", "Windows", "desktop"), ("Edge", "Windows", "desktop"))  # fmt: skip
NETWORKS = ("WIFI", "WIFI", "5G", "4G")
# The lines of dbt's output that tell a build's progress (not the tests passing one by one).
_PROGRESS_MARKS = (" START sql ", " OK created ", "ERROR", "FAIL ", "Finished running")
# A release every RELEASE_DAYS days; a user upgrades up to that many days later.
RELEASE_DAYS = 21


def ods_template(connection) -> None:
    """An empty DuckDB table with the exact ods_events types (from the contract's schema)."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema

    from plugins.ods_schema import ODS_EVENTS_SCHEMA

    empty = pa.Table.from_pylist([], schema=to_arrow_schema(ODS_EVENTS_SCHEMA))
    connection.register("ods_empty", empty)
    connection.execute("create or replace table ods_template as select * from ods_empty")


def create_events_table(connection, table: str) -> None:
    """``table``: the ods_events columns plus ``hour_index`` (hours since the start), empty; and
    the users seen so far, whose next sessions carry no first visit."""
    ods_template(connection)
    connection.execute(f"create table {table} as select *, 0 as hour_index from ods_template limit 0")
    connection.execute("create table if not exists seen_users (user_pseudo_id varchar primary key)")


def _sql_list(values) -> str:
    """A DuckDB list literal of tuples as structs (f1, f2, ...) or of plain values."""

    def literal(value) -> str:
        if value is None:
            return "null"
        if isinstance(value, int):
            return str(value)
        return "'" + str(value).replace("'", "''") + "'"

    items = []
    for value in values:
        if isinstance(value, tuple):
            items.append("{" + ", ".join(f"'f{index}': {literal(part)}" for index, part in enumerate(value, 1)) + "}")
        else:
            items.append(literal(value))
    return "[" + ", ".join(items) + "]"


def _pick(values, seed: str) -> str:
    """One of ``values`` chosen by the hash of the SQL expression ``seed`` (repeated values weigh more)."""
    return f"{_sql_list(values)}[1 + cast(hash({seed}) % {len(values)} as integer)]"


def _uniform(seed: str) -> str:
    """A number in (0, 1] from the hash of the SQL expression ``seed``."""
    return f"((hash({seed}) % 1000000) + 1) / 1000000.0"


def _kv(key: str, string_value: str = "null", int_value: str = "null") -> str:
    return (
        f"{{'key': '{key}', 'value': {{'double_value': null, 'float_value': null, "
        f"'int_value': {int_value}, 'string_value': {string_value}}}}}"
    )


def generate_hours(connection, table: str, first_hour: int, hours: int, events_per_hour: int, *, app_id: str, start: datetime) -> int:
    """Inserts the events of hours [first_hour, first_hour + hours) after ``start`` into ``table``
    (create_events_table), about ``events_per_hour`` an hour on average; returns the rows added.
    Call it for consecutive ranges of hours: users seen by an earlier call get no first visit."""
    sessions_per_hour = max(1, round(events_per_hour / EVENTS_PER_SESSION))
    cohort_size = max(1, round(sessions_per_hour * 24 * COHORT_SHARE))
    start_ms = int(start.timestamp() * 1000)
    [(before,)] = connection.execute(f"select count(*) from {table}").fetchall()
    connection.execute(f"""
        create or replace temp table chunk_sessions as
        with slots as (
            select h as hour_index, s, 'h' || h || 's' || s as session_id, h // 24 as day_index
            from range({first_hour}, {first_hour + hours}) as hours(h), range({int(sessions_per_hour * 1.5) + 1}) as per_hour(s)
            -- More traffic in the (UTC) afternoon than at night: 0.5x to 1.5x the mean rate.
            where s < {sessions_per_hour} * (1 + 0.5 * sin(2 * pi() * ((h % 24) - 9) / 24))
        ),
        aged as (
            select *,
                case when {_uniform("session_id || 'new'")} < {NEW_USER_SESSION_SHARE} then 0
                     -- Older than the data: any day's cohort (the first days' cohorts would take them all).
                     else cast(floor(-ln({_uniform("session_id || 'age'")}) * {RETURN_DAYS}) as bigint) % (day_index + 1)
                end as cohort_age
            from slots
        ),
        users as (
            select *,
                'u' || (day_index - cohort_age) || '-' || (hash(session_id || 'user') % {cohort_size}) as user_pseudo_id
            from aged
        )
        select
            hour_index, day_index, session_id, user_pseudo_id, hash(user_pseudo_id) as user_hash,
            cast({start_ms} + hour_index * 3600000 + hash(session_id || 'at') % 2700000 as bigint) as session_start,
            1 + cast(least(15, floor(-ln({_uniform("session_id || 'len'")}) * {MEAN_EXTRA_STEPS})) as integer) as extra_steps,
            {_pick(TRAFFIC, "session_id || 'src'")} as traffic,
            {_pick(NETWORKS, "session_id || 'net'")} as network_type
        from users
    """)
    connection.execute("""
        create or replace temp table chunk_first_sessions as
        select session_id from chunk_sessions
        where user_pseudo_id not in (select user_pseudo_id from seen_users)
        qualify row_number() over (partition by user_pseudo_id order by session_start, session_id) = 1
    """)
    connection.execute("insert into seen_users select distinct user_pseudo_id from chunk_sessions on conflict do nothing")
    views = "case when platform = 'Web' then '_page_view' else '_screen_view' end"
    page_index = "(start_page + step - 1 + cast(hash(session_id || step) % 3 = 0 as integer))"
    params = ", ".join([
        _kv("_session_id", string_value="session_id"),
        _kv("_session_start_timestamp", int_value="session_start"),
        _kv("_session_duration", int_value="event_timestamp - session_start"),
        _kv("_page_title", string_value=f"case when event_name = '_page_view' then {_sql_list(PAGES)}[1 + {page_index} % {len(PAGES)}] end"),
        _kv("_screen_name", string_value=f"case when event_name = '_screen_view' then {_sql_list(SCREENS)}[1 + {page_index} % {len(SCREENS)}] end"),
        _kv("_engagement_time_msec", int_value="case when event_name = '_user_engagement' then (event_timestamp - session_start) end"),
    ])  # fmt: skip
    # The SDK each platform's events come from, as the generator sends them (the catalogue lists them).
    sdk_version = "case platform " + " ".join(f"when '{platform}' then '{version}'" for platform, version in SDK_VERSIONS.items()) + " end"
    dimensions = ", ".join([_kv("sdk_name", string_value=f"'{SDK_NAME}'"), _kv("sdk_version", string_value=sdk_version)])
    connection.execute(f"""
        insert into {table}
        with sessions as (
            select chunk_sessions.*,
                case when user_hash % 10 < 5 then 'Web' when user_hash % 10 < 8 then 'Android' else 'iOS' end as platform,
                {_pick(COUNTRIES, "user_pseudo_id || 'geo'")} as country,
                {_pick(ANDROID_DEVICES, "user_pseudo_id || 'dev'")} as android,
                {_pick(IOS_DEVICES, "user_pseudo_id || 'dev'")} as ios,
                {_pick(BROWSERS, "user_pseudo_id || 'ua'")} as browser,
                '2.' || greatest(0, (day_index - cast(user_hash % {RELEASE_DAYS} as bigint)) // {RELEASE_DAYS}) || '.0' as app_version,
                case when hash(session_id || 'start') % 10 < 6 then 0 else cast(hash(session_id || 'start') % 8 as integer) end as start_page,
                session_id in (select session_id from chunk_first_sessions) as is_first
            from chunk_sessions
        ),
        stepped as (
            select sessions.*, unnest(range(-1, extra_steps + 3)) as step from sessions
        ),
        named as (
            select stepped.*,
                cast(session_start + greatest(step, 0) * {STEP_SECONDS * 1000} + hash(session_id || step) % 5000 as bigint) as event_timestamp,
                case
                    when step = -1 then case when platform = 'Web' then '_first_visit' else '_first_open' end
                    when step = 0 then '_session_start'
                    when step = extra_steps + 1 then '_scroll'
                    when step = extra_steps + 2 then '_user_engagement'
                    when step = 1 or hash(session_id || step || 'kind') % 20 >= {len(ACTIONS)} then {views}
                    else {_pick(ACTIONS, "session_id || step || 'action'")}
                end as event_name
            from stepped
            where step >= 0 or is_first
        ),
        deliveries as (
            select * from named
            union all  -- SDK retries: the same event delivered twice
            select * from named where hash(session_id || step || 'dup') % 1000 < {int(DUPLICATE_SHARE * 1000)}
        )
        select
            {{'app_id': '{app_id}', 'id': 'com.example.bench', 'install_source': case when platform = 'Android' then 'google_play' end,
              'version': app_version}} as app_info,
            {{'mobile_brand_name': case platform when 'Android' then android.f1 when 'iOS' then ios.f1 end,
              'mobile_model_name': case platform when 'Android' then android.f2 when 'iOS' then ios.f2 end,
              'manufacturer': case platform when 'Android' then android.f1 when 'iOS' then ios.f1 end,
              'screen_width': case platform when 'Android' then android.f3 when 'iOS' then ios.f3 else 1920 end,
              'screen_height': case platform when 'Android' then android.f4 when 'iOS' then ios.f4 else 1080 end,
              'carrier': null, 'network_type': case when platform <> 'Web' then network_type end,
              'operating_system_version': case platform when 'Android' then '14' when 'iOS' then '17.2' end,
              'operating_system': platform,
              'ua_browser': case when platform = 'Web' then browser.f1 end, 'ua_browser_version': case when platform = 'Web' then '120.0.0' end,
              'ua_os': case when platform = 'Web' then browser.f2 end, 'ua_os_version': null,
              'ua_device': case when platform = 'Web' then 'Other' end, 'ua_device_category': case when platform = 'Web' then browser.f3 end,
              'system_language': split_part(country.f3, '_', 1), 'time_zone_offset_seconds': 0, 'vendor_id': 'd-' || user_pseudo_id,
              'advertising_id': null, 'host_name': case when platform = 'Web' then 'shop.example.com' end}} as device,
            null as ecommerce,
            0 as event_bundle_sequence_id,
            cast(make_timestamp(event_timestamp * 1000) as date) as event_date,
            [{dimensions}] as event_dimensions,
            session_id || '-' || case when step = -1 then 'fv' else cast(step as varchar) end as event_id,
            event_name,
            -- Only the attributes the event has (a page title on page views, ...).
            list_filter([{params}], lambda p: coalesce(p.value.string_value, cast(p.value.int_value as varchar)) is not null) as event_params,
            null as event_previous_timestamp,
            30000 as event_server_timestamp_offset,
            event_timestamp,
            null as event_value_in_usd,
            {{'city': null, 'continent': country.f2, 'country': country.f1, 'metro': null, 'region': null,
              'sub_continent': null, 'locale': country.f3}} as geo,
            event_timestamp + 30000 as ingest_timestamp,
            [] as items,
            platform,
            [] as privacy_info,
            'bench' as project_id,
            {{'medium': traffic.f2, 'name': traffic.f3, 'source': traffic.f1}} as traffic_source,
            null as user_first_touch_timestamp,
            case when user_hash % 4 = 0 then 'member-' || user_pseudo_id end as user_id,
            null as user_ltv,
            [] as user_properties,
            user_pseudo_id,
            hour_index
        from deliveries
    """)
    [(after,)] = connection.execute(f"select count(*) from {table}").fetchall()
    return after - before


def export_hours(connection, table: str, staging: Path) -> None:
    """All rows of ``table`` to Parquet in one pass: staging/hour_index=N/*.parquet."""
    staging.parent.mkdir(parents=True, exist_ok=True)
    connection.execute(f"copy {table} to '{staging}' (format parquet, partition_by (hour_index))")


def hour_directory(ods_root: Path, app_id: str, hour: datetime) -> Path:
    """Where the processing job writes an hour's files (arrival hour = event hour here)."""
    return (
        ods_root
        / "ods_events"
        / f"partition_app={app_id}"
        / f"partition_year={hour:%Y}"
        / f"partition_month={hour:%m}"
        / f"partition_day={hour:%d}"
    )


def write_hour_files(staging: Path, ods_root: Path, hours: range, *, app_id: str, start: datetime, move: bool = False) -> None:
    """Place the hours' exported files in the processing job's layout (copied, or moved)."""
    for hour_index in hours:
        hour = start + timedelta(hours=hour_index)
        directory = hour_directory(ods_root, app_id, hour)
        directory.mkdir(parents=True, exist_ok=True)
        for number, source in enumerate(sorted((staging / f"hour_index={hour_index}").glob("*.parquet"))):
            target = directory / f"h{hour:%Y%m%d%H}-{number}.parquet"
            if move:
                source.rename(target)
            else:
                shutil.copyfile(source, target)


def dbt_build(work_dir: Path, ods_root: Path, *, app_id: str, database: Path | None = None, echo: bool = False) -> float:
    """`dbt build` of the project's dbt project on DuckDB (models, data tests, unit tests), as
    Dagster runs it, into ``database`` (default work_dir/warehouse.duckdb); returns its seconds.
    With ``echo``, dbt's model lines are printed as they come (a long build shows its progress)."""
    executable = Path(sys.executable).with_name("dbt")
    project = REPO_ROOT / "dbt_project"
    command = [
        str(executable), "--no-use-colors", "build", "--project-dir", str(project), "--profiles-dir", str(project),
        "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"),
        "--vars", json.dumps({"app_id": app_id, "ods_root": str(ods_root)}),
    ]  # fmt: skip
    database = database or work_dir / "warehouse.duckdb"
    env = {**os.environ, "CLICKSTREAM_DUCKDB_PATH": str(database), "CLICKSTREAM_DBT_TARGET": "duckdb"}
    began = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if echo and any(mark in line for mark in _PROGRESS_MARKS):
            print(f"  dbt: {line.rstrip()}", flush=True)
    elapsed = time.perf_counter() - began
    if process.wait() != 0:
        raise SystemExit(f"dbt build failed:\n{''.join(lines)[-4000:]}")
    return elapsed
