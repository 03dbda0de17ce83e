{#-
  The events this run adds to ods_events: the app's events read from the Parquet, one per
  event_id (the earliest arrival wins), minus those already loaded. Rebuilt on every run;
  ods_events appends it, and the downstream models take the sessions, users and days they
  must rebuild from it (macros/new_events_window.sql).

  Only the partitions of the last `ods_lookback_days` before the newest loaded event date are
  read again (late events land in older partitions), and in them only events that arrived at
  most `lookback_window_hours` before the newest loaded arrival (hours processed out of order);
  re-processing older hours is a backfill: --full-refresh. A duplicate carries the same client
  timestamp, so the same event_date: the lookup into ods_events is limited to those dates.
  On the first run, or when the run rebuilds everything (--full-refresh), every event is new
  (macros/ods_events_load.sql, loaded_ods_events).
-#}
{{ config(**clickstream.new_events_config()) }}

{%- set loaded = clickstream.loaded_ods_events() %}
{%- set load_since = loaded.load_since if loaded is not none else none %}

{#- Events older than the data range are deleted after the run: do not load them at all. -#}
{%- set kept_since = clickstream.data_range_start() %}
{%- set read_since = kept_since if kept_since is not none and (load_since is none or kept_since > load_since) else load_since %}

with source_events as (

    select * from {{ ref('stg_ods_events') }}
    {%- if read_since is not none %}
    where partition_date >= {{ clickstream.sql_string(read_since) }}
    {%- endif %}

),

recent_arrivals as (

    {#- Files of hours loaded before hold only older arrivals: their row groups are skipped by
        their ingest_timestamp statistics instead of being read again. #}
    select * from source_events
    {%- if loaded is not none %}
    where ingest_timestamp >= {{ loaded.ingest_floor }}
    {%- endif %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by event_id
            order by ingest_timestamp asc, event_timestamp asc
        ) as arrival_rank
    from recent_arrivals

),

first_arrivals as (

    select * from ranked
    where arrival_rank = 1

),

not_loaded as (

    select * from first_arrivals
    {%- if loaded is not none %}
    where
        not exists (
            select 1
            from {{ loaded.relation }} as loaded
            where
                loaded.event_date >= {{ date_literal(loaded.load_since) }}
                and loaded.event_id = first_arrivals.event_id
        )
    {%- endif %}

),

final as (

    select
        {{ ods_events_columns() }}
    from not_loaded

)

select * from final
