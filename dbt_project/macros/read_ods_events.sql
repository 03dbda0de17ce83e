{#-
  Where the processed events are read from. DuckDB reads the app's Parquet partition directly;
  Redshift reads the Spectrum external table and Athena the Glue table over the same files
  (deploy/ holds their DDL; both are partitioned by partition_app/year/month/day).
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


{#-
  The partition's date as 'YYYY-MM-DD' text, from the partition_year/month/day strings.
  Filters compare this one value: the product's queries compared the three parts one by one
  (year >= ? and month >= ? and day >= ?), which drops 2023-12-01 from "since 2023-11-28".
  Every engine prunes files on an expression over partition columns only.
-#}
{% macro ods_partition_date() -%}
    (partition_year || '-' || partition_month || '-' || partition_day)
{%- endmacro %}
