{#-
  The product's lifecycle stages per period ('day' or 'week'), from days with a _session_start:
  a user's first active period is 1-NEW, one right after an active period 2-ACTIVE, one after
  a gap 3-RETURN; the period after a user's last active period before a gap (or ever) counts
  the user as 0-CHURN, negative, so that the stacked bars show losses below zero. Weeks start
  on Monday on every warehouse.

  Two steps, both incremental:
  - lifecycle_user_periods: one row per user and active period with its stage and the period
    its churn is counted in; a user with new events gets all their rows recomputed (a user's
    history is a few rows per period).
  - lifecycle_counts: the counts per period; only the periods a new active period can change
    are recomputed: the new period itself, the user's next active period (its stage), and the
    period after the previous, the new and the next active period (where churn is counted).
-#}

{% macro lifecycle_user_periods(period) -%}
{%- set days_per_period = {'day': 1, 'week': 7}[period] -%}
{%- set window = clickstream.new_events_window() if is_incremental() else none %}

with
{%- if is_incremental() %}
touched_users as (

    select distinct user_pseudo_id
    from {{ ref('ods_events') }}
    where {{ clickstream.new_events_filter(window, 'ingest') }}

),
{%- endif %}

active_days as (

    select user_pseudo_id, activity_date
    from {{ ref('int_user_days') }}
    where has_session_start = 1
    {%- if is_incremental() %}
        and user_pseudo_id in (select user_pseudo_id from touched_users)
    {%- endif %}

),

usage as (

    select distinct
        user_pseudo_id,
        cast({{ dbt.date_trunc(period, 'activity_date') }} as date) as time_period
    from active_days

),

neighbours as (

    select
        user_pseudo_id,
        time_period,
        lag(time_period, 1) over (partition by user_pseudo_id order by time_period) as previous_period,
        lead(time_period, 1) over (partition by user_pseudo_id order by time_period) as next_period
    from usage

),

final as (

    select
        user_pseudo_id,
        time_period,
        previous_period,
        next_period,
        case
            when previous_period is null then '1-NEW'
            when {{ dbt.datediff('previous_period', 'time_period', 'day') }} = {{ days_per_period }} then '2-ACTIVE'
            else '3-RETURN'
        end as stage,
        case
            when next_period is null
                or {{ dbt.datediff('time_period', 'next_period', 'day') }} > {{ days_per_period }}
                then cast({{ dbt.dateadd('day', days_per_period, 'time_period') }} as date)
        end as churn_period
    from neighbours

)

select * from final
{%- endmacro %}


{% macro lifecycle_counts(period, user_periods) -%}
{%- set days_per_period = {'day': 1, 'week': 7}[period] -%}
{%- set window = clickstream.new_events_window() if is_incremental() else none %}

with user_periods as (

    select * from {{ user_periods }}

),

{%- if is_incremental() %}
new_periods as (

    select distinct
        user_pseudo_id,
        cast({{ dbt.date_trunc(period, 'event_date') }} as date) as time_period
    from {{ ref('ods_events') }}
    where event_name = '_session_start'
        and {{ clickstream.new_events_filter(window, 'ingest') }}

),

changed_rows as (

    select user_periods.*
    from user_periods
    inner join new_periods
        on user_periods.user_pseudo_id = new_periods.user_pseudo_id
        and user_periods.time_period = new_periods.time_period

),

affected_periods as (

    select time_period from changed_rows
    union
    select next_period from changed_rows where next_period is not null
    union
    select cast({{ dbt.dateadd('day', days_per_period, 'time_period') }} as date) from changed_rows
    union
    select cast({{ dbt.dateadd('day', days_per_period, 'previous_period') }} as date) from changed_rows where previous_period is not null
    union
    select cast({{ dbt.dateadd('day', days_per_period, 'next_period') }} as date) from changed_rows where next_period is not null

),

stage_counts as (

    select time_period, stage, count(*) as user_count
    from user_periods
    where time_period in (select time_period from affected_periods)
    group by time_period, stage

),

churn_counts as (

    select churn_period as time_period, '0-CHURN' as stage, -1 * count(*) as user_count
    from user_periods
    where churn_period in (select time_period from affected_periods)
    group by churn_period

),
{%- else %}

stage_counts as (

    select time_period, stage, count(*) as user_count
    from user_periods
    group by time_period, stage

),

churn_counts as (

    select churn_period as time_period, '0-CHURN' as stage, -1 * count(*) as user_count
    from user_periods
    where churn_period is not null
    group by churn_period

),
{%- endif %}

final as (

    select time_period, stage as this_{{ period }}_value, user_count from stage_counts
    union all
    select time_period, stage as this_{{ period }}_value, user_count from churn_counts

)

select * from final
{%- endmacro %}
