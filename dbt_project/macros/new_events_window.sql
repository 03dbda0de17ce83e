{#-
  The events an incremental run must fold in, Snowplow style: every event that reached
  ods_events within `lookback_window_hours` of the newest ingest_timestamp. Models rebuild
  whole the sessions, user days, devices and users those events touch, so the result does not
  depend on how events were split between runs.

  Runs two small queries when the model is compiled for execution (ods_events is already
  loaded then) and returns constants, so that the model's filters prune by zone maps and sort
  keys:
    ingest_since  events with ingest_timestamp >= this are new (epoch ms)
    event_since   the earliest event_timestamp among them (epoch ms)
    date_since    the earliest event_date among them ('YYYY-MM-DD')
  or none when nothing is new. Only call it inside `if is_incremental()`.
-#}
{% macro new_events_window() -%}
    {%- if not execute -%}
        {{ return({'ingest_since': 0, 'event_since': 0, 'date_since': '1970-01-01'}) }}
    {%- endif -%}
    {%- set events = ref('ods_events') -%}
    {%- set lookback_ms = var('lookback_window_hours') * 3600 * 1000 -%}
    {%- set watermark_query -%}
        select max(ingest_timestamp) - {{ lookback_ms }} from {{ events }}
    {%- endset -%}
    {%- set ingest_since = run_query(watermark_query).columns[0].values()[0] -%}
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
