{#-
  The event catalogue per UTC day: for every event name, event parameter (per event name) and
  user attribute, per observed value type and platform, the events and distinct users of the
  day. The catalogue's views add the days up (events) and take first/last seen dates from it;
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

event_rows as (

    select
        event_date,
        cast('event' as {{ dbt.type_string() }}) as kind,
        event_name,
        cast('' as {{ dbt.type_string() }}) as property_key,
        cast('' as {{ dbt.type_string() }}) as value_type,
        coalesce(platform, '') as platform,
        count(*) as events,
        count(distinct user_pseudo_id) as distinct_users
    from counted_events
    group by event_date, event_name, coalesce(platform, '')

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
