{#-
  The path models' events (clickstream_path_view, clickstream_path_nodes): each event's session
  (its _session_id) and the screen or page it shows (current_screen: _screen_name of a screen view,
  _page_title of a page view). One home for that rule.
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
        case
            when event_name = '_screen_view' then {{ event_param('event_params', '_screen_name', 'string') }}
            when event_name = '_page_view' then {{ event_param('event_params', '_page_title', 'string') }}
        end as current_screen
    from {{ source }}
{%- endmacro %}
