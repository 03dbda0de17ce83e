{#-
  Each user's last day with each event name and each user attribute: the catalogue counts the
  users of the last 30 days exactly from it (distinct users do not add up over days). One row
  per (event name or attribute, user), so it stays far smaller than the events. Incremental
  runs fold the new events in, keeping the later of the stored and the new last day (a late
  event never moves it back).
-#}
{{ config(**clickstream.upsert_config(['kind', 'event_name', 'property_key', 'user_pseudo_id'])) }}
-- depends_on: {{ ref('base_new_events') }}

{%- set window = clickstream.new_events_window() if is_incremental() else none %}

with events as (

    select * from {{ ref('ods_events') }}
    {%- if is_incremental() %}
    where {{ clickstream.new_events_filter(window, 'ingest') }}
    {%- endif %}

),

elements as (
    {{ clickstream.catalogue_elements('events', 'user_attribute', 'user_properties') }}
),

new_rows as (

    select
        cast('event' as {{ dbt.type_string() }}) as kind,
        event_name,
        cast('' as {{ dbt.type_string() }}) as property_key,
        user_pseudo_id,
        max(event_date) as last_event_date
    from events
    group by event_name, user_pseudo_id

    union all

    select
        kind,
        event_name,
        property_key,
        user_pseudo_id,
        max(event_date) as last_event_date
    from elements
    group by kind, event_name, property_key, user_pseudo_id

),

final as (

    {%- if is_incremental() %}
    select
        n.kind,
        n.event_name,
        n.property_key,
        n.user_pseudo_id,
        greatest(n.last_event_date, coalesce(known.last_event_date, n.last_event_date)) as last_event_date
    from new_rows as n
    left join {{ this }} as known
        on n.kind = known.kind
        and n.event_name = known.event_name
        and n.property_key = known.property_key
        and n.user_pseudo_id = known.user_pseudo_id
    {%- else %}
    select * from new_rows
    {%- endif %}

)

select * from final
