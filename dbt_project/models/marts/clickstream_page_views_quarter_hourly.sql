{#-
  The Engagement report's pages and screens by views without joining each view event to its
  session at query time (console report "engagement", issue 14 "Performance"): one row per
  quarter hour (clickstream.quarter_hour_start), session and screen or page (clickstream_path_view's
  current_screen) with its number of _screen_view/_page_view events (view_events), and the
  session's platform, entry view and exit view from clickstream_session_view (the report's
  filters). Users and sessions stay in the grain, so the report counts them distinct in any zone's
  days. View events without a screen name or page title, or without a session, are no session's
  page and are left out.

  Incremental runs rebuild every row of the sessions that have a new event, as the session and
  path views do: a session's rows only grow in number (ods_events only gains events), and all of
  them carry the session's entry and exit view as they are now.
-#}
{{ config(**clickstream.upsert_config(['user_pseudo_id', 'session_id', 'quarter_hour_timestamp', 'current_screen'])) }}
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

-- current_screen is null on other events than screen and page views.
rebuilt_events as (
    {{ clickstream.rows_touched_by_new_events(
        'session_events', ['user_pseudo_id', 'session_id'], window, 'session_id is not null and current_screen is not null'
    ) }}
),

page_views as (

    select
        event_date,
        {{ clickstream.quarter_hour_start('event_timestamp') }} as quarter_hour_timestamp,
        user_pseudo_id,
        session_id,
        current_screen,
        count(*) as view_events
    from rebuilt_events
    group by event_date, quarter_hour_timestamp, user_pseudo_id, session_id, current_screen

),

final as (

    select
        page_views.event_date,
        page_views.quarter_hour_timestamp,
        page_views.user_pseudo_id,
        page_views.session_id,
        page_views.current_screen,
        sessions.platform,
        sessions.entry_view,
        sessions.exit_view,
        cast(page_views.view_events as bigint) as view_events
    from page_views
    inner join {{ ref('clickstream_session_view') }} as sessions
        on page_views.user_pseudo_id = sessions.user_pseudo_id
        and page_views.session_id = sessions.session_id

)

-- In date order, so a range's rows lie together (DuckDB skips the others by their zone maps).
select * from final
order by event_date
