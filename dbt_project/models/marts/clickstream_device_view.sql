{#-
  Device dimensions per user and day with the number of events seen with them (usage_num),
  as the product's device view. Incremental runs recount every (event_date, user) that has a
  new event.
-#}
{{ config(**clickstream.upsert_config(['event_date', 'user_pseudo_id'])) }}
-- depends_on: {{ ref('int_new_events') }}

{%- set window = clickstream.new_events_window() if clickstream.incremental_run() else none %}

with events as (

    select * from {{ ref('ods_events') }}
    {%- if clickstream.incremental_run() %}
    {%- if window is none %}
    where 1 = 0
    {%- else %}
    where event_date >= {{ date_literal(window.date_since) }}
    {%- endif %}
    {%- endif %}

),

{% if clickstream.incremental_run() and window is not none %}
touched_user_days as (

    select distinct event_date, user_pseudo_id
    from events
    where ingest_timestamp >= {{ window.ingest_since }}

),

counted_events as (

    select events.*
    from events
    inner join touched_user_days
        on events.event_date = touched_user_days.event_date
        and events.user_pseudo_id = touched_user_days.user_pseudo_id

),
{% else %}
counted_events as (

    select * from events

),
{% endif %}

final as (

    select
        device.vendor_id as device_id,
        event_date,
        device.mobile_brand_name as mobile_brand_name,
        device.mobile_model_name as mobile_model_name,
        device.manufacturer as manufacturer,
        device.screen_width as screen_width,
        device.screen_height as screen_height,
        device.carrier as carrier,
        device.network_type as network_type,
        device.operating_system as operating_system,
        device.operating_system_version as operating_system_version,
        device.ua_browser as ua_browser,
        device.ua_browser_version as ua_browser_version,
        device.ua_os as ua_os,
        device.ua_os_version as ua_os_version,
        device.ua_device as ua_device,
        device.ua_device_category as ua_device_category,
        device.system_language as system_language,
        device.time_zone_offset_seconds as time_zone_offset_seconds,
        device.advertising_id as advertising_id,
        user_pseudo_id,
        user_id,
        count(event_id) as usage_num
    from counted_events
    group by
        device.vendor_id,
        event_date,
        device.mobile_brand_name,
        device.mobile_model_name,
        device.manufacturer,
        device.screen_width,
        device.screen_height,
        device.carrier,
        device.network_type,
        device.operating_system,
        device.operating_system_version,
        device.ua_browser,
        device.ua_browser_version,
        device.ua_os,
        device.ua_os_version,
        device.ua_device,
        device.ua_device_category,
        device.system_language,
        device.time_zone_offset_seconds,
        device.advertising_id,
        user_pseudo_id,
        user_id

)

select * from final
