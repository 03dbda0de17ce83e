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
        user_ltv.revenue as user_ltv_revenue,
        user_ltv.currency as user_ltv_currency,
        app_info.app_id as app_info_app_id,
        app_info.id as app_info_package_id,
        app_info.install_source as app_info_install_source,
        app_info.version as app_info_version,
        device.mobile_brand_name as device_mobile_brand_name,
        device.mobile_model_name as device_mobile_model_name,
        device.manufacturer as device_manufacturer,
        device.screen_width as device_screen_width,
        device.screen_height as device_screen_height,
        device.carrier as device_carrier,
        device.network_type as device_network_type,
        device.operating_system_version as device_operating_system_version,
        device.operating_system as device_operating_system,
        device.ua_browser as device_ua_browser,
        device.ua_browser_version as device_ua_browser_version,
        device.ua_os as device_ua_os,
        device.ua_os_version as device_ua_os_version,
        device.ua_device as device_ua_device,
        device.ua_device_category as device_ua_device_category,
        device.system_language as device_system_language,
        device.time_zone_offset_seconds as device_time_zone_offset_seconds,
        device.vendor_id as device_vendor_id,
        device.advertising_id as device_advertising_id,
        device.host_name as device_host_name,
        geo.city as geo_city,
        geo.continent as geo_continent,
        geo.country as geo_country,
        geo.metro as geo_metro,
        geo.region as geo_region,
        geo.sub_continent as geo_sub_continent,
        geo.locale as geo_locale,
        traffic_source.medium as traffic_source_medium,
        traffic_source.name as traffic_source_name,
        traffic_source.source as traffic_source_source
    from events

)

select * from final
