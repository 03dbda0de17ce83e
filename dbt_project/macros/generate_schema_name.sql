{#- One schema per app (DATA_CONTRACT §5): saved SQL refers to <app_id>.clickstream_session_view. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name == 'app' -%}
        {{ var('app_id') | trim }}
    {%- elif custom_schema_name is not none -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.schema }}
    {%- endif -%}
{%- endmacro %}
