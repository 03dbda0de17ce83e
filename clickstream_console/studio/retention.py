"""The Retention report (implementation guide, "Retention report"): how often and for how long users
come back after their first visit. Daily, weekly and monthly active users (DAU, WAU, MAU: distinct
users on the day, in the 7 and in the 30 days ending on it) and stickiness (DAU/WAU, WAU/MAU,
DAU/MAU) from ``clickstream_user_active_quarter_hours`` (each user's quarter hours with an event,
the events' days in any zone); the cohort retention table (users active ``day_diff`` days after
their first day, per first day) from ``clickstream_retention_view``; the lifecycle stages (new,
active, return, churn) per day and per week from ``clickstream_lifecycle_daily_view`` and
``clickstream_lifecycle_weekly_view``.

No dimensions: the retention and lifecycle views count all of the app's users per UTC day (the
models aggregate them with no platform or version), so a filter would change some charts and not
the others. The guide's "Event User Type" is a QuickSight calculated field, not offered; cohorts
are by first day (the view has no weekly cohorts).
"""

from __future__ import annotations

from clickstream_console.studio.model import Chart, Report, days_in_range, quarter_hour_local_days, utc_dates_scanned
from clickstream_console.warehouse.query import ReportQuery

# Every day of the range (at most selection.MAX_DAYS < 1000) from three digits, in SQL all three
# warehouses run: a day without any event still has a WAU and a MAU.
_DAY_GRID = """
digits as (
    select 0 as n union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
),
days as (
    select cast(cast(:start_date as date) + (ones.n + 10 * tens.n + 100 * hundreds.n) * interval '1' day as date) as on_date
    from digits as ones cross join digits as tens cross join digits as hundreds
)"""

# Each user's active days from 29 days before the range (the MAU of its first day counts them) to
# its end, from the quarter hours they had an event in (clickstream_user_active_quarter_hours: a
# quarter hour lies within one day in every zone). The day in the zone is computed once per
# quarter hour of the range (a few thousand), not per user's quarter hour (half a million in 36 days
# of the bench; model.quarter_hour_local_days), and joined. A user counts in DAU on an active day, in WAU the 7 days and in MAU the
# 30 days from it, each until their next active day starts the next span; summing +1 where a span
# starts and -1 where it ends gives each day's counts from one pass over the user days, where
# counting distinct users per trailing window reads every user day 30 times (3M events, 90 days,
# DuckDB on 2 cores: 1.5 s against 28 s).
_ACTIVE_USERS_BY_DAY = f"""
with {quarter_hour_local_days("clickstream_user_active_quarter_hours", day_column="activity_date", days_before=29)},
user_days as (
    select distinct q.user_pseudo_id, l.activity_date
    from clickstream_user_active_quarter_hours as q
    inner join local_days as l on l.quarter_hour_timestamp = q.quarter_hour_timestamp
    where {utc_dates_scanned("q", days_before=29)}
),
spans as (
    select
        activity_date,
        lead(activity_date) over (partition by user_pseudo_id order by activity_date) as next_date
    from user_days
),
span_ends as (
    select
        activity_date,
        cast(activity_date + interval '1' day as date) as day_end,
        cast(activity_date + interval '7' day as date) as week_end,
        cast(activity_date + interval '30' day as date) as month_end,
        next_date
    from spans
),
{_DAY_GRID.strip()},
changes as (
    select activity_date as on_date, 1 as dau, 1 as wau, 1 as mau from span_ends
    union all
    select day_end, -1, 0, 0 from span_ends
    union all
    select case when next_date < week_end then next_date else week_end end, 0, -1, 0 from span_ends
    union all
    select case when next_date < month_end then next_date else month_end end, 0, 0, -1 from span_ends
    union all
    select on_date, 0, 0, 0 from days
),
per_day as (
    select on_date, sum(dau) as dau, sum(wau) as wau, sum(mau) as mau
    from changes
    group by on_date
),
active as (
    select
        on_date,
        sum(dau) over (order by on_date rows between unbounded preceding and current row) as daily_active_users,
        sum(wau) over (order by on_date rows between unbounded preceding and current row) as weekly_active_users,
        sum(mau) over (order by on_date rows between unbounded preceding and current row) as monthly_active_users
    from per_day
),
by_day as (
    select
        on_date,
        daily_active_users,
        weekly_active_users,
        monthly_active_users,
        round(100.0 * daily_active_users / nullif(weekly_active_users, 0), 1) as dau_per_wau_percent,
        round(100.0 * weekly_active_users / nullif(monthly_active_users, 0), 1) as wau_per_mau_percent,
        round(100.0 * daily_active_users / nullif(monthly_active_users, 0), 1) as dau_per_mau_percent
    from active
    where on_date between :start_date and :end_date
)"""

KPIS = ReportQuery(
    "retention_kpis",
    f"""
{_ACTIVE_USERS_BY_DAY.strip()}
select
    (select count(distinct user_pseudo_id) from user_days where activity_date between :start_date and :end_date) as active_users,
    round(avg(daily_active_users), 1) as average_daily_active_users,
    round(avg(weekly_active_users), 1) as average_weekly_active_users,
    round(avg(monthly_active_users), 1) as average_monthly_active_users,
    round(avg(dau_per_mau_percent), 1) as stickiness_percent
from by_day
""",
)

ACTIVE_USERS = ReportQuery(
    "retention_active_users",
    f"""
{_ACTIVE_USERS_BY_DAY.strip()}
select
    on_date as event_date,
    daily_active_users,
    weekly_active_users,
    monthly_active_users,
    dau_per_wau_percent,
    wau_per_mau_percent,
    dau_per_mau_percent
from by_day
order by on_date
""",
)

# Cohorts starting in the range, every day after it the view has (day 0 is the whole cohort). By
# day first: the heatmap takes its columns and rows in the order they come (every cohort has day 0).
COHORTS = ReportQuery(
    "retention_cohorts",
    f"""
select
    r.first_date,
    r.day_diff,
    r.returned_user_count,
    r.total_users,
    round(100.0 * r.returned_user_count / nullif(r.total_users, 0), 1) as retention_rate_percent
from clickstream_retention_view as r
where {days_in_range("r.first_date")}
order by r.day_diff, r.first_date
""",
)

# Churn counts are negative in the views, so the stacked bars show losses below zero.
LIFECYCLE_DAILY = ReportQuery(
    "retention_lifecycle_daily",
    f"""
select l.time_period, l.this_day_value, l.user_count
from clickstream_lifecycle_daily_view as l
where {days_in_range("l.time_period")}
order by l.time_period, l.this_day_value
""",
)

# A week is in the range when its Monday (time_period) is.
LIFECYCLE_WEEKLY = ReportQuery(
    "retention_lifecycle_weekly",
    f"""
select l.time_period, l.this_week_value, l.user_count
from clickstream_lifecycle_weekly_view as l
where {days_in_range("l.time_period")}
order by l.time_period, l.this_week_value
""",
)

FRESHNESS = ReportQuery("retention_freshness", "select max(event_timestamp) as latest_event_timestamp from clickstream_ods_event_view")

REPORT = Report(
    name="retention",
    title="Retention",
    description="How often users come back: active users and stickiness, retention by first day, and lifecycle stages.",
    dimensions=(),
    charts=(
        Chart(
            "kpis",
            "kpi",
            "Summary",
            KPIS,
            x=None,
            y=(
                "active_users",
                "average_daily_active_users",
                "average_weekly_active_users",
                "average_monthly_active_users",
                "stickiness_percent",
            ),
        ),
        Chart(
            "active_users",
            "line",
            "Daily, weekly and monthly active users",
            ACTIVE_USERS,
            x="event_date",
            y=("daily_active_users", "weekly_active_users", "monthly_active_users"),
            daily=True,
        ),
        Chart(
            "stickiness",
            "line",
            "Stickiness",
            ACTIVE_USERS,
            x="event_date",
            y=("dau_per_mau_percent", "dau_per_wau_percent", "wau_per_mau_percent"),
            daily=True,
        ),
        Chart(
            "cohorts",
            "heatmap",
            "Retention by first day: % of the cohort active N days later",
            COHORTS,
            x="day_diff",
            y=("retention_rate_percent",),
            series="first_date",
            utc_days=True,
        ),
        Chart(
            "lifecycle_daily",
            "bar",
            "Lifecycle stages per day",
            LIFECYCLE_DAILY,
            x="time_period",
            y=("user_count",),
            series="this_day_value",
            stacked=True,
            daily=True,
            utc_days=True,
        ),
        Chart(
            "lifecycle_weekly",
            "bar",
            "Lifecycle stages per week (from Monday)",
            LIFECYCLE_WEEKLY,
            x="time_period",
            y=("user_count",),
            series="this_week_value",
            stacked=True,
            utc_days=True,
        ),
    ),
    freshness=FRESHNESS,
)
