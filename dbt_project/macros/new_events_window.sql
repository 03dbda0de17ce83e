{#-
  The events an incremental run must fold in, Snowplow style: the events this run loaded
  (base_new_events) and, as a safety net for a build that failed half way, every event that
  reached ods_events within `lookback_window_hours` of the newest one. Models rebuild whole
  the sessions, user days, devices and users those events touch, so the result does not
  depend on how events were split between runs.

  Runs two small queries when the model is compiled for execution (ods_events is loaded by
  then) and returns constants, so that the model's filters prune by zone maps and sort keys:
    ingest_since  events of ods_events with ingest_timestamp >= this are new (epoch ms)
    event_since   the earliest event_timestamp among them (epoch ms)
    date_since    the earliest event_date among them ('YYYY-MM-DD')
  or none when ods_events is empty. Only call it inside `if is_incremental()` (it queries).

  Dispatched so that a project using this one can replace it: the offline checks of the
  Redshift and Athena SQL (tests/modeling/offline_compile/) return a fixed window.
-#}
{% macro new_events_window() -%}
    {{ return(adapter.dispatch('new_events_window', 'clickstream')()) }}
{%- endmacro %}

{% macro default__new_events_window() -%}
    {%- set events = ref('ods_events') -%}
    {%- set loaded_this_run = ref('base_new_events') -%}
    {%- set lookback_ms = var('lookback_window_hours') * 3600 * 1000 -%}
    {%- set ingest_since = run_query(clickstream.new_events_since_query(events, loaded_this_run, lookback_ms)).columns[0].values()[0] -%}
    {%- if ingest_since is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set range_query -%}
        select min(event_timestamp), cast(min(event_date) as {{ dbt.type_string() }})
        from {{ events }}
        where ingest_timestamp >= {{ ingest_since | int }}
    {%- endset -%}
    {%- set row = run_query(range_query).rows[0] -%}
    {{ return({'ingest_since': ingest_since | int, 'event_since': row[0] | int, 'date_since': row[1]}) }}
{%- endmacro %}

{#-
  The condition on ods_events rows an incremental run reads, given the window above; `reach`:
    'ingest'   the new events themselves
    'day'      every event of the earliest day with a new event, and later
    'session'  every event from `session_max_length_hours` before the earliest new one (whole
               sessions a new event may belong to)
  Always false when no event is new (window none).
-#}
{% macro new_events_filter(window, reach) -%}
    {%- if window is none -%}
        1 = 0
    {%- elif reach == 'ingest' -%}
        ingest_timestamp >= {{ window.ingest_since }}
    {%- elif reach == 'day' -%}
        event_date >= {{ date_literal(window.date_since) }}
    {%- elif reach == 'session' -%}
        event_timestamp >= {{ window.event_since - var('session_max_length_hours') * 3600 * 1000 }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("new_events_filter: reach must be 'ingest', 'day' or 'session', got " ~ reach) }}
    {%- endif -%}
{%- endmacro %}

{% macro new_events_since_query(events, loaded_this_run, lookback_ms) -%}
    {{ return(adapter.dispatch('new_events_since_query', 'clickstream')(events, loaded_this_run, lookback_ms)) }}
{%- endmacro %}

{% macro default__new_events_since_query(events, loaded_this_run, lookback_ms) -%}
    select least(
        (select max(ingest_timestamp) from {{ events }}) - {{ lookback_ms }},
        coalesce(
            (select min(ingest_timestamp) from {{ loaded_this_run }}),
            (select max(ingest_timestamp) from {{ events }})
        )
    )
{%- endmacro %}

{#- Athena's ods_events is a view over the Parquet and loads nothing: the lookback alone says
    what is new. -#}
{% macro athena__new_events_since_query(events, loaded_this_run, lookback_ms) -%}
    select max(ingest_timestamp) - {{ lookback_ms }} from {{ events }}
{%- endmacro %}


{#-
  The rows of `source` (a CTE with ingest_timestamp) that an incremental run must recompute:
  every row sharing its `keys` (a session, a user day) with a new event of `window`, so the
  unit is rebuilt whole. Full builds, or no window: all rows. `condition` filters both.
-#}
{% macro rows_touched_by_new_events(source, keys, window, condition=none) -%}
    {%- if is_incremental() and window is not none %}
    select kept.*
    from {% if condition %}(select * from {{ source }} where {{ condition }}){% else %}{{ source }}{% endif %} as kept
    inner join (
        select distinct {{ keys | join(', ') }}
        from {{ source }}
        where {{ clickstream.new_events_filter(window, 'ingest') }}{% if condition %} and {{ condition }}{% endif %}
    ) as touched
        on {% for key in keys %}kept.{{ key }} = touched.{{ key }}{% if not loop.last %}
        and {% endif %}{% endfor %}
    {%- else %}
    select * from {{ source }}{% if condition %} where {{ condition }}{% endif %}
    {%- endif %}
{%- endmacro %}
