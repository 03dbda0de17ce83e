{#-
  One row per user with the latest values seen (the product's dim_users): the latest non-null
  user_id, the latest non-empty user_properties (newer SDKs send them on _profile_set only)
  and the earliest first-touch timestamp. "Latest" is by event time, so a late event does not
  overwrite newer properties. The event times are kept to merge later runs the same way.

  Incremental runs merge each touched user's current row with the user's new events.
-#}
{{ config(**clickstream.upsert_config('user_pseudo_id')) }}
-- depends_on: {{ ref('base_new_events') }}

{%- set window = clickstream.new_events_window() if is_incremental() else none %}

with events as (

    select
        user_pseudo_id,
        user_id,
        user_first_touch_timestamp,
        user_properties,
        event_timestamp,
        event_id
    from {{ ref('ods_events') }}
    {%- if is_incremental() %}
    where {{ clickstream.new_events_filter(window, 'ingest') }}
    {%- endif %}

),

{% if is_incremental() and window is not none %}
current_rows as (

    select *
    from {{ this }}
    where user_pseudo_id in (select events.user_pseudo_id from events)

),
{% endif %}

user_id_candidates as (

    select
        user_pseudo_id,
        user_id,
        event_timestamp as value_timestamp,
        event_id as tie_breaker
    from events
    where user_id is not null
    {%- if is_incremental() and window is not none %}
    union all
    select
        user_pseudo_id,
        user_id,
        user_id_timestamp,
        '' as tie_breaker
    from current_rows
    where user_id is not null
    {%- endif %}

),

property_candidates as (

    select
        user_pseudo_id,
        user_properties,
        event_timestamp as value_timestamp,
        event_id as tie_breaker
    from events
    where {{ array_size('user_properties') }} > 0
    {%- if is_incremental() and window is not none %}
    union all
    select
        user_pseudo_id,
        user_properties,
        user_properties_timestamp,
        '' as tie_breaker
    from current_rows
    where user_properties is not null
    {%- endif %}

),

first_touches as (

    select
        user_pseudo_id,
        min(user_first_touch_timestamp) as user_first_touch_timestamp
    from (
        select
            user_pseudo_id,
            user_first_touch_timestamp
        from events
        {%- if is_incremental() and window is not none %}
        union all
        select
            user_pseudo_id,
            user_first_touch_timestamp
        from current_rows
        {%- endif %}
    ) as touches
    group by user_pseudo_id

),

latest_user_ids as (

    select
        user_pseudo_id,
        user_id,
        value_timestamp as user_id_timestamp
    from (
        select
            *,
            row_number() over (
                partition by user_pseudo_id order by value_timestamp desc, tie_breaker desc
            ) as recency_rank
        from user_id_candidates
    ) as ranked
    where recency_rank = 1

),

latest_properties as (

    select
        user_pseudo_id,
        user_properties,
        value_timestamp as user_properties_timestamp
    from (
        select
            *,
            row_number() over (
                partition by user_pseudo_id order by value_timestamp desc, tie_breaker desc
            ) as recency_rank
        from property_candidates
    ) as ranked
    where recency_rank = 1

),

final as (

    select
        first_touches.user_pseudo_id,
        latest_user_ids.user_id,
        latest_user_ids.user_id_timestamp,
        first_touches.user_first_touch_timestamp,
        latest_properties.user_properties,
        latest_properties.user_properties_timestamp
    from first_touches
    left join latest_user_ids on first_touches.user_pseudo_id = latest_user_ids.user_pseudo_id
    left join latest_properties on first_touches.user_pseudo_id = latest_properties.user_pseudo_id

)

select * from final
