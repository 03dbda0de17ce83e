{#-
  The events with each attribute value (event parameter, its value as text as in
  clickstream_ods_event_attributes_view) per quarter hour (macros/quarter_hour.sql), event name,
  platform and app version: the console's Activity report takes the top values of an event's
  attributes from these without unnesting every event's parameters. No user in the grain: the
  report counts events only. Incremental runs rebuild every UTC day that has a new event.
-#}
{{ config(**clickstream.replace_periods_config('event_date')) }}
-- depends_on: {{ ref('base_new_events') }}

{%- set window = clickstream.new_events_window() if is_incremental() else none %}

with events as (

    select * from {{ ref('ods_events') }}
    {%- if is_incremental() %}
    where {{ clickstream.new_events_filter(window, 'day') }}
    {%- endif %}

),

counted_events as (
    {{ clickstream.rows_touched_by_new_events('events', ['event_date'], window) }}
),

final as (

    select
        e.event_date,
        {{ clickstream.quarter_hour_start('e.event_timestamp') }} as quarter_hour_timestamp,
        e.event_name,
        e.platform,
        {{ nested_field('e.app_info', 'version') }} as app_info_version,
        cast(kv.key as {{ dbt.type_string() }}) as event_parameter_key,
        {{ key_value_text('kv') }} as event_parameter_value,
        count(*) as events
    from counted_events as e
    {{ unnest_key_values('e.event_params', 'kv') }}
    group by
        e.event_date,
        {{ clickstream.quarter_hour_start('e.event_timestamp') }},
        e.event_name,
        e.platform,
        {{ nested_field('e.app_info', 'version') }},
        cast(kv.key as {{ dbt.type_string() }}),
        {{ key_value_text('kv') }}

)

-- Stored in date order: DuckDB then skips the row groups of other dates (zone maps); the
-- warehouse's own ordering (Redshift sort keys) does not depend on it.
select * from final
order by event_date, event_name, event_parameter_key, quarter_hour_timestamp
