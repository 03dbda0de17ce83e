{#-
  The event catalogue per UTC day: for every event name, event parameter (per event name) and
  user attribute, per observed value type and platform, the events and distinct users of the
  day. Event names are also split by the SDK that sent them (name and version, from
  event_dimensions); parameters and attributes are not (their sdk columns are ''): splitting them
  would multiply the largest part of the table for a list the catalogue shows per event only. The catalogue's views add the days up (events) and take first/last seen dates from it;
  users over several days come from clickstream_catalogue_users (exact, not a sum of days).
  Incremental runs rebuild every UTC day that has a new event (late events included).
-#}
{{ config(**clickstream.replace_periods_config('event_date')) }}
-- depends_on: {{ ref('base_new_events') }}

{%- set window = clickstream.new_events_window() if is_incremental() else none %}

with events as (

    -- Only the columns the catalogue reads: the CTEs below read this one several times, and
    -- DuckDB may materialize such a CTE rather than read ods_events' structs twice.
    select
        event_date,
        event_name,
        platform,
        user_pseudo_id,
        event_dimensions,
        event_params,
        user_properties,
        ingest_timestamp
    from {{ ref('ods_events') }}
    {%- if is_incremental() %}
    where {{ clickstream.new_events_filter(window, 'day') }}
    {%- endif %}

),

counted_events as (
    {{ clickstream.rows_touched_by_new_events('events', ['event_date'], window) }}
),

event_sdks as (

    select
        e.event_date,
        e.event_name,
        coalesce(e.platform, '') as platform,
        coalesce({{ clickstream.key_value_text_of('e.event_dimensions', 'sdk_name') }}, '') as sdk_name,
        coalesce({{ clickstream.key_value_text_of('e.event_dimensions', 'sdk_version') }}, '') as sdk_version,
        e.user_pseudo_id
    from counted_events as e

),

event_rows as (

    select
        event_date,
        cast('event' as {{ dbt.type_string() }}) as kind,
        event_name,
        cast('' as {{ dbt.type_string() }}) as property_key,
        cast('' as {{ dbt.type_string() }}) as value_type,
        platform,
        sdk_name,
        sdk_version,
        count(*) as events,
        count(distinct user_pseudo_id) as distinct_users
    from event_sdks
    group by event_date, event_name, platform, sdk_name, sdk_version

),

elements as (
    {{ clickstream.catalogue_elements('counted_events', 'event_parameter', 'event_params') }}
    union all
    {{ clickstream.catalogue_elements('counted_events', 'user_attribute', 'user_properties') }}
),

property_rows as (

    select
        event_date,
        kind,
        event_name,
        property_key,
        value_type,
        platform,
        cast('' as {{ dbt.type_string() }}) as sdk_name,
        cast('' as {{ dbt.type_string() }}) as sdk_version,
        count(*) as events,
        count(distinct user_pseudo_id) as distinct_users
    from elements
    group by event_date, kind, event_name, property_key, value_type, platform

),

final as (

    select * from event_rows
    union all
    select * from property_rows

)

-- Stored in date order: DuckDB then skips the row groups of other dates (zone maps).
select * from final
order by event_date, kind, event_name, property_key
