{#-
  The first-visit event of each user (_first_open in apps, _first_visit on the web) with the
  dimensions the product reports as first touch. When a user has several (a reinstall, an SDK
  retry with a new event_id), the earliest wins. Incremental runs compare a touched user's
  current row with the user's new first-visit events.
-#}
{{ config(**clickstream.upsert_config('user_pseudo_id')) }}
-- depends_on: {{ ref('base_new_events') }}

{%- set window = clickstream.new_events_window() if is_incremental() else none %}

with first_visit_events as (

    select
        user_pseudo_id,
        user_id,
        event_id as first_visit_event_id,
        event_timestamp as first_visit_timestamp,
        event_date as first_visit_date,
        {{ nested_field('app_info', 'install_source') }} as first_visit_install_source,
        {{ nested_field('device', 'system_language') }} as first_visit_device_language,
        platform as first_platform,
        {{ nested_field('geo', 'country') }} as first_visit_country,
        {{ nested_field('geo', 'city') }} as first_visit_city,
        {{ nested_field('traffic_source', 'source') }} as first_traffic_source_source,
        {{ nested_field('traffic_source', 'medium') }} as first_traffic_source_medium,
        {{ nested_field('traffic_source', 'name') }} as first_traffic_source_name
    from {{ ref('ods_events') }}
    where
        event_name in ('_first_open', '_first_visit') {%- if is_incremental() %}
        and {{ clickstream.new_events_filter(window, 'ingest') }}
    {%- endif %}

),

candidates as (

    select * from first_visit_events
    {%- if is_incremental() and window is not none %}
    union all
    select *
    from {{ this }}
    where user_pseudo_id in (select first_visit_events.user_pseudo_id from first_visit_events)
    {%- endif %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by user_pseudo_id
            order by first_visit_timestamp asc, first_visit_event_id asc
        ) as visit_rank
    from candidates

),

final as (

    select
        user_pseudo_id,
        user_id,
        first_visit_event_id,
        first_visit_timestamp,
        first_visit_date,
        first_visit_install_source,
        first_visit_device_language,
        first_platform,
        first_visit_country,
        first_visit_city,
        first_traffic_source_source,
        first_traffic_source_medium,
        first_traffic_source_name
    from ranked
    where visit_rank = 1

)

select * from final
