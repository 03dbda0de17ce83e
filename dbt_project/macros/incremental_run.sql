{#-
  is_incremental() that also works without a warehouse. The offline checks of the Redshift and
  Athena SQL (tests/modeling/test_cloud_sql.py) compile with `offline_compile` set to 'full'
  or 'incremental': no connection is opened, and the incremental branch is compiled against a
  made-up window instead of asking the warehouse.
-#}
{% macro incremental_run() -%}
    {%- set mode = var('offline_compile') -%}
    {%- if mode is none -%}
        {{ return(is_incremental()) }}
    {%- endif -%}
    {{ return(execute and mode == 'incremental') }}
{%- endmacro %}

{% macro offline_compile() -%}
    {{ return(var('offline_compile') is not none) }}
{%- endmacro %}
