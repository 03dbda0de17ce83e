{#-
  Where the processed events are read from. DuckDB reads the app's Parquet partition directly;
  Redshift and Athena read the external table that points at the same files.
-#}
{% macro ods_events_relation() -%}
    {{ return(adapter.dispatch('ods_events_relation', 'clickstream')()) }}
{%- endmacro %}

{% macro default__ods_events_relation() -%}
    {{ source('ods', 'ods_events') }}
{%- endmacro %}

{% macro duckdb__ods_events_relation() -%}
    {%- set path = (var('ods_root') | trim) ~ '/ods_events/partition_app=' ~ (var('app_id') | trim) ~ '/*/*/*/*.parquet' -%}
    read_parquet('{{ path }}', hive_partitioning = true, hive_types_autocast = false, union_by_name = true)
{%- endmacro %}
