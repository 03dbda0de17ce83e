{#-
  Each quarter hour (clickstream.quarter_hour_start) in which a user had any event: the console's
  Retention report counts daily, weekly and monthly active users from it in any time zone (a
  quarter hour lies within one day in every zone in use) without reading the events. Incremental
  runs recompute every (event_date, user) that has a new event and upsert its rows by the whole
  grain: a user day's quarter hours only grow (ods_events only gains events), and Athena's MERGE
  needs each row to match at most one new row.
-#}
{{ config(**clickstream.upsert_config(['event_date', 'quarter_hour_timestamp', 'user_pseudo_id'])) }}
-- depends_on: {{ ref('base_new_events') }}

{%- set window = clickstream.new_events_window() if is_incremental() else none %}

with events as (

    select
        event_date,
        event_timestamp,
        user_pseudo_id,
        ingest_timestamp
    from {{ ref('ods_events') }}
    {%- if is_incremental() %}
    where {{ clickstream.new_events_filter(window, 'day') }}
    {%- endif %}

),

counted_events as (
    {{ clickstream.rows_touched_by_new_events('events', ['event_date', 'user_pseudo_id'], window) }}
),

final as (

    select distinct
        event_date,
        {{ clickstream.quarter_hour_start('event_timestamp') }} as quarter_hour_timestamp,
        user_pseudo_id
    from counted_events

)

select * from final
