{#-
  One row per session (DATA_CONTRACT §5). Sessions are identified by the SDK's _session_id
  within a user: the SDK cuts sessions (after 30 minutes without events, or the app's own
  timeout), so events exactly that far apart are one session or two as the SDK said; the
  model never re-derives sessions from gaps and has no timeout setting. Duration is the
  largest _session_duration the SDK reported; engagement time sums _engagement_time_msec of
  _user_engagement events; a session is engaged when it lasted longer than 10 s or had at
  least two screen/page views, else bounced. Entry and exit views are the first and last
  _screen_view/_page_view by time (event_id breaks ties so the result is the same on every run).

  Incremental runs rebuild whole every session that has a new event (new_events_window),
  reading events from `session_max_length_hours` before the earliest new one.
-#}
{{ config(**clickstream.upsert_config(['user_pseudo_id', 'session_id'])) }}
-- depends_on: {{ ref('base_new_events') }}

{%- set window = clickstream.new_events_window() if is_incremental() else none %}
{%- set engaged_ms = var('engaged_session_min_duration_ms') %}
{%- set engaged_views = var('engaged_session_min_views') %}

with events as (

    select * from {{ ref('ods_events') }}
    {%- if is_incremental() %}
    where {{ clickstream.new_events_filter(window, 'session') }}
    {%- endif %}

),

session_events as (

    select
        user_pseudo_id,
        platform,
        event_id,
        event_name,
        event_timestamp,
        ingest_timestamp,
        {{ event_param('event_params', '_session_id', 'string') }} as session_id,
        {{ event_param('event_params', '_session_duration', 'int') }} as session_duration,
        {{ event_param('event_params', '_session_start_timestamp', 'int') }} as session_start_timestamp,
        case
            when event_name = '_user_engagement'
                then {{ event_param('event_params', '_engagement_time_msec', 'int') }}
        end as engagement_time_msec,
        case when event_name in ('_screen_view', '_page_view') then 1 else 0 end as is_view,
        {{ clickstream.current_screen() }} as view_name
    from events

),

rebuilt_events as (
    {{ clickstream.rows_touched_by_new_events('session_events', ['user_pseudo_id', 'session_id'], window, 'session_id is not null') }}
),

sessions as (

    select
        user_pseudo_id,
        session_id,
        min(platform) as platform,
        coalesce(max(session_duration), 0) as session_duration,
        sum(is_view) as session_views,
        coalesce(min(session_start_timestamp), min(event_timestamp)) as session_start_timestamp,
        coalesce(sum(engagement_time_msec), 0) as session_engagement_time
    from rebuilt_events
    group by user_pseudo_id, session_id

),

ranked_views as (

    select
        user_pseudo_id,
        session_id,
        view_name,
        row_number() over (
            partition by user_pseudo_id, session_id
            order by event_timestamp asc, event_id asc
        ) as rank_from_start,
        row_number() over (
            partition by user_pseudo_id, session_id
            order by event_timestamp desc, event_id desc
        ) as rank_from_end
    from rebuilt_events
    where is_view = 1

),

entry_views as (

    select
        user_pseudo_id,
        session_id,
        view_name as entry_view
    from ranked_views
    where rank_from_start = 1

),

exit_views as (

    select
        user_pseudo_id,
        session_id,
        view_name as exit_view
    from ranked_views
    where rank_from_end = 1

),

final as (

    select
        sessions.session_id,
        sessions.user_pseudo_id,
        sessions.platform,
        cast(sessions.session_duration as bigint) as session_duration,
        cast(sessions.session_views as bigint) as session_views,
        case
            when sessions.session_duration > {{ engaged_ms }} or sessions.session_views >= {{ engaged_views }} then 1
            else 0
        end as engaged_session,
        case
            when sessions.session_duration > {{ engaged_ms }} or sessions.session_views >= {{ engaged_views }} then 0
            else 1
        end as bounced_session,
        sessions.session_start_timestamp,
        cast(sessions.session_engagement_time as bigint) as session_engagement_time,
        cast({{ epoch_ms_to_timestamp('sessions.session_start_timestamp') }} as date) as session_date,
        {{ dbt.date_trunc('hour', epoch_ms_to_timestamp('sessions.session_start_timestamp')) }} as session_date_hour,
        entry_views.entry_view,
        exit_views.exit_view
    from sessions
    left join entry_views
        on sessions.user_pseudo_id = entry_views.user_pseudo_id
        and sessions.session_id = entry_views.session_id
    left join exit_views
        on sessions.user_pseudo_id = exit_views.user_pseudo_id
        and sessions.session_id = exit_views.session_id

)

select * from final
