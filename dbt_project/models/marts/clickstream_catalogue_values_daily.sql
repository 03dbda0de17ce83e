{#-
  The most frequent values of every event parameter (per event name) and user attribute per UTC
  day: at most `catalogue_top_values_per_day` values per key and day, so that free-text keys
  (search terms, URLs) stay small. The catalogue's top values over 30 days add these days up:
  a value that never made a day's top list is not counted, which only lowers values far from
  the top. Incremental runs rebuild every UTC day that has a new event.
-#}
{{ config(**clickstream.replace_periods_config('event_date')) }}
-- depends_on: {{ ref('base_new_events') }}

{%- set window = clickstream.new_events_window() if is_incremental() else none %}

with events as (

    -- Only the columns the catalogue reads (clickstream_catalogue_daily says why).
    select
        event_date,
        event_name,
        platform,
        user_pseudo_id,
        event_params,
        user_properties,
        ingest_timestamp
    from {{ ref('ods_events') }}
    {%- if is_incremental() %}
    where {{ clickstream.new_events_filter(window, 'day') }}
    {%- endif %}

),

counted_events as (
    {{ clickstream.rows_touched_by_new_events('events', ['event_date'], window) }}
),

elements as (
    {{ clickstream.catalogue_elements('counted_events', 'event_parameter', 'event_params') }}
    union all
    {{ clickstream.catalogue_elements('counted_events', 'user_attribute', 'user_properties') }}
),

value_counts as (

    select
        event_date,
        kind,
        event_name,
        property_key,
        property_value,
        count(*) as events
    from elements
    where property_value is not null
    group by event_date, kind, event_name, property_key, property_value

),

ranked as (

    select
        *,
        row_number() over (
            partition by event_date, kind, event_name, property_key
            order by events desc, property_value asc
        ) as value_rank
    from value_counts

),

final as (

    select
        event_date,
        kind,
        event_name,
        property_key,
        property_value,
        events
    from ranked
    where value_rank <= {{ var('catalogue_top_values_per_day') }}

)

select * from final
order by event_date, kind, event_name, property_key
