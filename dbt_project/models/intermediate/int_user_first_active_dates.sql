{#-
  Each user's first day with any event: the retention cohort. Incremental runs take the
  earlier of the current row and the user's new events (a late event can move it back).
-#}
{{ config(**clickstream.upsert_config('user_pseudo_id')) }}
-- depends_on: {{ ref('base_new_events') }}

{%- set window = clickstream.new_events_window() if is_incremental() else none %}

with candidates as (

    select
        user_pseudo_id,
        event_date as first_date
    from {{ ref('ods_events') }}
    {%- if is_incremental() %}
    where {{ clickstream.new_events_filter(window, 'ingest') }}
    {%- if window is not none %}
    union all
    select
        user_pseudo_id,
        first_date
    from {{ this }}
    where
        user_pseudo_id in (
            select new_events.user_pseudo_id
            from {{ ref('ods_events') }} as new_events
            where {{ clickstream.new_events_filter(window, 'ingest') }}
        )
    {%- endif %}
    {%- endif %}

),

final as (

    select
        user_pseudo_id,
        min(first_date) as first_date
    from candidates
    group by user_pseudo_id

)

select * from final
