{#-
  Retention (DATA_CONTRACT §5): for users whose first active day is first_date, how many were
  active day_diff days later (day 0 is every user), up to `retention_max_day_diff` days, and
  how many users started that day. Activity is any event, as in the product.
-#}

with user_days as (

    select user_pseudo_id, activity_date from {{ ref('int_user_days') }}

),

first_dates as (

    select user_pseudo_id, min(activity_date) as first_date
    from user_days
    group by user_pseudo_id

),

returns as (

    select
        first_dates.first_date,
        {{ dbt.datediff('first_dates.first_date', 'user_days.activity_date', 'day') }} as day_diff,
        user_days.user_pseudo_id
    from user_days
    inner join first_dates on user_days.user_pseudo_id = first_dates.user_pseudo_id

),

returned_counts as (

    select first_date, day_diff, count(distinct user_pseudo_id) as returned_user_count
    from returns
    where day_diff <= {{ var('retention_max_day_diff') }}
    group by first_date, day_diff

),

total_counts as (

    select first_date, count(*) as total_users
    from first_dates
    group by first_date

),

final as (

    select
        returned_counts.first_date,
        returned_counts.day_diff,
        returned_counts.returned_user_count,
        total_counts.total_users
    from returned_counts
    inner join total_counts on returned_counts.first_date = total_counts.first_date

)

select * from final
