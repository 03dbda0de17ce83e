{#-
  Every event of a session in order (DATA_CONTRACT §5): event_rank (dense rank by time, as the
  product: events at the same millisecond share a rank), the previous/next event and the
  previous/next screen. The screen of a _screen_view is its _screen_name and, unlike the
  product (which left web paths without screens), the screen of a _page_view is its
  _page_title, as for the session view's entry and exit views. Events without _session_id
  belong to no path. Ties in time are ordered by event_id so lag/lead are the same on every run.

  Incremental runs rebuild every event of the sessions that have a new event.
-#}
{{ config(**clickstream.upsert_config('event_id')) }}
-- depends_on: {{ ref('base_new_events') }}

{%- set window = clickstream.new_events_window() if is_incremental() else none %}

with events as (

    select * from {{ ref('ods_events') }}
    {%- if is_incremental() %}
    where {{ clickstream.new_events_filter(window, 'session') }}
    {%- endif %}

),

session_events as (
    {{ clickstream.session_events('events') }}
),

rebuilt_events as (
    {{ clickstream.rows_touched_by_new_events('session_events', ['user_pseudo_id', 'session_id'], window, 'session_id is not null') }}
),

final as (

    select
        user_pseudo_id,
        event_date,
        event_id,
        event_name,
        event_timestamp,
        platform,
        session_id,
        current_screen,
        dense_rank() over (
            partition by user_pseudo_id, session_id order by event_timestamp asc
        ) as event_rank,
        lag(event_name, 1) over (
            partition by user_pseudo_id, session_id order by event_timestamp asc, event_id asc
        ) as previous_event,
        lead(event_name, 1) over (
            partition by user_pseudo_id, session_id order by event_timestamp asc, event_id asc
        ) as next_event,
        lag(current_screen, 1) over (
            partition by user_pseudo_id, session_id order by event_timestamp asc, event_id asc
        ) as previous_screen,
        lead(current_screen, 1) over (
            partition by user_pseudo_id, session_id order by event_timestamp asc, event_id asc
        ) as next_screen
    from rebuilt_events

)

select * from final
