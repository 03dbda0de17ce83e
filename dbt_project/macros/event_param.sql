{#-
  The value of one key of a key/value array column (event_params, user_properties):
  event_param('event_params', '_session_id', 'string') -> the string_value of that key.
-#}
{% macro event_param(column, key, value_type) -%}
    {{ return(adapter.dispatch('event_param', 'clickstream')(column, key, value_type)) }}
{%- endmacro %}

{% macro default__event_param(column, key, value_type) -%}
    (select p.value.{{ value_type }}_value from unnest({{ column }}) as t(p) where p.key = '{{ key }}' limit 1)
{%- endmacro %}

{% macro duckdb__event_param(column, key, value_type) -%}
    list_filter({{ column }}, lambda p: p.key = '{{ key }}')[1].value.{{ value_type }}_value
{%- endmacro %}

{% macro athena__event_param(column, key, value_type) -%}
    element_at(filter({{ column }}, p -> p.key = '{{ key }}'), 1).value.{{ value_type }}_value
{%- endmacro %}

{% macro redshift__event_param(column, key, value_type) -%}
    (select p.value.{{ value_type }}_value from {{ column }} as p where p.key = '{{ key }}' limit 1)
{%- endmacro %}
