{#- The latest custom user attributes (DATA_CONTRACT §5): one row per attribute of each user's
    latest user_properties in dim_users. -#}

with users as (

    select * from {{ ref('dim_users') }}

),

final as (

    select
        u.user_pseudo_id,
        u.user_id,
        kv.key as custom_attr_key,
        {{ key_value_text('kv') }} as custom_attr_value
    from users as u
    {{ unnest_key_values('u.user_properties', 'kv') }}

)

select * from final
