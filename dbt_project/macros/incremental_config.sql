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
  Aggregates whose rows for a period are all replaced when the period is recomputed (a stage
  whose count drops to zero must disappear). DuckDB and Redshift delete the period's rows and
  insert the new ones; Athena's MERGE cannot delete rows that have no replacement, so there the
  (small) aggregate is rebuilt whole.
-#}
{% macro replace_periods_config(period_column) -%}
    {{ return(adapter.dispatch('replace_periods_config', 'clickstream')(period_column)) }}
{%- endmacro %}

{% macro default__replace_periods_config(period_column) -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'delete+insert', 'unique_key': period_column}) }}
{%- endmacro %}

{% macro athena__replace_periods_config(period_column) -%}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}


{#- Post-hook of incremental aggregates that write placeholder rows to replace keys left
    without rows; nothing to do when the model is rebuilt whole. -#}
{% macro delete_placeholder_rows(condition) -%}
    {%- if model.config.materialized == 'incremental' -%}
        delete from {{ this }} where {{ condition }}
    {%- endif -%}
{%- endmacro %}


{#-
  Models with several rows per key (a user's day has one row per device seen): DuckDB and
  Redshift delete every row of the keys being recomputed and insert the new ones, as upsert_config
  does; Athena's MERGE needs each target row to match at most one new row, so there the model is
  rebuilt whole.
-#}
{% macro replace_keys_config(unique_key) -%}
    {{ return(adapter.dispatch('replace_keys_config', 'clickstream')(unique_key)) }}
{%- endmacro %}

{% macro default__replace_keys_config(unique_key) -%}
    {{ return(clickstream.default__upsert_config(unique_key)) }}
{%- endmacro %}

{% macro athena__replace_keys_config(unique_key) -%}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}
