{#- One field of a struct column (device, geo, traffic_source, app_info, user_ltv) with its
    contract type. Redshift holds the structs as SUPER, whose fields stay SUPER until cast:
    cast, they can be grouped, compared and stored as ordinary columns. -#}
{% macro nested_field(column, field, type='string') -%}
    {{ return(adapter.dispatch('nested_field', 'clickstream')(column, field, type)) }}
{%- endmacro %}

{% macro default__nested_field(column, field, type) -%}
    {{ column }}.{{ field }}
{%- endmacro %}

{% macro redshift__nested_field(column, field, type) -%}
    {{ column }}.{{ field }}::{{ {'string': 'varchar', 'bigint': 'bigint', 'double': 'float8'}[type] }}
{%- endmacro %}
