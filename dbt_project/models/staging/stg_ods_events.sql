{# The depends_on comment keeps the lineage to the source on DuckDB, which reads files directly. #}
-- depends_on: {{ source('ods', 'ods_events') }}

with source as (

    select * from {{ ods_events_relation() }}

),

final as (

    select
        app_info,
        device,
        ecommerce,
        event_bundle_sequence_id,
        event_date,
        event_dimensions,
        event_id,
        event_name,
        event_params,
        event_previous_timestamp,
        event_server_timestamp_offset,
        event_timestamp,
        event_value_in_usd,
        geo,
        ingest_timestamp,
        items,
        platform,
        privacy_info,
        project_id,
        traffic_source,
        user_first_touch_timestamp,
        user_id,
        user_ltv,
        user_properties,
        user_pseudo_id
    from source
    where app_info.app_id = '{{ var("app_id") | trim }}'

)

select * from final
