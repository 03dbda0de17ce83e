{#-
  One row per user and day with any event, flagging the days with a _session_start: the
  small table that retention (any event) and lifecycle (session starts) are computed from,
  instead of scanning ods_events. Incremental runs recompute the (user, day) pairs that have a
  new event.
-#}
{{ config(**clickstream.upsert_config(['user_pseudo_id', 'activity_date'])) }}
-- depends_on: {{ ref('base_new_events') }}

{%- set window = clickstream.new_events_window() if is_incremental() else none %}

with events as (

    select
        user_pseudo_id,
        event_date,
        event_name,
        ingest_timestamp
    from {{ ref('ods_events') }}
    {%- if is_incremental() %}
    where {{ clickstream.new_events_filter(window, 'day') }}
    {%- endif %}

),

counted_events as (
    {{ clickstream.rows_touched_by_new_events('events', ['user_pseudo_id', 'event_date'], window) }}
),

final as (

    select
        user_pseudo_id,
        event_date as activity_date,
        max(case when event_name = '_session_start' then 1 else 0 end) as has_session_start,
        count(*) as event_count
    from counted_events
    group by user_pseudo_id, event_date

)

select * from final
