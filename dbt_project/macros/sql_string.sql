{#-
  A value as a SQL string literal, quoted for the warehouse at hand. Every path, URI and id
  that reaches SQL goes through here: pasted between quotes, a path holding ' breaks the
  statement and x'||'y reads another directory.

  - DuckDB and Athena queries (Trino): standard SQL, ' doubled (dbt's escape_single_quotes).
  - Redshift: also treats \ as an escape in literals (it dates from PostgreSQL 8.0, before
    standard_conforming_strings; its QUOTE_LITERAL doubles both), so \ is doubled first.
  - Athena DDL (ddl=true) is parsed by Hive, where 'a''b' is two adjacent literals, read as
    "ab": ' and \ are escaped with \ instead.
-#}
{% macro sql_string(value, ddl=false) -%}
    {{ return(adapter.dispatch('sql_string', 'clickstream')(value | string, ddl)) }}
{%- endmacro %}

{% macro default__sql_string(value, ddl) -%}
    '{{ dbt.escape_single_quotes(value) }}'
{%- endmacro %}

{% macro redshift__sql_string(value, ddl) -%}
    '{{ dbt.escape_single_quotes(value | replace("\\", "\\\\")) }}'
{%- endmacro %}

{% macro athena__sql_string(value, ddl) -%}
    {%- if ddl -%}
    '{{ value | replace("\\", "\\\\") | replace("'", "\\'") }}'
    {%- else -%}
    '{{ dbt.escape_single_quotes(value) }}'
    {%- endif -%}
{%- endmacro %}
