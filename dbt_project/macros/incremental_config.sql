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
