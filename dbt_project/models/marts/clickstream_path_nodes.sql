{#-
  The Path explorer's journeys without its per-event walk (console report "path", issue 14
  "Performance"): one row per session, node type ('event': an event name; 'screen': the screen or
  page of clickstream_path_view's current_screen) and node, at the node's first occurrence in the
  session, with the nine nodes after it and the nine before it (a journey is at most ten steps),
  the session's last node and the first and last node's quarter hour (so the console tells the
  sessions that lie whole in a range, in any zone, from those a range's edge cuts). Nodes are in
  clickstream_path_view's order (event_timestamp, then event_id); a session's events share one
  platform (its _session_id is the device's), kept from the node's first occurrence.

  Incremental runs rebuild every row of the sessions that have a new event, as the path view does
  (a session's nodes only grow, so its rebuilt rows replace all of its old ones).
-#}
{{ config(**clickstream.upsert_config(['user_pseudo_id', 'session_id', 'node_type', 'node'])) }}
-- depends_on: {{ ref('base_new_events') }}

{%- set window = clickstream.new_events_window() if is_incremental() else none %}
{%- set steps_around = 9 %}
{%- set session_order = 'partition by user_pseudo_id, session_id, node_type order by event_timestamp asc, event_id asc' %}

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

nodes as (

    select
        user_pseudo_id,
        session_id,
        platform,
        event_date,
        event_timestamp,
        event_id,
        'event' as node_type,
        event_name as node
    from rebuilt_events
    where event_name is not null
    union all
    select
        user_pseudo_id,
        session_id,
        platform,
        event_date,
        event_timestamp,
        event_id,
        'screen' as node_type,
        current_screen as node
    from rebuilt_events
    where current_screen is not null

),

sequenced as (

    select
        user_pseudo_id,
        session_id,
        platform,
        node_type,
        node,
        event_timestamp,
        event_id,
        row_number() over ({{ session_order }}) as node_position,
        row_number() over (
            partition by user_pseudo_id, session_id, node_type, node order by event_timestamp asc, event_id asc
        ) as occurrence,
        {%- for offset in range(1, steps_around + 1) %}
        lead(node, {{ offset }}) over ({{ session_order }}) as next_node_{{ offset }},
        lag(node, {{ offset }}) over ({{ session_order }}) as previous_node_{{ offset }},
        {%- endfor %}
        last_value(node) over (
            {{ session_order }} rows between unbounded preceding and unbounded following
        ) as last_node,
        min(event_timestamp) over (partition by user_pseudo_id, session_id, node_type) as first_timestamp,
        max(event_timestamp) over (partition by user_pseudo_id, session_id, node_type) as last_timestamp,
        min(event_date) over (partition by user_pseudo_id, session_id, node_type) as first_date,
        max(event_date) over (partition by user_pseudo_id, session_id, node_type) as last_date
    from nodes

),

final as (

    select
        user_pseudo_id,
        session_id,
        platform,
        node_type,
        node,
        node_position,
        first_date as event_date,
        {{ clickstream.quarter_hour_start('first_timestamp') }} as quarter_hour_timestamp,
        last_date as last_event_date,
        {{ clickstream.quarter_hour_start('last_timestamp') }} as last_quarter_hour_timestamp,
        last_node,
        {%- for offset in range(1, steps_around + 1) %}
        next_node_{{ offset }},
        {%- endfor %}
        {%- for offset in range(1, steps_around + 1) %}
        previous_node_{{ offset }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from sequenced
    where occurrence = 1

)

-- In date order, so a range's rows lie together (DuckDB skips the others by their zone maps).
select * from final
order by event_date
