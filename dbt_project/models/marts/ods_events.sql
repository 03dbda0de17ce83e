{#-
  The app's event table (DATA_CONTRACT §4 columns, in order), one row per event_id. The Spark
  job removes duplicates within what it processed; this removes them across everything loaded
  (SDK retries, replayed archives, re-run hours), the earliest arrival winning.

  Incremental runs re-read only the partitions of the last `ods_lookback_days` before the
  newest loaded event date (late events land in older partitions) and append the events whose
  event_id is not loaded yet; a duplicate has the same client timestamp, so the same
  event_date, and the lookup into the table is limited to those dates.
-#}
{{ config(**clickstream.ods_events_config()) }}

{%- set load_since = none -%}
{%- if is_incremental() and execute -%}
    {%- set newest = run_query('select cast(max(event_date) as ' ~ dbt.type_string() ~ ') from ' ~ this).columns[0].values()[0] -%}
    {%- if newest is not none -%}
        {%- set load_since = (modules.datetime.date.fromisoformat(newest) - modules.datetime.timedelta(days=var('ods_lookback_days'))).isoformat() -%}
    {%- endif -%}
{%- endif %}

with source_events as (

    select * from {{ ref('stg_ods_events') }}
    {%- if load_since is not none %}
    where partition_date >= '{{ load_since }}'
    {%- endif %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by event_id
            order by ingest_timestamp asc, event_timestamp asc
        ) as arrival_rank
    from source_events

),

first_arrivals as (

    select * from ranked where arrival_rank = 1

),

{% if load_since is not none %}
not_loaded as (

    select first_arrivals.*
    from first_arrivals
    where not exists (
        select 1
        from {{ this }} as loaded
        where loaded.event_date >= {{ date_literal(load_since) }}
            and loaded.event_id = first_arrivals.event_id
    )

),
{% else %}
not_loaded as (

    select * from first_arrivals

),
{% endif %}

final as (

    select
        {{ ods_events_columns() }}
    from not_loaded

)

select * from final
