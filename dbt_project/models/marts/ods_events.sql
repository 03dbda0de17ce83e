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
        {{ ods_events_columns() }}
    from ranked
    where arrival_rank = 1

)

select * from final
