{#-
  The event catalogue's event parameters (per event name) and user attributes: the value types
  observed, first and last day seen, the events carrying it over the 30 days ending at the
  newest event date, the users with it in those days (user attributes), and the platforms.
-#}
with daily as (

    select * from {{ ref('clickstream_catalogue_daily') }}
    where kind in ('event_parameter', 'user_attribute')

),

bounds as (

    select {{ clickstream.catalogue_window_start('max(event_date)') }} as window_start_date
    from {{ ref('clickstream_catalogue_daily') }}

),

per_property as (

    select
        d.kind,
        d.event_name,
        d.property_key,
        min(d.event_date) as first_seen_date,
        max(d.event_date) as last_seen_date,
        cast(sum(case when d.event_date >= b.window_start_date then d.events else 0 end) as bigint) as events_30d
    from daily as d
    cross join bounds as b
    group by d.kind, d.event_name, d.property_key

),

property_types as (

    select distinct
        kind,
        event_name,
        property_key,
        value_type
    from daily

),

value_types as (

    select
        kind,
        event_name,
        property_key,
        {{ dbt.listagg('value_type', "', '", 'order by value_type') }} as value_types
    from property_types
    group by kind, event_name, property_key

),

property_platforms as (

    select distinct
        kind,
        event_name,
        property_key,
        platform
    from daily
    where platform <> ''

),

platforms as (

    select
        kind,
        event_name,
        property_key,
        {{ dbt.listagg('platform', "', '", 'order by platform') }} as platforms
    from property_platforms
    group by kind, event_name, property_key

),

users as (

    select
        u.event_name,
        u.property_key,
        count(*) as users_30d
    from {{ ref('clickstream_catalogue_users') }} as u
    cross join bounds as b
    where u.kind = 'user_attribute' and u.last_event_date >= b.window_start_date
    group by u.event_name, u.property_key

),

final as (

    select
        p.kind,
        p.event_name,
        p.property_key,
        t.value_types,
        p.first_seen_date,
        p.last_seen_date,
        p.events_30d,
        case when p.kind = 'user_attribute' then coalesce(u.users_30d, 0) end as users_30d,
        s.platforms
    from per_property as p
    left join value_types as t
        on p.kind = t.kind and p.event_name = t.event_name and p.property_key = t.property_key
    left join platforms as s
        on p.kind = s.kind and p.event_name = s.event_name and p.property_key = s.property_key
    left join users as u
        on p.kind = 'user_attribute' and p.event_name = u.event_name and p.property_key = u.property_key

)

select * from final
