{#-
  How an incremental model replaces the rows of the keys it rebuilt. DuckDB and Redshift
  delete the keys' old rows and insert the new ones; Athena can only update rows of Iceberg
  tables, with MERGE. Models call config(**clickstream.upsert_config([...keys])).
-#}
{% macro upsert_config(unique_key) -%}
    {{ return(adapter.dispatch('upsert_config', 'clickstream')(unique_key)) }}
{%- endmacro %}

{% macro default__upsert_config(unique_key) -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'delete+insert', 'unique_key': unique_key}) }}
{%- endmacro %}

{% macro athena__upsert_config(unique_key) -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'merge', 'unique_key': unique_key, 'table_type': 'iceberg'}) }}
{%- endmacro %}


{#-
  ods_events: DuckDB and Redshift copy the app's events into a table (append-only, deduplicated
  by event_id while loading); Athena keeps one partitioned table over the Parquet per project
  (DATA_CONTRACT §5), so the app's ods_events is a view over it.
-#}
{% macro ods_events_config() -%}
    {{ return(adapter.dispatch('ods_events_config', 'clickstream')()) }}
{%- endmacro %}

{% macro default__ods_events_config() -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'append'}) }}
{%- endmacro %}

{% macro redshift__ods_events_config() -%}
    {#- Sessions, paths and user tables are computed per user; the date sort key prunes the
        range scans of incremental runs and of the data-range cleanup. -#}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'append',
               'dist': 'user_pseudo_id', 'sort': ['event_date', 'event_timestamp']}) }}
{%- endmacro %}

{% macro athena__ods_events_config() -%}
    {{ return({'materialized': 'view'}) }}
{%- endmacro %}
