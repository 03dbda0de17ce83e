"""The Engagement report (implementation guide, "Engagement report"): how engaged users are, measured
by their sessions and the pages and screens they view. From ``clickstream_session_view``: sessions,
engaged sessions, engagement rate, average engagement time per session and per user, views per
session and bounce rate, in a KPI row and over time, and the landing pages and screens (the
session's ``entry_view``) by engagement. From ``clickstream_page_views_quarter_hourly`` (dbt: the
path view's screen and page views per quarter hour and session, with the session's filters): the
pages and screens by views. Dimensions: platform and the guide's entry and exit view (free text;
the landing pages chart suggests entry views).

Not offered: engagement time per page or screen. The views keep engagement time per session
(``session_engagement_time``); giving it to pages needs each ``_user_engagement`` event's
``_engagement_time_msec`` and the screen it was spent on, which only the attributes view has, unnested
from every event's parameters at query time. A page's engagement here is that of the sessions that
landed on it.
"""

from __future__ import annotations

from typing import get_args

from clickstream_console.studio.model import (
    Chart,
    Dimension,
    Report,
    event_day,
    events_in_range,
    filter_clause,
    quarter_hour_local_days,
    utc_dates_scanned,
)
from clickstream_console.warehouse.query import ReportQuery
from clickstream_project.config import Platform

DIMENSIONS = (
    Dimension("platform", "Platform", "s.platform", choices=get_args(Platform)),
    Dimension("entry_view", "Entry view", "s.entry_view"),
    Dimension("exit_view", "Exit view", "s.exit_view"),
)
# The range and the filters on the session view aliased ``s``: a session is in the range by its start.
_SESSION_COLUMNS = ("s", "session_date", "session_start_timestamp")
_SESSIONS_IN_RANGE = f"{events_in_range(*_SESSION_COLUMNS)} and {filter_clause(DIMENSIONS)}"
TOP_PAGES = 20

# The measures of a set of sessions ``s``; rates in percent, times in seconds (the view has ms).
_SESSION_MEASURES = """
    count(*) as sessions,
    coalesce(sum(s.engaged_session), 0) as engaged_sessions,
    round(100.0 * sum(s.engaged_session) / nullif(count(*), 0), 1) as engagement_rate_percent,
    round(sum(s.session_engagement_time) / 1000.0 / nullif(count(*), 0), 1) as engagement_seconds_per_session,
    round(sum(s.session_engagement_time) / 1000.0 / nullif(count(distinct s.user_pseudo_id), 0), 1) as engagement_seconds_per_user,
    round(cast(sum(s.session_views) as double) / nullif(count(*), 0), 2) as views_per_session,
    round(100.0 * sum(s.bounced_session) / nullif(count(*), 0), 1) as bounce_rate_percent"""

KPIS = ReportQuery(
    "engagement_kpis",
    f"""
select
    {_SESSION_MEASURES.strip()},
    count(distinct s.user_pseudo_id) as users
from clickstream_session_view as s
where {_SESSIONS_IN_RANGE}
""",
)

OVER_TIME = ReportQuery(
    "engagement_over_time",
    f"""
select
    {event_day(*_SESSION_COLUMNS)} as session_date,
    {_SESSION_MEASURES.strip()},
    count(distinct s.user_pseudo_id) as users
from clickstream_session_view as s
where {_SESSIONS_IN_RANGE}
group by 1
order by 1
""",
)

# Views per page or screen from clickstream_page_views_quarter_hourly (dbt: a session's views of a
# page or screen per quarter hour, with the session's platform, entry and exit view), aliased ``s``
# so that the report's filters read the session's columns as elsewhere. Its current_screen is the
# path view's: the screen name of a _screen_view, the page title of a _page_view, named as the
# session view's entry and exit views. Joining each view event to its session at query time took
# 180 ms of the report's 340 (bench, 7 days).
PAGES_BY_VIEWS = ReportQuery(
    "engagement_pages_by_views",
    f"""
with {quarter_hour_local_days("clickstream_page_views_quarter_hourly")}
select
    s.current_screen as page_or_screen,
    cast(sum(s.view_events) as bigint) as views,
    count(distinct s.user_pseudo_id) as users,
    count(distinct s.session_id) as sessions
from clickstream_page_views_quarter_hourly as s
inner join local_days as l on l.quarter_hour_timestamp = s.quarter_hour_timestamp
where {utc_dates_scanned("s")} and {filter_clause(DIMENSIONS)}
group by s.current_screen
order by views desc, page_or_screen
limit {TOP_PAGES}
""",
)

LANDING_PAGES_BY_ENGAGEMENT = ReportQuery(
    "engagement_landing_pages",
    f"""
select
    s.entry_view,
    {_SESSION_MEASURES.strip()}
from clickstream_session_view as s
where {_SESSIONS_IN_RANGE}
group by s.entry_view
order by engaged_sessions desc, sessions desc, s.entry_view
limit {TOP_PAGES}
""",
)

FRESHNESS = ReportQuery("engagement_freshness", "select max(event_timestamp) as latest_event_timestamp from clickstream_ods_event_view")

_KPI_MEASURES = (
    "sessions",
    "engaged_sessions",
    "engagement_rate_percent",
    "engagement_seconds_per_session",
    "engagement_seconds_per_user",
    "views_per_session",
    "bounce_rate_percent",
    "users",
)

REPORT = Report(
    name="engagement",
    title="Engagement",
    description="How engaged users are: their sessions, engagement time and bounces, and the pages and screens they view.",
    dimensions=DIMENSIONS,
    charts=(
        Chart("kpis", "kpi", "Summary", KPIS, x=None, y=_KPI_MEASURES),
        Chart(
            "sessions_over_time",
            "line",
            "Sessions over time",
            OVER_TIME,
            x="session_date",
            y=("sessions", "engaged_sessions", "users"),
            daily=True,
        ),
        Chart(
            "engagement_over_time",
            "line",
            "Engagement over time",
            OVER_TIME,
            x="session_date",
            y=("engagement_rate_percent", "bounce_rate_percent", "engagement_seconds_per_session", "views_per_session"),
            daily=True,
        ),
        Chart(
            "pages_by_views",
            "bar",
            f"Top {TOP_PAGES} pages and screens by views",
            PAGES_BY_VIEWS,
            x="page_or_screen",
            y=("views", "users"),
        ),
        Chart(
            "landing_pages",
            "bar",
            f"Top {TOP_PAGES} landing pages and screens by engaged sessions",
            LANDING_PAGES_BY_ENGAGEMENT,
            x="entry_view",
            y=("engaged_sessions", "sessions"),
        ),
    ),
    freshness=FRESHNESS,
)
