{#- The number of elements of an array column (0 for an empty array, null for null). -#}
{% macro array_size(column) -%}
    {{ return(adapter.dispatch('array_size', 'clickstream')(column)) }}
{%- endmacro %}

{% macro default__array_size(column) -%}
    cardinality({{ column }})
{%- endmacro %}

{% macro duckdb__array_size(column) -%}
    len({{ column }})
{%- endmacro %}

{% macro redshift__array_size(column) -%}
    get_array_length({{ column }})
{%- endmacro %}
