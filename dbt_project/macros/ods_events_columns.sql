{#- The 25 columns of ods_events in contract order (DATA_CONTRACT §4), for every model that
    passes the event table through: one list, so a new column is added in one place. -#}
{% macro ods_events_columns() -%}
    {%- set columns = [
        'app_info', 'device', 'ecommerce', 'event_bundle_sequence_id', 'event_date',
        'event_dimensions', 'event_id', 'event_name', 'event_params', 'event_previous_timestamp',
        'event_server_timestamp_offset', 'event_timestamp', 'event_value_in_usd', 'geo',
        'ingest_timestamp', 'items', 'platform', 'privacy_info', 'project_id', 'traffic_source',
        'user_first_touch_timestamp', 'user_id', 'user_ltv', 'user_properties', 'user_pseudo_id',
    ] -%}
    {{ columns | join(',\n        ') }}
{%- endmacro %}
