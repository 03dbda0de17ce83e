{#-
  Retention (DATA_CONTRACT §5): for users whose first active day is first_date, how many were
  active day_diff days later (day 0 is every user), up to `retention_max_day_diff` days, and
  how many users started that day. Activity is any event, as in the product.

  Incremental runs recompute only the cohorts (first dates) a new event can change: the
  touched users' first date now, and the first date they had before the run: either their
  earliest day without new events, or one of the days with new events (a late event may have
  created an earlier day and also touched the old first one), so every day with a new event is
  recomputed too (a few recent days). A cohort can lose its last user that way: every
  recomputed cohort also gets a placeholder row (day_diff -1), so that its old rows are
  replaced even when it has no rows left, and the post-hook deletes the placeholders.
-#}
{{ config(post_hook="{{ clickstream.delete_placeholder_rows('day_diff < 0') }}",
          **clickstream.replace_periods_config('first_date')) }}
-- depends_on: {{ ref('base_new_events') }}
-- depends_on: {{ ref('ods_events') }}

{%- set window = clickstream.new_events_window() if is_incremental() else none %}

with user_days as (

    select
        user_pseudo_id,
        activity_date
    from {{ ref('int_user_days') }}

),

first_dates as (

    select
        user_pseudo_id,
        first_date
    from {{ ref('int_user_first_active_dates') }}

),
{% if is_incremental() %}
touched_user_days as (

    select distinct
        user_pseudo_id,
        event_date
    from {{ ref('ods_events') }}
    where {{ clickstream.new_events_filter(window, 'ingest') }}

),

affected_first_dates as (

    select first_dates.first_date
    from first_dates
    where first_dates.user_pseudo_id in (select touched_user_days.user_pseudo_id from touched_user_days)
    union
    select min(user_days.activity_date)
    from user_days
    where
        user_days.user_pseudo_id in (select touched_user_days.user_pseudo_id from touched_user_days)
        and not exists (
            select 1
            from touched_user_days
            where
                touched_user_days.user_pseudo_id = user_days.user_pseudo_id
                and touched_user_days.event_date = user_days.activity_date
        )
    group by user_days.user_pseudo_id
    union
    select event_date from touched_user_days

),
{% endif %}
cohorts as (

    select
        user_pseudo_id,
        first_date
    from first_dates
    {%- if is_incremental() %}
    where first_date in (select affected_first_dates.first_date from affected_first_dates)
    {%- endif %}

),

returns as (

    select
        cohorts.first_date,
        {{ dbt.datediff('cohorts.first_date', 'user_days.activity_date', 'day') }}
            as day_diff,
        user_days.user_pseudo_id
    from user_days
    inner join cohorts on user_days.user_pseudo_id = cohorts.user_pseudo_id

),

returned_counts as (

    select
        first_date,
        day_diff,
        count(distinct user_pseudo_id) as returned_user_count
    from returns
    where day_diff <= {{ var('retention_max_day_diff') }}
    group by first_date, day_diff

),

total_counts as (

    select
        first_date,
        count(*) as total_users
    from cohorts
    group by first_date

),

final as (

    select
        returned_counts.first_date,
        returned_counts.day_diff,
        returned_counts.returned_user_count,
        total_counts.total_users
    from returned_counts
    inner join total_counts on returned_counts.first_date = total_counts.first_date
    {%- if is_incremental() %}
    union all
    select
        first_date,
        -1 as day_diff,
        0 as returned_user_count,
        0 as total_users
    from affected_first_dates
    {%- endif %}

)

select * from final
