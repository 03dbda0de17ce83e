{#-
  Device dimensions per user and day with the number of events seen with them (usage_num),
  as the product's device view: several rows per user and day. Incremental runs recount every
  (event_date, user) that has a new event and replace all of its rows (Athena: rebuilt whole).
-#}
{{ config(**clickstream.replace_keys_config(['event_date', 'user_pseudo_id'])) }}
-- depends_on: {{ ref('base_new_events') }}

{%- set window = clickstream.new_events_window() if is_incremental() else none %}

with events as (

    select * from {{ ref('ods_events') }}
    {%- if is_incremental() %}
    where {{ clickstream.new_events_filter(window, 'day') }}
    {%- endif %}

),

counted_events as (
    {{ clickstream.rows_touched_by_new_events('events', ['event_date', 'user_pseudo_id'], window) }}
),

final as (

    select
        {{ nested_field('device', 'vendor_id') }} as device_id,
        event_date,
        {{ nested_field('device', 'mobile_brand_name') }} as mobile_brand_name,
        {{ nested_field('device', 'mobile_model_name') }} as mobile_model_name,
        {{ nested_field('device', 'manufacturer') }} as manufacturer,
        {{ nested_field('device', 'screen_width', 'bigint') }} as screen_width,
        {{ nested_field('device', 'screen_height', 'bigint') }} as screen_height,
        {{ nested_field('device', 'carrier') }} as carrier,
        {{ nested_field('device', 'network_type') }} as network_type,
        {{ nested_field('device', 'operating_system') }} as operating_system,
        {{ nested_field('device', 'operating_system_version') }} as operating_system_version,
        {{ nested_field('device', 'ua_browser') }} as ua_browser,
        {{ nested_field('device', 'ua_browser_version') }} as ua_browser_version,
        {{ nested_field('device', 'ua_os') }} as ua_os,
        {{ nested_field('device', 'ua_os_version') }} as ua_os_version,
        {{ nested_field('device', 'ua_device') }} as ua_device,
        {{ nested_field('device', 'ua_device_category') }} as ua_device_category,
        {{ nested_field('device', 'system_language') }} as system_language,
        {{ nested_field('device', 'time_zone_offset_seconds', 'bigint') }} as time_zone_offset_seconds,
        {{ nested_field('device', 'advertising_id') }} as advertising_id,
        user_pseudo_id,
        user_id,
        count(event_id) as usage_num
    from counted_events
    group by
        {{ nested_field('device', 'vendor_id') }},
        event_date,
        {{ nested_field('device', 'mobile_brand_name') }},
        {{ nested_field('device', 'mobile_model_name') }},
        {{ nested_field('device', 'manufacturer') }},
        {{ nested_field('device', 'screen_width', 'bigint') }},
        {{ nested_field('device', 'screen_height', 'bigint') }},
        {{ nested_field('device', 'carrier') }},
        {{ nested_field('device', 'network_type') }},
        {{ nested_field('device', 'operating_system') }},
        {{ nested_field('device', 'operating_system_version') }},
        {{ nested_field('device', 'ua_browser') }},
        {{ nested_field('device', 'ua_browser_version') }},
        {{ nested_field('device', 'ua_os') }},
        {{ nested_field('device', 'ua_os_version') }},
        {{ nested_field('device', 'ua_device') }},
        {{ nested_field('device', 'ua_device_category') }},
        {{ nested_field('device', 'system_language') }},
        {{ nested_field('device', 'time_zone_offset_seconds', 'bigint') }},
        {{ nested_field('device', 'advertising_id') }},
        user_pseudo_id,
        user_id

)

select * from final
