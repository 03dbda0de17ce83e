{#-
  Amazon Cognito Streams' sample Redshift connector's table (../shared/seeds/cognito-streams.txt):
  one row per changed key of a dataset sync, with its columns and types. A view over ods_events,
  so it costs nothing until queried; a change delivered twice (a bulk publish) is one row, since
  ods_events holds each event_id once. Built for Cognito apps only (var cognito_streams).
-#}
{{ config(materialized='view') }}

with changes as (

    select
        {{ clickstream.cognito_sync_fields() }}
    from {{ ref('ods_events') }}
    where {{ clickstream.cognito_sync_condition() }}

),

final as (

    select
        identitypoolid,
        identityid,
        datasetname,
        operation,
        key,
        value,
        op,
        synccount,
        {{ clickstream.cognito_sync_timestamp('device_last_modified_ms') }} as devicelastmodifieddate,
        {{ clickstream.cognito_sync_timestamp('last_modified_ms') }} as lastmodifieddate
    from changes

)

select * from final
