{#-
  The app's event table (DATA_CONTRACT §4 columns, in order). The Spark job already removes
  duplicates within what it processed; this keeps exactly one row per event_id across
  everything loaded (SDK retries, replayed archives), the earliest arrival winning.
-#}

with events as (

    select * from {{ ref('stg_ods_events') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by event_id
            order by ingest_timestamp asc, event_timestamp asc
        ) as arrival_rank
    from events

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
    from ranked
    where arrival_rank = 1

)

select * from final
