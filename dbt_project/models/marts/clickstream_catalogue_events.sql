{#-
  The event catalogue's events: every event name with its first and last day seen, its events
  and users over the 30 days ending at the newest event date, the platforms that sent it, and the
  SDKs (name and version) that sent it over those 30 days (older SDKs drop out as apps upgrade).
  The console's Data Management pages read it.
-#}
with daily as (

    select * from {{ ref('clickstream_catalogue_daily') }}
    where kind = 'event'

),

bounds as (

    select
        max(event_date) as newest_event_date,
        {{ clickstream.catalogue_window_start('max(event_date)') }} as window_start_date
    from {{ ref('clickstream_catalogue_daily') }}

),

per_event as (

    select
        d.event_name,
        min(d.event_date) as first_seen_date,
        max(d.event_date) as last_seen_date,
        cast(sum(case when d.event_date >= b.window_start_date then d.events else 0 end) as bigint) as events_30d
    from daily as d
    cross join bounds as b
    group by d.event_name

),

event_platforms as (

    select distinct
        event_name,
        platform
    from daily
    where platform <> ''

),

platforms as (

    select
        event_name,
        {{ dbt.listagg('platform', "', '", 'order by platform') }} as platforms
    from event_platforms
    group by event_name

),

event_sdks as (

    select distinct
        d.event_name,
        trim({{ dbt.concat(['d.sdk_name', "' '", 'd.sdk_version']) }}) as sdk
    from daily as d
    cross join bounds as b
    where d.event_date >= b.window_start_date and (d.sdk_name <> '' or d.sdk_version <> '')

),

sdks as (

    select
        event_name,
        {{ dbt.listagg('sdk', "', '", 'order by sdk') }} as sdk_versions
    from event_sdks
    group by event_name

),

users as (

    select
        u.event_name,
        count(*) as users_30d
    from {{ ref('clickstream_catalogue_users') }} as u
    cross join bounds as b
    where u.kind = 'event' and u.last_event_date >= b.window_start_date
    group by u.event_name

),

final as (

    select
        e.event_name,
        e.first_seen_date,
        e.last_seen_date,
        e.events_30d,
        coalesce(u.users_30d, 0) as users_30d,
        p.platforms,
        s.sdk_versions,
        b.newest_event_date
    from per_event as e
    cross join bounds as b
    left join users as u on e.event_name = u.event_name
    left join platforms as p on e.event_name = p.event_name
    left join sdks as s on e.event_name = s.event_name

)

select * from final
