{#-
  The current state of every Cognito dataset: one row per key an identity's dataset holds now,
  with its value. The same rows as the seed's query (../shared/seeds/cognito-streams.txt, "Extracting
  Data") on cognito_raw_data, for every identity and dataset: the change with the highest
  syncCount wins and a key whose latest change is a remove is not there. Incremental through
  int_cognito_latest_changes (only the keys new events touch are recomputed); built for Cognito
  apps only (var cognito_streams).
-#}
{{ config(materialized='view') }}

with latest as (

    select * from {{ ref('int_cognito_latest_changes') }}

),

final as (

    select
        identitypoolid,
        identityid,
        datasetname,
        key,
        value,
        synccount,
        {{ clickstream.cognito_sync_timestamp('device_last_modified_ms') }} as devicelastmodifieddate,
        {{ clickstream.cognito_sync_timestamp('last_modified_ms') }} as lastmodifieddate
    from latest
    {#- As the seed's query: `op <> 'remove'`. #}
    where op <> 'remove'

)

select * from final
