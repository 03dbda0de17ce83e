{#- dbt's is_incremental() asks the warehouse whether the model's table exists. -#}
{% macro is_incremental() -%}
    {{ return(execute and var('offline_incremental') and model.config.materialized == 'incremental') }}
{%- endmacro %}

{#- An ods_events table loaded up to 14 Nov 2023 (3 days of partitions and 6 hours of arrivals
    read again), in incremental compiles for the warehouses that load one (Athena's is a view
    over the Parquet). -#}
{% macro default__loaded_ods_events() -%}
    {%- if not (execute and var('offline_incremental') and clickstream.ods_events_config().materialized == 'incremental') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set relation = api.Relation.create(database=this.database, schema=this.schema, identifier='ods_events') -%}
    {{ return({'relation': relation, 'load_since': '2023-11-11', 'ingest_floor': 1700000000000}) }}
{%- endmacro %}

{% macro default__new_events_window() -%}
    {{ return({'ingest_since': 1700000000000, 'event_since': 1699990000000, 'date_since': '2023-11-14'}) }}
{%- endmacro %}

{#- Schemas as the project names them: dbt takes this macro from the root project only. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ return(clickstream.generate_schema_name(custom_schema_name, node)) }}
{%- endmacro %}
