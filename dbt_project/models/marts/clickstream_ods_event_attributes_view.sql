{#- One row per event parameter (DATA_CONTRACT §5); the value as text is the first non-empty of
    its typed fields, as in the product. -#}

with events as (

    select * from {{ ref('ods_events') }}

),

final as (

    select
        e.event_id,
        e.event_name,
        e.event_date,
        kv.key as event_parameter_key,
        {{ key_value_text('kv') }} as event_parameter_value
    from {{ key_value_rows('events', 'e', 'e.event_params', 'kv', ['event_id', 'event_name', 'event_date']) }}

)

select * from final
