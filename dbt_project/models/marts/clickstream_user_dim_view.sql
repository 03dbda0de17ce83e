{#-
  First-visit dimensions per user (DATA_CONTRACT §5): the user's _first_open/_first_visit
  event, an empty traffic source reported as '(direct)', and whether the user ever signed in
  (a user_id on any event; the product counted user ids on events other than the first visit,
  which differs only for a user id sent on the first-visit event itself).
-#}

with first_visits as (

    select * from {{ ref('int_user_first_visits') }}

),

users as (

    select * from {{ ref('dim_users') }}

),

final as (

    select
        first_visits.user_pseudo_id,
        first_visits.user_id,
        first_visits.first_visit_date,
        first_visits.first_visit_install_source,
        first_visits.first_visit_device_language,
        first_visits.first_platform,
        first_visits.first_visit_country,
        first_visits.first_visit_city,
        coalesce(nullif(first_visits.first_traffic_source_source, ''), '(direct)') as first_traffic_source_source,
        first_visits.first_traffic_source_medium,
        first_visits.first_traffic_source_name,
        case when users.user_id is not null then 'Registered' else 'Non-registered' end as is_registered
    from first_visits
    left join users on first_visits.user_pseudo_id = users.user_pseudo_id

)

select * from final
