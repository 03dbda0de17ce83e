{#-
  Where the processed events are read from. DuckDB reads the app's Parquet partition directly;
  Redshift reads the staging table COPY loads, Athena the external table over the same files
  (macros/ods_events_source.sql).
-#}
{% macro ods_events_relation() -%}
    {{ return(adapter.dispatch('ods_events_relation', 'clickstream')()) }}
{%- endmacro %}

{% macro default__ods_events_relation() -%}
    {{ source('ods', 'ods_events') }}
{%- endmacro %}

{#- Every file has the contract's schema (plugins/ods_schema.py), so the schema is read from one
    file: union_by_name would open all of them, a cost that grows with history. -#}
{% macro duckdb__ods_events_relation() -%}
    {%- set path = (var('ods_root') | trim) ~ '/ods_events/partition_app=' ~ (var('app_id') | trim) ~ '/*/*/*/*.parquet' -%}
    read_parquet({{ clickstream.sql_string(path) }}, hive_partitioning = true, hive_types_autocast = false)
{%- endmacro %}


{#-
  The partition's date as 'YYYY-MM-DD' text, from the partition_year/month/day strings.
  Filters compare this one value: the product's queries compared the three parts one by one
  (year >= ? and month >= ? and day >= ?), which drops 2023-12-01 from "since 2023-11-28".
  Every engine prunes files on an expression over partition columns only.
-#}
{% macro ods_partition_date() -%}
    {{ return(adapter.dispatch('ods_partition_date', 'clickstream')()) }}
{%- endmacro %}

{% macro default__ods_partition_date() -%}
    (partition_year || '-' || partition_month || '-' || partition_day)
{%- endmacro %}

{% macro redshift__ods_partition_date() -%}
    to_char(event_date, 'YYYY-MM-DD')
{%- endmacro %}


{#- The app of a row. The Redshift staging table is loaded with COPY, which does not carry
    the partition directories into columns: there the app and date come from the row. -#}
{% macro ods_partition_app() -%}
    {{ return(adapter.dispatch('ods_partition_app', 'clickstream')()) }}
{%- endmacro %}

{% macro default__ods_partition_app() -%}
    partition_app
{%- endmacro %}

{% macro redshift__ods_partition_app() -%}
    app_info.app_id::varchar
{%- endmacro %}
