{#- A DATE constant from 'YYYY-MM-DD' text, written the same way on every warehouse. -#}
{% macro date_literal(iso_date) -%}
    cast({{ clickstream.sql_string(iso_date) }} as date)
{%- endmacro %}
