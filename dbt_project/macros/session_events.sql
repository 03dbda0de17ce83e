{#-
  The path models' events (clickstream_path_view, clickstream_path_nodes,
  clickstream_page_views_quarter_hourly): each event's session (its _session_id) and the screen or
  page it shows (current_screen).
-#}
{% macro session_events(source) -%}
    select
        user_pseudo_id,
        event_date,
        event_id,
        event_name,
        event_timestamp,
        ingest_timestamp,
        platform,
        {{ event_param('event_params', '_session_id', 'string') }} as session_id,
        {{ clickstream.current_screen() }} as current_screen
    from {{ source }}
{%- endmacro %}

{#-
  The screen or page an event shows: _screen_name of a _screen_view, _page_title of a _page_view,
  null for other events. One home for the rule: the path models' current_screen and the session
  view's entry and exit views.
-#}
{% macro current_screen() -%}
    case
            when event_name = '_screen_view' then {{ event_param('event_params', '_screen_name', 'string') }}
            when event_name = '_page_view' then {{ event_param('event_params', '_page_title', 'string') }}
        end
{%- endmacro %}
