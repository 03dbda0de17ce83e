{#- A UTC timestamp from epoch milliseconds (event_timestamp is milliseconds, DATA_CONTRACT §4). -#}
{% macro epoch_ms_to_timestamp(column) -%}
    {{ return(adapter.dispatch('epoch_ms_to_timestamp', 'clickstream')(column)) }}
{%- endmacro %}

{% macro default__epoch_ms_to_timestamp(column) -%}
    (timestamp 'epoch' + ({{ column }} / 1000) * interval '1 second')
{%- endmacro %}

{% macro duckdb__epoch_ms_to_timestamp(column) -%}
    make_timestamp(({{ column }})::bigint * 1000)
{%- endmacro %}

{% macro athena__epoch_ms_to_timestamp(column) -%}
    from_unixtime({{ column }} / 1000e0)
{%- endmacro %}
