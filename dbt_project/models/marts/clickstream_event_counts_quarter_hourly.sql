{#-
  The events of each user per quarter hour (macros/quarter_hour.sql), by event name, platform,
  app version and the device fields the console filters on: the console's Activity report and
  the Device report's users by app version read these instead of every event. Users are counted
  distinct over the rows (user_pseudo_id is in the grain), events are summed; a quarter hour
  lies within one day in every zone in use, so a report in any zone gets exact days.
  Incremental runs rebuild every UTC day that has a new event (the quarter hours of a day are
  within it).
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
        event_date,
        {{ clickstream.quarter_hour_start('event_timestamp') }} as quarter_hour_timestamp,
        user_pseudo_id,
        event_name,
        platform,
        {{ nested_field('app_info', 'version') }} as app_info_version,
        {{ nested_field('device', 'operating_system') }} as device_operating_system,
        {{ nested_field('device', 'ua_device_category') }} as device_ua_device_category,
        {{ nested_field('device', 'mobile_brand_name') }} as device_mobile_brand_name,
        count(*) as events
    from counted_events
    group by
        event_date,
        {{ clickstream.quarter_hour_start('event_timestamp') }},
        user_pseudo_id,
        event_name,
        platform,
        {{ nested_field('app_info', 'version') }},
        {{ nested_field('device', 'operating_system') }},
        {{ nested_field('device', 'ua_device_category') }},
        {{ nested_field('device', 'mobile_brand_name') }}

)

-- Stored in date order: DuckDB then skips the row groups of other dates (zone maps); the
-- warehouse's own ordering (Redshift sort keys) does not depend on it.
select * from final
order by event_date, quarter_hour_timestamp, event_name
