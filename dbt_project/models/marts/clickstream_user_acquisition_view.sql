{#-
  New users per day by first touch (the acquisition report): the platform, traffic source
  (empty: '(direct)'), medium, campaign and country of each user's first visit.
-#}

with first_visits as (

    select * from {{ ref('int_user_first_visits') }}

),

final as (

    select
        first_visit_date,
        first_platform as platform,
        coalesce(nullif(first_traffic_source_source, ''), '(direct)') as first_traffic_source_source,
        first_traffic_source_medium,
        first_traffic_source_name,
        first_visit_country,
        count(*) as new_user_count
    from first_visits
    group by
        first_visit_date,
        first_platform,
        coalesce(nullif(first_traffic_source_source, ''), '(direct)'),
        first_traffic_source_medium,
        first_traffic_source_name,
        first_visit_country

)

select * from final
