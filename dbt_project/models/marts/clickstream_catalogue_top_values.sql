{#-
  The catalogue's top values: the `catalogue_top_values` most frequent values of every event
  parameter (per event name) and user attribute over the 30 days ending at the newest event
  date, added up from the daily top values (clickstream_catalogue_values_daily).
-#}
with bounds as (

    select {{ clickstream.catalogue_window_start('max(event_date)') }} as window_start_date
    from {{ ref('clickstream_catalogue_daily') }}

),

value_counts as (

    select
        v.kind,
        v.event_name,
        v.property_key,
        v.property_value,
        cast(sum(v.events) as bigint) as events_30d
    from {{ ref('clickstream_catalogue_values_daily') }} as v
    cross join bounds as b
    where v.event_date >= b.window_start_date
    group by v.kind, v.event_name, v.property_key, v.property_value

),

ranked as (

    select
        *,
        row_number() over (partition by kind, event_name, property_key order by events_30d desc, property_value asc) as value_rank
    from value_counts

),

final as (

    select
        kind,
        event_name,
        property_key,
        property_value,
        events_30d,
        value_rank
    from ranked
    where value_rank <= {{ var('catalogue_top_values') }}

)

select * from final
