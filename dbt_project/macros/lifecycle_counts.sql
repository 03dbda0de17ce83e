{#-
  The product's lifecycle stages per period ('day' or 'week'), from days with a _session_start:
  a user's first active period is 1-NEW, one right after an active period 2-ACTIVE, one after
  a gap 3-RETURN; the period after a user's last active period before a gap (or ever) counts
  the user as 0-CHURN, negative, so that the stacked bars show losses below zero. Weeks start
  on Monday on every warehouse.
-#}
{% macro lifecycle_counts(period) -%}
{%- set days_per_period = {'day': 1, 'week': 7}[period] -%}

with active_days as (

    select user_pseudo_id, activity_date
    from {{ ref('int_user_days') }}
    where has_session_start = 1

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

stages as (

    select
        time_period,
        case
            when previous_period is null then '1-NEW'
            when {{ dbt.datediff('previous_period', 'time_period', 'day') }} = {{ days_per_period }} then '2-ACTIVE'
            else '3-RETURN'
        end as stage,
        case
            when next_period is null
                or {{ dbt.datediff('time_period', 'next_period', 'day') }} > {{ days_per_period }} then 1
            else 0
        end as churns_after,
        cast({{ dbt.dateadd('day', days_per_period, 'time_period') }} as date) as churn_period
    from neighbours

),

stage_counts as (

    select time_period, stage, count(*) as user_count
    from stages
    group by time_period, stage

),

churn_counts as (

    select churn_period as time_period, '0-CHURN' as stage, -1 * count(*) as user_count
    from stages
    where churns_after = 1
    group by churn_period

),

final as (

    select time_period, stage as this_{{ period }}_value, user_count from stage_counts
    union all
    select time_period, stage as this_{{ period }}_value, user_count from churn_counts

)

select * from final
{%- endmacro %}
