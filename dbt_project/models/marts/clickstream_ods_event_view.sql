{#- Every event with its dimensions flattened into columns (DATA_CONTRACT §5), for BI tools
    that cannot navigate structs. -#}

with events as (

    select * from {{ ref('ods_events') }}

),

final as (

    select
        event_id,
        event_name,
        event_date,
        event_timestamp,
        event_previous_timestamp,
        event_server_timestamp_offset,
        event_bundle_sequence_id,
        event_value_in_usd,
        ingest_timestamp,
        platform,
        project_id,
        user_pseudo_id,
        user_id,
        user_first_touch_timestamp,
        {{ nested_field('user_ltv', 'revenue', 'double') }} as user_ltv_revenue,
        {{ nested_field('user_ltv', 'currency') }} as user_ltv_currency,
        {{ nested_field('app_info', 'app_id') }} as app_info_app_id,
        {{ nested_field('app_info', 'id') }} as app_info_package_id,
        {{ nested_field('app_info', 'install_source') }} as app_info_install_source,
        {{ nested_field('app_info', 'version') }} as app_info_version,
        {{ nested_field('device', 'mobile_brand_name') }} as device_mobile_brand_name,
        {{ nested_field('device', 'mobile_model_name') }} as device_mobile_model_name,
        {{ nested_field('device', 'manufacturer') }} as device_manufacturer,
        {{ nested_field('device', 'screen_width', 'bigint') }} as device_screen_width,
        {{ nested_field('device', 'screen_height', 'bigint') }} as device_screen_height,
        {{ nested_field('device', 'carrier') }} as device_carrier,
        {{ nested_field('device', 'network_type') }} as device_network_type,
        {{ nested_field('device', 'operating_system_version') }} as device_operating_system_version,
        {{ nested_field('device', 'operating_system') }} as device_operating_system,
        {{ nested_field('device', 'ua_browser') }} as device_ua_browser,
        {{ nested_field('device', 'ua_browser_version') }} as device_ua_browser_version,
        {{ nested_field('device', 'ua_os') }} as device_ua_os,
        {{ nested_field('device', 'ua_os_version') }} as device_ua_os_version,
        {{ nested_field('device', 'ua_device') }} as device_ua_device,
        {{ nested_field('device', 'ua_device_category') }} as device_ua_device_category,
        {{ nested_field('device', 'system_language') }} as device_system_language,
        {{ nested_field('device', 'time_zone_offset_seconds', 'bigint') }} as device_time_zone_offset_seconds,
        {{ nested_field('device', 'vendor_id') }} as device_vendor_id,
        {{ nested_field('device', 'advertising_id') }} as device_advertising_id,
        {{ nested_field('device', 'host_name') }} as device_host_name,
        {{ nested_field('geo', 'city') }} as geo_city,
        {{ nested_field('geo', 'continent') }} as geo_continent,
        {{ nested_field('geo', 'country') }} as geo_country,
        {{ nested_field('geo', 'metro') }} as geo_metro,
        {{ nested_field('geo', 'region') }} as geo_region,
        {{ nested_field('geo', 'sub_continent') }} as geo_sub_continent,
        {{ nested_field('geo', 'locale') }} as geo_locale,
        {{ nested_field('traffic_source', 'medium') }} as traffic_source_medium,
        {{ nested_field('traffic_source', 'name') }} as traffic_source_name,
        {{ nested_field('traffic_source', 'source') }} as traffic_source_source
    from events

)

select * from final
