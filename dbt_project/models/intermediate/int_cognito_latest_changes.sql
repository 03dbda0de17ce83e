{#-
  The latest change of every key of every Cognito dataset: per (identityid, datasetname, key)
  the change with the highest syncCount, whether it set the key (replace) or removed it
  (remove). Kept with removals so that a change arriving late with a lower syncCount cannot
  bring a removed key back; cognito_dataset_state drops them.

  Equal syncCounts (a replay Cognito sent twice under one event_id is already one row of
  ods_events; anything else is a client bug) are broken by the later lastModifiedDate, then the
  event_id, so the same change wins whatever the split of events between runs. The latest of
  (the stored latest, the new changes) is the latest of all changes, so an incremental run reads
  only the new events and the stored rows of the keys they touch.
-#}
{{ config(**clickstream.upsert_config(['identityid', 'datasetname', 'key'])) }}
-- depends_on: {{ ref('base_new_events') }}

{%- set enabled = clickstream.cognito_streams_enabled() %}
{%- set window = clickstream.new_events_window() if is_incremental() and enabled else none %}

with changes as (

    select
        {{ clickstream.cognito_sync_fields() }},
        event_id
    from {{ ref('ods_events') }}
    where
        {{ clickstream.cognito_sync_condition() }} {%- if is_incremental() %}
        and {{ clickstream.new_events_filter(window, 'ingest') }}
    {%- endif %}

),

candidates as (

    select * from changes
    {%- if is_incremental() and window is not none %}
    union all
    select known.*
    from {{ this }} as known
    inner join (select distinct identityid, datasetname, key from changes) as touched
        on known.identityid = touched.identityid
        and known.datasetname = touched.datasetname
        and known.key = touched.key
    {%- endif %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by identityid, datasetname, key
            order by synccount desc, last_modified_ms desc, event_id desc
        ) as change_rank
    from candidates

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
        device_last_modified_ms,
        last_modified_ms,
        event_id
    from ranked
    where change_rank = 1

)

select * from final
