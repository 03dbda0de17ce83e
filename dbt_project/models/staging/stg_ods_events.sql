{# The depends_on comment keeps the lineage to the source on DuckDB, which reads files directly. #}
-- depends_on: {{ source('ods', 'ods_events') }}

with source as (

    select * from {{ ods_events_relation() }}

),

final as (

    select
        {{ ods_events_columns() }},
        {{ ods_partition_date() }} as partition_date
    from source
    where {{ ods_partition_app() }} = {{ clickstream.sql_string(var("app_id") | trim) }}

)

select * from final
